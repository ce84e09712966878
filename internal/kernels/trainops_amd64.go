//go:build goexperiment.simd && amd64

package kernels

import (
	"math"
	"simd/archsimd"
)

var (
	softmaxScaled = softmaxScaledGeneric
	siluMulBack   = siluMulBackGeneric
	adamW         = adamWGeneric
)

func init() {
	if archsimd.X86.AVX2() && archsimd.X86.FMA() {
		softmaxScaled, siluMulBack, adamW = softmaxScaledAVX2, siluMulBackAVX2, adamWAVX2
	}
}

func softmaxScaledAVX2(x []float32, scale float32) (float32, float32) {
	n := len(x)
	mx := maxAVX2(x)
	vm := archsimd.BroadcastFloat32x8(mx)
	var s0, s1 archsimd.Float32x8
	i := 0
	for ; i+16 <= n; i += 16 {
		e0 := exp8(archsimd.LoadFloat32x8Slice(x[i:]).Sub(vm))
		e1 := exp8(archsimd.LoadFloat32x8Slice(x[i+8:]).Sub(vm))
		e0.StoreSlice(x[i:])
		e1.StoreSlice(x[i+8:])
		s0, s1 = s0.Add(e0), s1.Add(e1)
	}
	sum := float64(hsum8(s0.Add(s1)))
	for ; i < n; i++ {
		x[i] = expf(x[i] - mx)
		sum += float64(x[i])
	}
	f := float32(float64(scale) / sum)
	vf := archsimd.BroadcastFloat32x8(f)
	i = 0
	for ; i+8 <= n; i += 8 {
		archsimd.LoadFloat32x8Slice(x[i:]).Mul(vf).StoreSlice(x[i:])
	}
	for ; i < n; i++ {
		x[i] *= f
	}
	return mx, float32(math.Log(sum))
}

func siluMulBackAVX2(dg, du, g, u, d []float32) {
	n := len(d)
	one := archsimd.BroadcastFloat32x8(1)
	var zero archsimd.Float32x8
	i := 0
	for ; i+8 <= n; i += 8 {
		gv := archsimd.LoadFloat32x8Slice(g[i:])
		dv := archsimd.LoadFloat32x8Slice(d[i:])
		s := one.Div(one.Add(exp8(zero.Sub(gv))))
		dv.Mul(gv).Mul(s).StoreSlice(du[i:])
		t := gv.MulAdd(one.Sub(s), one) // 1 + g·(1−s)
		dv.Mul(archsimd.LoadFloat32x8Slice(u[i:])).Mul(s).Mul(t).StoreSlice(dg[i:])
	}
	siluMulBackGeneric(dg[i:], du[i:], g[i:], u[i:], d[i:])
}

func adamWAVX2(w, g, m, v []float32, decay, b1, b2, step, bc2, eps float32) {
	n := len(w)
	vdec, vb1, vb2 := archsimd.BroadcastFloat32x8(decay), archsimd.BroadcastFloat32x8(b1), archsimd.BroadcastFloat32x8(b2)
	vc1, vc2 := archsimd.BroadcastFloat32x8(1-b1), archsimd.BroadcastFloat32x8(1-b2)
	vstep, vbc2, veps := archsimd.BroadcastFloat32x8(step), archsimd.BroadcastFloat32x8(bc2), archsimd.BroadcastFloat32x8(eps)
	i := 0
	for ; i+8 <= n; i += 8 {
		gi := archsimd.LoadFloat32x8Slice(g[i:])
		wi := archsimd.LoadFloat32x8Slice(w[i:]).Mul(vdec)
		mi := vb1.Mul(archsimd.LoadFloat32x8Slice(m[i:])).Add(vc1.Mul(gi))
		vi := vb2.Mul(archsimd.LoadFloat32x8Slice(v[i:])).Add(vc2.Mul(gi).Mul(gi))
		mi.StoreSlice(m[i:])
		vi.StoreSlice(v[i:])
		den := vi.Sqrt().Div(vbc2).Add(veps)
		wi.Sub(vstep.Mul(mi).Div(den)).StoreSlice(w[i:])
	}
	adamWGeneric(w[i:], g[i:], m[i:], v[i:], decay, b1, b2, step, bc2, eps)
}
