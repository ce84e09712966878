//go:build goexperiment.simd && amd64

package kernels

func init() { fallbackReason = "SIMD kernels not implemented yet" }

func simdSets() []kernelSet { return nil }
