//go:build goexperiment.simd && amd64

#include "textflag.h"

// Packed Q4_0 and Q8_0 (see pack.go) times up to eight Q8_0 inputs. Lane i of a
// zmm is weight row i: the four low (or high) nibbles of a chunk sit in one
// dword per row, so vpdpbusd with the input's matching four bytes broadcast
// advances all sixteen row dots by four columns. The -8 offset enters as
// the accumulator's start value, -8·Σx of the block (the inputs' neg8);
// Q8_0's stored w+128 gives -128·Σx = 16·neg8 (INIT).

// func q4x16VNNI(out *float32, ostride int, w *byte, qs *int8, d *float32, neg8 *int32, nb, na, qstride, dstride int)
// func q8x16VNNI(same arguments)
// ostride, qstride and dstride are in bytes.

// ACT adds input a's block to facc: int dot of the eight nibble registers
// Z0..Z7 against the input's 32 bytes, then × (row scales Z8 · input scale).
#define ACT(q, dp, sp, facc) \
	INIT(sp, Z11) \
	VPDPBUSD.BCST 0 q, Z0, Z11 \
	VPDPBUSD.BCST 4 q, Z1, Z11 \
	VPDPBUSD.BCST 8 q, Z2, Z11 \
	VPDPBUSD.BCST 12 q, Z3, Z11 \
	VPDPBUSD.BCST 16 q, Z4, Z11 \
	VPDPBUSD.BCST 20 q, Z5, Z11 \
	VPDPBUSD.BCST 24 q, Z6, Z11 \
	VPDPBUSD.BCST 28 q, Z7, Z11 \
	VCVTDQ2PS Z11, Z11 \
	VMULPS.BCST dp, Z8, Z10 \
	VFMADD231PS Z10, Z11, facc

// ACT2 is ACT for two inputs with their instructions interleaved, so the
// two vpdpbusd chains overlap.
#define ACT2(qa, dpa, spa, facca, qb, dpb, spb, faccb) \
	INIT(spa, Z11) \
	INIT(spb, Z14) \
	VPDPBUSD.BCST 0 qa, Z0, Z11 \
	VPDPBUSD.BCST 0 qb, Z0, Z14 \
	VPDPBUSD.BCST 4 qa, Z1, Z11 \
	VPDPBUSD.BCST 4 qb, Z1, Z14 \
	VPDPBUSD.BCST 8 qa, Z2, Z11 \
	VPDPBUSD.BCST 8 qb, Z2, Z14 \
	VPDPBUSD.BCST 12 qa, Z3, Z11 \
	VPDPBUSD.BCST 12 qb, Z3, Z14 \
	VPDPBUSD.BCST 16 qa, Z4, Z11 \
	VPDPBUSD.BCST 16 qb, Z4, Z14 \
	VPDPBUSD.BCST 20 qa, Z5, Z11 \
	VPDPBUSD.BCST 20 qb, Z5, Z14 \
	VPDPBUSD.BCST 24 qa, Z6, Z11 \
	VPDPBUSD.BCST 24 qb, Z6, Z14 \
	VPDPBUSD.BCST 28 qa, Z7, Z11 \
	VPDPBUSD.BCST 28 qb, Z7, Z14 \
	VCVTDQ2PS Z11, Z11 \
	VCVTDQ2PS Z14, Z14 \
	VMULPS.BCST dpa, Z8, Z10 \
	VMULPS.BCST dpb, Z8, Z15 \
	VFMADD231PS Z10, Z11, facca \
	VFMADD231PS Z15, Z14, faccb

// The two kernels differ only in how a block's weights reach Z0..Z7
// (and the start value, INIT); the rest is shared.

#define ARGS \
	MOVQ w+16(FP), SI \
	MOVQ qs+24(FP), DI \
	MOVQ d+32(FP), BX \
	MOVQ neg8+40(FP), R8 \
	MOVQ nb+48(FP), CX \
	MOVQ na+56(FP), AX \
	MOVQ qstride+64(FP), R9 \
	LEAQ (R9)(R9*2), R10 \
	MOVQ dstride+72(FP), R11 \
	LEAQ (R11)(R11*2), R12 \
	LEAQ (DI)(R9*4), R13 \
	LEAQ (BX)(R11*4), R14

#define ZEROACC \
	VPXORD Z16, Z16, Z16 \
	VPXORD Z17, Z17, Z17 \
	VPXORD Z18, Z18, Z18 \
	VPXORD Z19, Z19, Z19 \
	VPXORD Z20, Z20, Z20 \
	VPXORD Z21, Z21, Z21 \
	VPXORD Z22, Z22, Z22 \
	VPXORD Z23, Z23, Z23

#define ACTS \
	CMPQ AX, $2 \
	JGE  pair01 \
	ACT((DI), (BX), (R8), Z16) \
	JMP  next \
pair01: \
	ACT2((DI), (BX), (R8), Z16, (DI)(R9*1), (BX)(R11*1), (R8)(R11*1), Z17) \
	CMPQ AX, $3 \
	JLT  next \
	JGT  pair23 \
	ACT((DI)(R9*2), (BX)(R11*2), (R8)(R11*2), Z18) \
	JMP  next \
pair23: \
	ACT2((DI)(R9*2), (BX)(R11*2), (R8)(R11*2), Z18, (DI)(R10*1), (BX)(R12*1), (R8)(R12*1), Z19) \
	CMPQ AX, $5 \
	JLT  next \
	JGT  pair45 \
	ACT((R13), (R14), (DX), Z20) \
	JMP  next \
pair45: \
	ACT2((R13), (R14), (DX), Z20, (R13)(R9*1), (R14)(R11*1), (DX)(R11*1), Z21) \
	CMPQ AX, $7 \
	JLT  next \
	JGT  pair67 \
	ACT((R13)(R9*2), (R14)(R11*2), (DX)(R11*2), Z22) \
	JMP  next \
pair67: \
	ACT2((R13)(R9*2), (R14)(R11*2), (DX)(R11*2), Z22, (R13)(R10*1), (R14)(R12*1), (DX)(R12*1), Z23)

#define ADVANCE(bsz) \
next: \
	ADDQ bsz, SI \
	ADDQ $32, DI \
	ADDQ $32, R13 \
	ADDQ $4, BX \
	ADDQ $4, R14 \
	ADDQ $4, R8 \
	ADDQ $4, DX \
	DECQ CX \
	JNZ  loop

#define STORE \
store: \
	MOVQ out+0(FP), DI \
	MOVQ ostride+8(FP), R9 \
	VMOVUPS Z16, (DI) \
	CMPQ AX, $2 \
	JLT  done \
	ADDQ R9, DI \
	VMOVUPS Z17, (DI) \
	CMPQ AX, $3 \
	JLT  done \
	ADDQ R9, DI \
	VMOVUPS Z18, (DI) \
	CMPQ AX, $4 \
	JLT  done \
	ADDQ R9, DI \
	VMOVUPS Z19, (DI) \
	CMPQ AX, $5 \
	JLT  done \
	ADDQ R9, DI \
	VMOVUPS Z20, (DI) \
	CMPQ AX, $6 \
	JLT  done \
	ADDQ R9, DI \
	VMOVUPS Z21, (DI) \
	CMPQ AX, $7 \
	JLT  done \
	ADDQ R9, DI \
	VMOVUPS Z22, (DI) \
	CMPQ AX, $8 \
	JLT  done \
	ADDQ R9, DI \
	VMOVUPS Z23, (DI) \
done: \
	VZEROUPPER \
	RET

#define INIT(sp, z) VPBROADCASTD sp, z

TEXT ·q4x16VNNI(SB), NOSPLIT, $0-80
	ARGS
	MOVL $0x0f0f0f0f, DX
	VPBROADCASTD DX, Z9
	LEAQ (R8)(R11*4), DX // input 4's start values
	ZEROACC
	TESTQ CX, CX
	JZ   store

loop:
	// Weights stream once when few inputs share them: fetch 12 blocks
	// ahead. A single input (decode) streams faster on the hardware
	// prefetcher alone.
	CMPQ AX, $1
	JEQ  unpack
	PREFETCHT0 3456(SI)
	PREFETCHT0 3520(SI)
	PREFETCHT0 3584(SI)
	PREFETCHT0 3648(SI)
	PREFETCHT0 3712(SI)

unpack:
	VCVTPH2PS (SI), Z8
	VMOVDQU64 32(SI), Z12
	VPSRLW  $4, Z12, Z13
	VPANDD  Z9, Z12, Z0
	VPANDD  Z9, Z13, Z4
	VMOVDQU64 96(SI), Z12
	VPSRLW  $4, Z12, Z13
	VPANDD  Z9, Z12, Z1
	VPANDD  Z9, Z13, Z5
	VMOVDQU64 160(SI), Z12
	VPSRLW  $4, Z12, Z13
	VPANDD  Z9, Z12, Z2
	VPANDD  Z9, Z13, Z6
	VMOVDQU64 224(SI), Z12
	VPSRLW  $4, Z12, Z13
	VPANDD  Z9, Z12, Z3
	VPANDD  Z9, Z13, Z7

	ACTS
	ADVANCE($288)
	STORE

#undef INIT
#define INIT(sp, z) VPBROADCASTD sp, z; VPSLLD $4, z, z

TEXT ·q8x16VNNI(SB), NOSPLIT, $0-80
	ARGS
	LEAQ (R8)(R11*4), DX
	ZEROACC
	TESTQ CX, CX
	JZ   store

loop:
	CMPQ AX, $1 // see q4x16VNNI
	JEQ  load
	PREFETCHT0 4352(SI) // 8 blocks ahead
	PREFETCHT0 4416(SI)
	PREFETCHT0 4480(SI)
	PREFETCHT0 4544(SI)
	PREFETCHT0 4608(SI)
	PREFETCHT0 4672(SI)
	PREFETCHT0 4736(SI)
	PREFETCHT0 4800(SI)
	PREFETCHT0 4864(SI)

load:
	VCVTPH2PS (SI), Z8
	VMOVDQU64 32(SI), Z0
	VMOVDQU64 96(SI), Z1
	VMOVDQU64 160(SI), Z2
	VMOVDQU64 224(SI), Z3
	VMOVDQU64 288(SI), Z4
	VMOVDQU64 352(SI), Z5
	VMOVDQU64 416(SI), Z6
	VMOVDQU64 480(SI), Z7
	ACTS
	ADVANCE($544)
	STORE
