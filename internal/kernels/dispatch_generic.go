//go:build !goexperiment.simd || !amd64

package kernels

func init() { fallbackReason = "built without GOEXPERIMENT=simd on amd64" }

func simdSets() []kernelSet { return nil }

// q4x16AVX512 exists only in SIMD builds; no kernel set here selects it.
func q4x16AVX512(out []float32, ostride int, grp []byte, acts []q8Act, na, nb int) {
	panic("kernels: packed Q4_0 VNNI kernel in a build without it")
}
