package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestSoftmaxScaled(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{1, 7, 8, 17, 100, 32000} {
		x := randSlice(r, n)
		for i := range x {
			x[i] *= 20
		}
		x0 := append([]float32(nil), x...)
		gen := append([]float32(nil), x...)
		mx, ls := SoftmaxScaled(x, 0.5)
		gmx, gls := softmaxScaledGeneric(gen, 0.5)
		var want float64
		wmx := x0[0]
		for _, v := range x0 {
			wmx = max(wmx, v)
		}
		for _, v := range x0 {
			want += math.Exp(float64(v - wmx))
		}
		if mx != wmx || gmx != wmx {
			t.Fatalf("n=%d: max %v (plain Go %v), want %v", n, mx, gmx, wmx)
		}
		if math.Abs(float64(ls)-math.Log(want)) > 1e-5 || math.Abs(float64(gls)-math.Log(want)) > 1e-6 {
			t.Fatalf("n=%d: logSum %v (plain Go %v), want %v", n, ls, gls, math.Log(want))
		}
		for i, v := range x0 {
			p := 0.5 * math.Exp(float64(v-wmx)) / want
			if math.Abs(float64(x[i])-p) > 1e-6*p+1e-12 || math.Abs(float64(gen[i])-p) > 1e-6*p+1e-12 {
				t.Fatalf("n=%d: x[%d] = %v (plain Go %v), want %v", n, i, x[i], gen[i], p)
			}
		}
	}
}

func TestSiLUMulBack(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	const n = 103
	g, u, d := randSlice(r, n), randSlice(r, n), randSlice(r, n)
	for i := range g {
		g[i] *= 12
	}
	dg, du := make([]float32, n), make([]float32, n)
	SiLUMulBack(dg, du, g, u, d)
	for i := range g {
		gv, uv, dv := float64(g[i]), float64(u[i]), float64(d[i])
		s := 1 / (1 + math.Exp(-gv))
		wdu, wdg := dv*gv*s, dv*uv*s*(1+gv*(1-s))
		if math.Abs(float64(du[i])-wdu) > 1e-5*(1+math.Abs(wdu)) || math.Abs(float64(dg[i])-wdg) > 1e-5*(1+math.Abs(wdg)) {
			t.Fatalf("g=%v u=%v d=%v: dg, du = %v, %v, want %v, %v", gv, uv, dv, dg[i], du[i], wdg, wdu)
		}
	}
}

// TestAdamW checks the SIMD update is bit-identical to the plain-Go one and
// that one step moves w as the formula says.
func TestAdamW(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	const n = 37
	w, g, m, v := randSlice(r, n), randSlice(r, n), randSlice(r, n), randSlice(r, n)
	for i := range v {
		v[i] = v[i] * v[i]
	}
	w2, m2, v2 := append([]float32(nil), w...), append([]float32(nil), m...), append([]float32(nil), v...)
	w0, m0, v0 := append([]float32(nil), w...), append([]float32(nil), m...), append([]float32(nil), v...)
	AdamW(w, g, m, v, 0.99, 0.9, 0.95, 0.01, 0.3, 1e-8)
	adamWGeneric(w2, g, m2, v2, 0.99, 0.9, 0.95, 0.01, 0.3, 1e-8)
	for i := range w {
		if math.Float32bits(w[i]) != math.Float32bits(w2[i]) || m[i] != m2[i] || v[i] != v2[i] {
			t.Fatalf("element %d: SIMD w,m,v %v %v %v, plain Go %v %v %v", i, w[i], m[i], v[i], w2[i], m2[i], v2[i])
		}
		gm := 0.9*float64(m0[i]) + 0.1*float64(g[i])
		gv := 0.95*float64(v0[i]) + 0.05*float64(g[i])*float64(g[i])
		want := float64(w0[i])*0.99 - 0.01*gm/(math.Sqrt(gv)/0.3+1e-8)
		if math.Abs(float64(w[i])-want) > 1e-5 {
			t.Fatalf("element %d: w = %v, want %v", i, w[i], want)
		}
	}
}
