//go:build goexperiment.simd && amd64

#include "textflag.h"

// Attention over one KV head with head size 128, AVX-512: the query (or the
// output accumulator) lives in eight zmm registers while the kernel walks the
// cache rows, so each position costs eight loads/conversions and FMAs instead
// of a function call per (position, head).

// Horizontal sum of Z8 into X8. Clobbers Y9.
#define HSUM8Z \
	VEXTRACTF64X4 $1, Z8, Y9 \
	VADDPS Y9, Y8, Y8 \
	VEXTRACTF128 $1, Y8, X9 \
	VADDPS X9, X8, X8 \
	VHADDPS X8, X8, X8 \
	VHADDPS X8, X8, X8

#define LOADQ \
	VMOVUPS 0(SI), Z16 \
	VMOVUPS 64(SI), Z17 \
	VMOVUPS 128(SI), Z18 \
	VMOVUPS 192(SI), Z19 \
	VMOVUPS 256(SI), Z20 \
	VMOVUPS 320(SI), Z21 \
	VMOVUPS 384(SI), Z22 \
	VMOVUPS 448(SI), Z23

// func attnScores128F16(scores *float32, q *float32, k *uint16, n, stride int, scale float32)
// scores[t] = scale·Σ_{i<128} q[i]·k[t·stride+i] for t < n (stride in elements).
TEXT ·attnScores128F16(SB), NOSPLIT, $0-44
	MOVQ scores+0(FP), DI
	MOVQ q+8(FP), SI
	MOVQ k+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ stride+32(FP), R8
	SHLQ $1, R8
	VMOVSS scale+40(FP), X15
	LOADQ
	TESTQ CX, CX
	JZ   sf16done

sf16loop:
	VCVTPH2PS 0(DX), Z0
	VCVTPH2PS 32(DX), Z1
	VCVTPH2PS 64(DX), Z2
	VCVTPH2PS 96(DX), Z3
	VMULPS Z16, Z0, Z8
	VMULPS Z17, Z1, Z9
	VFMADD231PS Z18, Z2, Z8
	VFMADD231PS Z19, Z3, Z9
	VCVTPH2PS 128(DX), Z4
	VCVTPH2PS 160(DX), Z5
	VCVTPH2PS 192(DX), Z6
	VCVTPH2PS 224(DX), Z7
	VFMADD231PS Z20, Z4, Z8
	VFMADD231PS Z21, Z5, Z9
	VFMADD231PS Z22, Z6, Z8
	VFMADD231PS Z23, Z7, Z9
	VADDPS Z9, Z8, Z8
	HSUM8Z
	VMULSS X15, X8, X8
	VMOVSS X8, (DI)
	ADDQ $4, DI
	ADDQ R8, DX
	DECQ CX
	JNZ  sf16loop

sf16done:
	VZEROUPPER
	RET

// func attnScores128F32(scores *float32, q *float32, k *float32, n, stride int, scale float32)
TEXT ·attnScores128F32(SB), NOSPLIT, $0-44
	MOVQ scores+0(FP), DI
	MOVQ q+8(FP), SI
	MOVQ k+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ stride+32(FP), R8
	SHLQ $2, R8
	VMOVSS scale+40(FP), X15
	LOADQ
	TESTQ CX, CX
	JZ   sf32done

sf32loop:
	VMULPS 0(DX), Z16, Z8
	VMULPS 64(DX), Z17, Z9
	VFMADD231PS 128(DX), Z18, Z8
	VFMADD231PS 192(DX), Z19, Z9
	VFMADD231PS 256(DX), Z20, Z8
	VFMADD231PS 320(DX), Z21, Z9
	VFMADD231PS 384(DX), Z22, Z8
	VFMADD231PS 448(DX), Z23, Z9
	VADDPS Z9, Z8, Z8
	HSUM8Z
	VMULSS X15, X8, X8
	VMOVSS X8, (DI)
	ADDQ $4, DI
	ADDQ R8, DX
	DECQ CX
	JNZ  sf32loop

sf32done:
	VZEROUPPER
	RET

#define LOADACC \
	VMOVUPS 0(DI), Z16 \
	VMOVUPS 64(DI), Z17 \
	VMOVUPS 128(DI), Z18 \
	VMOVUPS 192(DI), Z19 \
	VMOVUPS 256(DI), Z20 \
	VMOVUPS 320(DI), Z21 \
	VMOVUPS 384(DI), Z22 \
	VMOVUPS 448(DI), Z23

#define STOREACC \
	VMOVUPS Z16, 0(DI) \
	VMOVUPS Z17, 64(DI) \
	VMOVUPS Z18, 128(DI) \
	VMOVUPS Z19, 192(DI) \
	VMOVUPS Z20, 256(DI) \
	VMOVUPS Z21, 320(DI) \
	VMOVUPS Z22, 384(DI) \
	VMOVUPS Z23, 448(DI)

// func attnValues128F16(out *float32, p *float32, v *uint16, n, stride int)
// out[i] += Σ_{t<n} p[t]·v[t·stride+i] for i < 128.
TEXT ·attnValues128F16(SB), NOSPLIT, $0-40
	MOVQ out+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ v+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ stride+32(FP), R8
	SHLQ $1, R8
	LOADACC
	TESTQ CX, CX
	JZ   vf16done

vf16loop:
	VBROADCASTSS (SI), Z15
	VCVTPH2PS 0(DX), Z0
	VCVTPH2PS 32(DX), Z1
	VCVTPH2PS 64(DX), Z2
	VCVTPH2PS 96(DX), Z3
	VFMADD231PS Z15, Z0, Z16
	VFMADD231PS Z15, Z1, Z17
	VFMADD231PS Z15, Z2, Z18
	VFMADD231PS Z15, Z3, Z19
	VCVTPH2PS 128(DX), Z4
	VCVTPH2PS 160(DX), Z5
	VCVTPH2PS 192(DX), Z6
	VCVTPH2PS 224(DX), Z7
	VFMADD231PS Z15, Z4, Z20
	VFMADD231PS Z15, Z5, Z21
	VFMADD231PS Z15, Z6, Z22
	VFMADD231PS Z15, Z7, Z23
	ADDQ $4, SI
	ADDQ R8, DX
	DECQ CX
	JNZ  vf16loop

vf16done:
	STOREACC
	VZEROUPPER
	RET

// func attnValues128F32(out *float32, p *float32, v *float32, n, stride int)
TEXT ·attnValues128F32(SB), NOSPLIT, $0-40
	MOVQ out+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ v+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ stride+32(FP), R8
	SHLQ $2, R8
	LOADACC
	TESTQ CX, CX
	JZ   vf32done

vf32loop:
	VBROADCASTSS (SI), Z15
	VFMADD231PS 0(DX), Z15, Z16
	VFMADD231PS 64(DX), Z15, Z17
	VFMADD231PS 128(DX), Z15, Z18
	VFMADD231PS 192(DX), Z15, Z19
	VFMADD231PS 256(DX), Z15, Z20
	VFMADD231PS 320(DX), Z15, Z21
	VFMADD231PS 384(DX), Z15, Z22
	VFMADD231PS 448(DX), Z15, Z23
	ADDQ $4, SI
	ADDQ R8, DX
	DECQ CX
	JNZ  vf32loop

vf32done:
	STOREACC
	VZEROUPPER
	RET
