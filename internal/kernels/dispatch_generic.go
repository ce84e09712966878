//go:build !goexperiment.simd || !amd64

package kernels

import "github.com/bayling-go/bayling/internal/tensor"

func init() { fallbackReason = "built without GOEXPERIMENT=simd on amd64" }

func simdSets() []kernelSet { return nil }

// packedAVX512 exists only in SIMD builds; no kernel set here selects it.
func packedAVX512(t tensor.DType, out []float32, ostride int, grp []byte, acts []q8Act, na, nb int) {
	panic("kernels: packed VNNI kernel in a build without it")
}
