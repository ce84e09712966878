//go:build goexperiment.simd && amd64

package kernels

import "simd/archsimd"

// simdSets lists the SIMD kernel sets this CPU can run, best last.
func simdSets() []kernelSet {
	var s []kernelSet
	if archsimd.X86.AVX2() && archsimd.X86.FMA() {
		s = append(s, avx2Set)
	}
	if archsimd.X86.AVX512() && archsimd.X86.AVX512VNNI() {
		s = append(s, avx512Set)
	}
	return s
}

func init() {
	s := simdSets()
	if len(s) == 0 {
		fallbackReason = "CPU lacks AVX2+FMA"
		return
	}
	active = s[len(s)-1]
}
