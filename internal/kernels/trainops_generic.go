//go:build !goexperiment.simd || !amd64

package kernels

var (
	softmaxScaled = softmaxScaledGeneric
	siluMulBack   = siluMulBackGeneric
	adamW         = adamWGeneric
)
