//go:build goexperiment.simd && amd64

#include "textflag.h"

// AVX-512 VNNI (EVEX vpdpbusd on 256-bit registers) and F16C dot products for
// Q8_0 and Q4_0 weights against Q8_0 activations. archsimd exposes neither
// vpdpbusd nor vcvtph2ps, hence assembly. Two blocks per iteration with two
// accumulators hide the FMA latency; an odd last block is handled after.

// vpermps indices spreading [s0, s1] over a zmm as [s0×8, s1×8].
DATA q80perm<>+0(SB)/8, $0x0000000000000000
DATA q80perm<>+8(SB)/8, $0x0000000000000000
DATA q80perm<>+16(SB)/8, $0x0000000000000000
DATA q80perm<>+24(SB)/8, $0x0000000000000000
DATA q80perm<>+32(SB)/8, $0x0000000100000001
DATA q80perm<>+40(SB)/8, $0x0000000100000001
DATA q80perm<>+48(SB)/8, $0x0000000100000001
DATA q80perm<>+56(SB)/8, $0x0000000100000001
GLOBL q80perm<>(SB), RODATA|NOPTR, $64

// func dotQ8_0VNNI(row *byte, qs *int8, d *float32, nb int) float32
// Two blocks per zmm: vpdpbusd takes |w| unsigned and x with w's sign
// (negated under a vpmovb2m mask; vpsignb has no 512-bit form).
TEXT ·dotQ8_0VNNI(SB), NOSPLIT, $0-36
	MOVQ row+0(FP), SI
	MOVQ qs+8(FP), DI
	MOVQ d+16(FP), BX
	MOVQ nb+24(FP), CX
	VMOVDQU64 q80perm<>+0(SB), Z13
	VPXORD Z0, Z0, Z0
	VPXORD Z9, Z9, Z9 // zero, for the masked negation
	VXORPS Y8, Y8, Y8 // odd-block tail
	CMPQ CX, $2
	JLT  q8tail

q8loop:
	VMOVDQU 2(SI), Y1
	VINSERTI64X4 $1, 36(SI), Z1, Z1 // [w_b, w_b+1]
	VPABSB  Z1, Z2
	VPMOVB2M Z1, K1
	VMOVDQU64 (DI), Z3
	VPSUBB  Z3, Z9, K1, Z3          // x·sign(w)
	VPXORD  Z4, Z4, Z4
	VPDPBUSD Z3, Z2, Z4
	VCVTDQ2PS Z4, Z4
	MOVWLZX (SI), AX
	MOVWLZX 34(SI), DX
	SHLL    $16, DX
	ORL     DX, AX
	VMOVD   AX, X5
	VCVTPH2PS X5, X5
	VMOVQ   (BX), X6
	VMULPS  X6, X5, X5
	VPERMPS Z5, Z13, Z6
	VFMADD231PS Z6, Z4, Z0
	ADDQ $68, SI
	ADDQ $64, DI
	ADDQ $8, BX
	SUBQ $2, CX
	CMPQ CX, $2
	JGE  q8loop

q8tail:
	TESTQ CX, CX
	JZ    q8done
	VMOVDQU 2(SI), Y1
	VPABSB  Y1, Y2
	VMOVDQU (DI), Y3
	VPSIGNB Y1, Y3, Y3 // x·sign(w)
	VPXOR   Y4, Y4, Y4
	VPDPBUSD Y3, Y2, Y4
	VCVTDQ2PS Y4, Y4
	MOVWLZX (SI), AX
	VMOVD   AX, X5
	VCVTPH2PS X5, X5
	VMULSS  (BX), X5, X5
	VBROADCASTSS X5, Y5
	VFMADD231PS Y5, Y4, Y8

q8done:
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VADDPS Y8, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+32(FP)
	RET

// vpermps indices spreading [s0, s1] over a zmm as [s0×4, s1×4, s0×4, s1×4].
DATA q40perm<>+0(SB)/8, $0x0000000000000000
DATA q40perm<>+8(SB)/8, $0x0000000000000000
DATA q40perm<>+16(SB)/8, $0x0000000100000001
DATA q40perm<>+24(SB)/8, $0x0000000100000001
DATA q40perm<>+32(SB)/8, $0x0000000000000000
DATA q40perm<>+40(SB)/8, $0x0000000000000000
DATA q40perm<>+48(SB)/8, $0x0000000100000001
DATA q40perm<>+56(SB)/8, $0x0000000100000001
GLOBL q40perm<>(SB), RODATA|NOPTR, $64

// func dotQ4_0VNNI(row *byte, qs *int8, d *float32, sums *int32, nb int) float32
// Nibbles enter vpdpbusd unsigned (0..15); Σ(q-8)x = Σqx - 8Σx uses the
// activation block sums. Two blocks per zmm: nibbles laid out as
// [lo_b, lo_b+1, hi_b, hi_b+1] and the activations' 128-bit lanes reordered to
// match with one vshufi64x2.
TEXT ·dotQ4_0VNNI(SB), NOSPLIT, $0-44
	MOVQ row+0(FP), SI
	MOVQ qs+8(FP), DI
	MOVQ d+16(FP), BX
	MOVQ sums+24(FP), R8
	MOVQ nb+32(FP), CX
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z15
	VMOVDQU64 q40perm<>+0(SB), Z13
	VPXORD Z0, Z0, Z0
	VPXORD Z14, Z14, Z14 // Σ s·sum, two lanes
	VXORPS Y8, Y8, Y8    // odd-block tail
	VXORPS X12, X12, X12
	CMPQ CX, $2
	JLT  q4tail

q4loop:
	VMOVDQU 2(SI), X1
	VINSERTI128 $1, 20(SI), Y1, Y1 // [q_b, q_b+1]
	VPSRLW  $4, Y1, Y2
	VINSERTI64X4 $1, Y2, Z1, Z1
	VPANDD  Z15, Z1, Z1             // [lo_b, lo_b+1, hi_b, hi_b+1]
	VMOVDQU64 (DI), Z3
	VSHUFI64X2 $0xd8, Z3, Z3, Z3    // x lanes to the same order
	VPXORD  Z4, Z4, Z4
	VPDPBUSD Z3, Z1, Z4
	VCVTDQ2PS Z4, Z4
	MOVWLZX (SI), AX
	MOVWLZX 18(SI), DX
	SHLL    $16, DX
	ORL     DX, AX
	VMOVD   AX, X5
	VCVTPH2PS X5, X5                // [dw_b, dw_b+1, 0, 0]
	VMOVQ   (BX), X6
	VMULPS  X6, X5, X5              // scales s_b, s_b+1
	VPERMPS Z5, Z13, Z6
	VFMADD231PS Z6, Z4, Z0
	VMOVQ   (R8), X7
	VCVTDQ2PS X7, X7
	VFMADD231PS Z7, Z5, Z14
	ADDQ $36, SI
	ADDQ $64, DI
	ADDQ $8, BX
	ADDQ $8, R8
	SUBQ $2, CX
	CMPQ CX, $2
	JGE  q4loop

q4tail:
	TESTQ CX, CX
	JZ    q4done
	VMOVDQU 2(SI), X1
	VPSRLW  $4, X1, X2
	VINSERTI128 $1, X2, Y1, Y1
	VPAND   Y15, Y1, Y1
	VPXOR   Y4, Y4, Y4
	VPDPBUSD (DI), Y1, Y4
	VCVTDQ2PS Y4, Y4
	MOVWLZX (SI), AX
	VMOVD   AX, X5
	VCVTPH2PS X5, X5
	VMULSS  (BX), X5, X5
	VBROADCASTSS X5, Y6
	VFMADD231PS Y6, Y4, Y8
	VCVTSI2SSL (R8), X3, X3
	VFMADD231SS X3, X5, X12

q4done:
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VADDPS Y8, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X14, X14, X14
	VHADDPS X14, X14, X14
	VADDSS X12, X14, X14 // total Σ s·sum
	MOVL $0x41000000, AX // 8.0
	VMOVD AX, X2
	VFNMADD231SS X2, X14, X0 // x0 -= 8*corr
	VZEROUPPER
	MOVSS X0, ret+40(FP)
	RET

// Sum the 8 lanes of ymm acc into X0. Clobbers X1.
#define HSUMY(accy) \
	VEXTRACTF32X4 $1, accy, X1 \
	VMOVUPS accy, Y0 \
	VADDPS X1, X0, X0 \
	VHADDPS X0, X0, X0 \
	VHADDPS X0, X0, X0

// Four-input variants for prefill: each weight block is loaded and unpacked
// once for four activation rows (consecutive rows of the scratch slabs:
// qstride bytes apart for qs, dstride bytes apart for d and sums).

// func dotQ8_0VNNIx4(out *[4]float32, row *byte, qs *int8, d *float32, nb, qstride, dstride int)
TEXT ·dotQ8_0VNNIx4(SB), NOSPLIT, $0-56
	MOVQ row+8(FP), SI
	MOVQ qs+16(FP), DI
	MOVQ d+24(FP), BX
	MOVQ nb+32(FP), CX
	MOVQ qstride+40(FP), R9
	LEAQ (R9)(R9*2), R10
	MOVQ dstride+48(FP), R11
	LEAQ (R11)(R11*2), R12
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	TESTQ CX, CX
	JZ   q8x4done

q8x4loop:
	VMOVDQU 2(SI), Y1
	VPABSB  Y1, Y2
	MOVWLZX (SI), AX
	VMOVD   AX, X3
	VCVTPH2PS X3, X3

#define Q8X4(xptr, dptr, facc) \
	VMOVDQU xptr, Y4 \
	VPSIGNB Y1, Y4, Y4 \
	VPXOR   Y5, Y5, Y5 \
	VPDPBUSD Y4, Y2, Y5 \
	VCVTDQ2PS Y5, Y5 \
	VMULSS  dptr, X3, X6 \
	VBROADCASTSS X6, Y6 \
	VFMADD231PS Y6, Y5, facc

	Q8X4((DI), (BX), Y16)
	Q8X4((DI)(R9*1), (BX)(R11*1), Y17)
	Q8X4((DI)(R9*2), (BX)(R11*2), Y18)
	Q8X4((DI)(R10*1), (BX)(R12*1), Y19)

	ADDQ $34, SI
	ADDQ $32, DI
	ADDQ $4, BX
	DECQ CX
	JNZ  q8x4loop

q8x4done:
	MOVQ out+0(FP), DI
	HSUMY(Y16)
	VMOVSS X0, 0(DI)
	HSUMY(Y17)
	VMOVSS X0, 4(DI)
	HSUMY(Y18)
	VMOVSS X0, 8(DI)
	HSUMY(Y19)
	VMOVSS X0, 12(DI)
	VZEROUPPER
	RET

// func dotQ4_0VNNIx4(out *[4]float32, row *byte, qs *int8, d *float32, sums *int32, nb, qstride, dstride int)
// d and sums rows share dstride (both 4 bytes per block).
TEXT ·dotQ4_0VNNIx4(SB), NOSPLIT, $0-64
	MOVQ row+8(FP), SI
	MOVQ qs+16(FP), DI
	MOVQ d+24(FP), BX
	MOVQ sums+32(FP), R8
	MOVQ nb+40(FP), CX
	MOVQ qstride+48(FP), R9
	LEAQ (R9)(R9*2), R10
	MOVQ dstride+56(FP), R11
	LEAQ (R11)(R11*2), R12
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	TESTQ CX, CX
	JZ   q4x4done

q4x4loop:
	VMOVDQU 2(SI), X1
	VPSRLW  $4, X1, X2
	VINSERTI128 $1, X2, Y1, Y1
	VPAND   Y15, Y1, Y1
	MOVWLZX (SI), AX
	VMOVD   AX, X3
	VCVTPH2PS X3, X3

// facc += d·Σqx ; corr += d·Σx (the -8 offset, applied at the end)
#define Q4X4(xptr, dptr, sptr, facc, corr) \
	VPXOR   Y5, Y5, Y5 \
	VPDPBUSD xptr, Y1, Y5 \
	VCVTDQ2PS Y5, Y5 \
	VMULSS  dptr, X3, X6 \
	VBROADCASTSS X6, Y7 \
	VFMADD231PS Y7, Y5, facc \
	VCVTSI2SSL sptr, X8, X8 \
	VFMADD231SS X8, X6, corr

	Q4X4((DI), (BX), (R8), Y16, X20)
	Q4X4((DI)(R9*1), (BX)(R11*1), (R8)(R11*1), Y17, X21)
	Q4X4((DI)(R9*2), (BX)(R11*2), (R8)(R11*2), Y18, X22)
	Q4X4((DI)(R10*1), (BX)(R12*1), (R8)(R12*1), Y19, X23)

	ADDQ $18, SI
	ADDQ $32, DI
	ADDQ $4, BX
	ADDQ $4, R8
	DECQ CX
	JNZ  q4x4loop

q4x4done:
	MOVQ out+0(FP), DI
	MOVL $0x41000000, AX // 8.0
	VMOVD AX, X9
	HSUMY(Y16)
	VFNMADD231SS X9, X20, X0
	VMOVSS X0, 0(DI)
	HSUMY(Y17)
	VFNMADD231SS X9, X21, X0
	VMOVSS X0, 4(DI)
	HSUMY(Y18)
	VFNMADD231SS X9, X22, X0
	VMOVSS X0, 8(DI)
	HSUMY(Y19)
	VFNMADD231SS X9, X23, X0
	VMOVSS X0, 12(DI)
	VZEROUPPER
	RET
