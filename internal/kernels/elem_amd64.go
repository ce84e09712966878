//go:build goexperiment.simd && amd64

package kernels

import (
	"math"
	"simd/archsimd"
)

// Elementwise kernels (AVX2+FMA, shared by both SIMD sets): exp is the
// Cephes-style float32 range reduction x = n·ln2 + r with a degree-6
// polynomial for e^r, accurate to ~2 ulp over the clamped range.

func exp8(x archsimd.Float32x8) archsimd.Float32x8 {
	x = x.Max(archsimd.BroadcastFloat32x8(-87.33654)).Min(archsimd.BroadcastFloat32x8(88.37626))
	n := x.Mul(archsimd.BroadcastFloat32x8(1.442695041)).RoundToEven()
	r := n.MulAdd(archsimd.BroadcastFloat32x8(-0.693359375), x)
	r = n.MulAdd(archsimd.BroadcastFloat32x8(2.12194440e-4), r)
	p := archsimd.BroadcastFloat32x8(1.9875691500e-4)
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(1.3981999507e-3))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(8.3334519073e-3))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(4.1665795894e-2))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(1.6666665459e-1))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(5.0000001201e-1))
	p = p.MulAdd(r.Mul(r), r).Add(archsimd.BroadcastFloat32x8(1))
	// Scale by 2^n in two halves so n = 128 (x near the top clamp) stays finite.
	ni := n.ConvertToInt32()
	h := ni.ShiftAllRight(1)
	s1 := h.Add(archsimd.BroadcastInt32x8(127)).ShiftAllLeft(23).AsFloat32x8()
	s2 := ni.Sub(h).Add(archsimd.BroadcastInt32x8(127)).ShiftAllLeft(23).AsFloat32x8()
	return p.Mul(s1).Mul(s2)
}

func expf(x float32) float32 { return float32(math.Exp(float64(x))) }

func siluMulAVX2(gate, up []float32) {
	n := len(gate)
	up = up[:n]
	one := archsimd.BroadcastFloat32x8(1)
	zero := archsimd.Float32x8{}
	i := 0
	for ; i+8 <= n; i += 8 {
		g := archsimd.LoadFloat32x8Slice(gate[i:])
		e := exp8(zero.Sub(g))
		g.Div(one.Add(e)).Mul(archsimd.LoadFloat32x8Slice(up[i:])).StoreSlice(gate[i:])
	}
	for ; i < n; i++ {
		gate[i] = gate[i] / (1 + expf(-gate[i])) * up[i]
	}
}

func softmaxAVX2(x []float32) {
	n := len(x)
	if n == 0 {
		return
	}
	mx := maxAVX2(x)
	vm := archsimd.BroadcastFloat32x8(mx)
	var vs archsimd.Float32x8
	i := 0
	for ; i+8 <= n; i += 8 {
		e := exp8(archsimd.LoadFloat32x8Slice(x[i:]).Sub(vm))
		e.StoreSlice(x[i:])
		vs = vs.Add(e)
	}
	sum := hsum8(vs)
	for ; i < n; i++ {
		x[i] = expf(x[i] - mx)
		sum += x[i]
	}
	inv := archsimd.BroadcastFloat32x8(1 / sum)
	i = 0
	for ; i+8 <= n; i += 8 {
		archsimd.LoadFloat32x8Slice(x[i:]).Mul(inv).StoreSlice(x[i:])
	}
	for ; i < n; i++ {
		x[i] *= 1 / sum
	}
}

func rmsNormAVX2(dst, x, w []float32, eps float32) {
	n := len(x)
	ss := dotAVX2(x, x)
	scale := float32(1 / math.Sqrt(float64(ss)/float64(n)+float64(eps)))
	dst, w = dst[:n], w[:n]
	vs := archsimd.BroadcastFloat32x8(scale)
	i := 0
	for ; i+8 <= n; i += 8 {
		archsimd.LoadFloat32x8Slice(x[i:]).Mul(vs).Mul(archsimd.LoadFloat32x8Slice(w[i:])).StoreSlice(dst[i:])
	}
	for ; i < n; i++ {
		dst[i] = x[i] * scale * w[i]
	}
}

// maxAVX2 is the largest element of x (len(x) > 0).
func maxAVX2(x []float32) float32 {
	n := len(x)
	mx := x[0]
	i := 0
	if n >= 8 {
		m := archsimd.LoadFloat32x8Slice(x)
		for i = 8; i+8 <= n; i += 8 {
			m = m.Max(archsimd.LoadFloat32x8Slice(x[i:]))
		}
		var t [8]float32
		m.Store(&t)
		for _, v := range t {
			mx = max(mx, v)
		}
	}
	for ; i < n; i++ {
		mx = max(mx, x[i])
	}
	return mx
}
