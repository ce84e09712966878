//go:build goexperiment.simd && amd64

#include "textflag.h"

// Packed Q4_K (see pack.go) times up to four Q8_K inputs. Lane i of a zmm is
// weight row i. Per 32-column sub-block s the eight nibble registers Z0..Z7
// hold four columns of all sixteen rows each, vpdpbusd against the input's
// matching four bytes (broadcast) gives the row dots, vpmulld by the rows'
// 6-bit scales (Z8) adds them to the input's integer sum, and vpdpwssd adds
// min·(bsum pair) with the min duplicated into both words of a lane (Z9).
// Per super-block: out += d·d8·isum − dmin·d8·msum.

// func q4kx16VNNI(out *float32, ostride int, w *byte, qs *int8, d *float32, bsum *int16, nb, na, qstride, dstride, bstride int)
// ostride, qstride, dstride and bstride are in bytes.

// Registers: Z10 bytes 0x0f, Z11 bytes 0x3f, Z12..Z15 per-input sub-block
// dots, Z16..Z19 isum, Z20..Z23 msum, Z24..Z27 float sums, Z28/Z29 the rows'
// d and dmin, Z30/Z31 scratch.

// SCALES sets Z8 (scale) and Z9 (min in both words) of a sub-block from its
// scale byte vector at off(SI) and the min's low nibbles in Z31.
#define SCALES(off) \
	VPMOVZXBD off(SI), Z30 \
	VPANDD    Z11, Z30, Z8 \
	VPSRLD    $6, Z30, Z30 \
	VPSLLD    $4, Z30, Z30 \
	VPANDD    Z10, Z31, Z31 \
	VPORD     Z30, Z31, Z9 \
	VPSLLD    $16, Z9, Z31 \
	VPORD     Z31, Z9, Z9

// LO and HI load chunk off of the pair at DX and keep its low (even
// sub-block) or high (odd) nibbles.
#define LO(off, z) \
	VPANDD off(DX), Z10, z

#define HI(off, z) \
	VMOVDQU64 off(DX), z \
	VPSRLW    $4, z, z \
	VPANDD    Z10, z, z

#define NIBBLES(N) \
	N(0, Z0) \
	N(64, Z1) \
	N(128, Z2) \
	N(192, Z3) \
	N(256, Z4) \
	N(320, Z5) \
	N(384, Z6) \
	N(448, Z7)

// ONE adds one input's sub-block to its sums: q its 32 bytes, b its bsum
// pair. Two chains of four vpdpbusd (acc, acc2), not one of eight: with one
// input the long chains fill the scheduler and hold back the loads of the
// next sub-blocks.
#define ONE(q, b, acc, acc2, isum, msum) \
	VPXORD acc, acc, acc \
	VPXORD acc2, acc2, acc2 \
	VPDPBUSD.BCST 0 q, Z0, acc \
	VPDPBUSD.BCST 4 q, Z1, acc2 \
	VPDPBUSD.BCST 8 q, Z2, acc \
	VPDPBUSD.BCST 12 q, Z3, acc2 \
	VPDPBUSD.BCST 16 q, Z4, acc \
	VPDPBUSD.BCST 20 q, Z5, acc2 \
	VPDPBUSD.BCST 24 q, Z6, acc \
	VPDPBUSD.BCST 28 q, Z7, acc2 \
	VPADDD acc2, acc, acc \
	VPMULLD Z8, acc, acc \
	VPADDD acc, isum, isum \
	VPDPWSSD.BCST b, Z9, msum

// SUB runs sub-block for every input; l1..l3 are its exit labels.
#define SUB(l) \
	ONE((DI), (R8), Z12, Z30, Z16, Z20) \
	CMPQ AX, $2 \
	JLT  l \
	ONE((DI)(R9*1), (R8)(R11*1), Z13, Z31, Z17, Z21) \
	CMPQ AX, $3 \
	JLT  l \
	ONE((DI)(R9*2), (R8)(R11*2), Z14, Z30, Z18, Z22) \
	CMPQ AX, $4 \
	JLT  l \
	ONE((DI)(R12*1), (R8)(R14*1), Z15, Z31, Z19, Z23) \
l: \
	ADDQ $32, DI \
	ADDQ $4, R8

// FINISH folds one input's super-block sums into its float sum.
#define FINISH(dp, isum, msum, facc) \
	VCVTDQ2PS isum, isum \
	VCVTDQ2PS msum, msum \
	VMULPS.BCST dp, Z28, Z30 \
	VMULPS.BCST dp, Z29, Z31 \
	VFMADD231PS Z30, isum, facc \
	VFNMADD231PS Z31, msum, facc \
	VPXORD isum, isum, isum \
	VPXORD msum, msum, msum

TEXT ·q4kx16VNNI(SB), NOSPLIT, $0-88
	MOVQ w+16(FP), SI
	MOVQ qs+24(FP), DI
	MOVQ d+32(FP), BX
	MOVQ bsum+40(FP), R8
	MOVQ nb+48(FP), CX
	MOVQ na+56(FP), AX
	MOVQ qstride+64(FP), R9
	LEAQ (R9)(R9*2), R12
	MOVQ dstride+72(FP), R10
	LEAQ (R10)(R10*2), R13
	MOVQ bstride+80(FP), R11
	LEAQ (R11)(R11*2), R14
	MOVL $0x0f0f0f0f, DX
	VPBROADCASTD DX, Z10
	MOVL $0x3f3f3f3f, DX
	VPBROADCASTD DX, Z11
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	TESTQ CX, CX
	JZ   store

block:
	VCVTPH2PS (SI), Z28
	VCVTPH2PS 32(SI), Z29
	LEAQ 256(SI), DX // the nibbles
	ADDQ $64, SI     // the scales of pair 0
	MOVQ $4, R15

pair:
	// Weights stream once when few inputs share them: fetch the next
	// super-block's chunks. A single input (decode) streams faster on the
	// hardware prefetcher alone.
	CMPQ AX, $1
	JEQ  even
	PREFETCHT0 2304(DX)
	PREFETCHT0 2368(DX)
	PREFETCHT0 2432(DX)
	PREFETCHT0 2496(DX)
	PREFETCHT0 2560(DX)
	PREFETCHT0 2624(DX)
	PREFETCHT0 2688(DX)
	PREFETCHT0 2752(DX)

even:
	VPMOVZXBD 32(SI), Z31
	SCALES(0)
	NIBBLES(LO)
	SUB(evendone)
	VPMOVZXBD 32(SI), Z31
	VPSRLD    $4, Z31, Z31
	SCALES(16)
	NIBBLES(HI)
	SUB(odddone)
	ADDQ $48, SI
	ADDQ $512, DX
	DECQ R15
	JNZ  pair

	// SI is at the nibbles now.
	FINISH((BX), Z16, Z20, Z24)
	CMPQ AX, $2
	JLT  next
	FINISH((BX)(R10*1), Z17, Z21, Z25)
	CMPQ AX, $3
	JLT  next
	FINISH((BX)(R10*2), Z18, Z22, Z26)
	CMPQ AX, $4
	JLT  next
	FINISH((BX)(R13*1), Z19, Z23, Z27)

next:
	ADDQ $2048, SI
	ADDQ $4, BX
	DECQ CX
	JNZ  block

store:
	MOVQ out+0(FP), DI
	MOVQ ostride+8(FP), R9
	VMOVUPS Z24, (DI)
	CMPQ AX, $2
	JLT  done
	ADDQ R9, DI
	VMOVUPS Z25, (DI)
	CMPQ AX, $3
	JLT  done
	ADDQ R9, DI
	VMOVUPS Z26, (DI)
	CMPQ AX, $4
	JLT  done
	ADDQ R9, DI
	VMOVUPS Z27, (DI)

done:
	VZEROUPPER
	RET
