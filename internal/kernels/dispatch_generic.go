//go:build !goexperiment.simd || !amd64

package kernels

func init() { fallbackReason = "built without GOEXPERIMENT=simd on amd64" }

func simdSets() []kernelSet { return nil }
