//go:build goexperiment.simd && amd64

package lid

import "simd/archsimd"

func init() {
	if archsimd.X86.AVX2() && archsimd.X86.FMA() {
		addTo, axpy, dot = addToAVX2, axpyAVX2, dotAVX2
	}
}

func addToAVX2(dst, src []float32) {
	n := len(dst)
	src = src[:n]
	i := 0
	for ; i+8 <= n; i += 8 {
		archsimd.LoadFloat32x8Slice(dst[i:]).Add(archsimd.LoadFloat32x8Slice(src[i:])).StoreSlice(dst[i:])
	}
	for ; i < n; i++ {
		dst[i] += src[i]
	}
}

func axpyAVX2(dst []float32, a float32, src []float32) {
	n := len(dst)
	src = src[:n]
	va := archsimd.BroadcastFloat32x8(a)
	i := 0
	for ; i+8 <= n; i += 8 {
		va.MulAdd(archsimd.LoadFloat32x8Slice(src[i:]), archsimd.LoadFloat32x8Slice(dst[i:])).StoreSlice(dst[i:])
	}
	for ; i < n; i++ {
		dst[i] += a * src[i]
	}
}

func dotAVX2(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	var s0, s1 archsimd.Float32x8
	i := 0
	for ; i+16 <= n; i += 16 {
		s0 = archsimd.LoadFloat32x8Slice(a[i:]).MulAdd(archsimd.LoadFloat32x8Slice(b[i:]), s0)
		s1 = archsimd.LoadFloat32x8Slice(a[i+8:]).MulAdd(archsimd.LoadFloat32x8Slice(b[i+8:]), s1)
	}
	for ; i+8 <= n; i += 8 {
		s0 = archsimd.LoadFloat32x8Slice(a[i:]).MulAdd(archsimd.LoadFloat32x8Slice(b[i:]), s0)
	}
	var buf [8]float32
	s0.Add(s1).StoreSlice(buf[:])
	s := buf[0] + buf[1] + buf[2] + buf[3] + buf[4] + buf[5] + buf[6] + buf[7]
	for ; i < n; i++ {
		s += a[i] * b[i]
	}
	return s
}
