//go:build goexperiment.simd && amd64

package kernels

import "simd/archsimd"

// sgemmMicro is the AVX-512 micro-kernel where the CPU has it.
var sgemmMicro = sgemmMicroGo

func init() {
	if archsimd.X86.AVX512() {
		sgemmMicro = sgemmMicroAVX512
	}
}

// Implemented in sgemm_amd64.s.
//
//go:noescape
func sgemmKernelAVX512(k int, a *float32, rs, ps int, b *float32, bs int, c *float32, ldc int, load bool)

func sgemmMicroAVX512(k int, a []float32, rs, ps int, b []float32, bs int, c []float32, ldc int, load bool) {
	if k == 0 {
		sgemmMicroGo(k, a, rs, ps, b, bs, c, ldc, load)
		return
	}
	_, _, _ = a[(sgemmMR-1)*rs+(k-1)*ps], b[(k-1)*bs+sgemmNR-1], c[(sgemmMR-1)*ldc+sgemmNR-1]
	sgemmKernelAVX512(k, &a[0], rs, ps, &b[0], bs, &c[0], ldc, load)
}
