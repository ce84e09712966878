//go:build !goexperiment.simd || !amd64

package kernels

var sgemmMicro = sgemmMicroGo
