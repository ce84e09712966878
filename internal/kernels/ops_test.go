package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*(1+math.Abs(b)) }

func TestDotAxpy(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 21))
	for _, n := range []int{0, 1, 7, 16, 31, 64, 100, 1000} {
		a, b := randVec(rng, n), randVec(rng, n)
		var want float64
		for i := range a {
			want += float64(a[i]) * float64(b[i])
		}
		h := make([]uint16, n)
		for i, v := range b {
			h[i] = F32ToF16(v)
		}
		var wantH float64
		for i := range a {
			wantH += float64(a[i]) * float64(F16ToF32(h[i]))
		}
		for _, ks := range sets() {
			if got := ks.dot(a, b); !near(float64(got), want, 1e-5*float64(n+1)) {
				t.Errorf("%s dot n=%d: %g want %g", ks.name, n, got, want)
			}
			if got := ks.dotF16(a, h); !near(float64(got), wantH, 1e-5*float64(n+1)) {
				t.Errorf("%s dotF16 n=%d: %g want %g", ks.name, n, got, wantH)
			}
			y := append([]float32(nil), a...)
			ks.axpy(y, 0.5, b)
			yh := append([]float32(nil), a...)
			ks.axpyF16(yh, 0.5, h)
			for i := range y {
				if !near(float64(y[i]), float64(a[i])+0.5*float64(b[i]), 1e-6) {
					t.Fatalf("%s axpy n=%d [%d]: %g", ks.name, n, i, y[i])
				}
				if !near(float64(yh[i]), float64(a[i])+0.5*float64(F16ToF32(h[i])), 1e-6) {
					t.Fatalf("%s axpyF16 n=%d [%d]: %g", ks.name, n, i, yh[i])
				}
			}
		}
	}
}

func TestRMSNorm(t *testing.T) {
	x := []float32{1, -2, 3, -4}
	w := []float32{1, 1, 0.5, 2}
	dst := make([]float32, 4)
	RMSNorm(dst, x, w, 1e-5)
	rms := math.Sqrt((1+4+9+16)/4.0 + 1e-5)
	for i := range x {
		if want := float64(x[i]) / rms * float64(w[i]); !near(float64(dst[i]), want, 1e-6) {
			t.Errorf("[%d]=%g want %g", i, dst[i], want)
		}
	}
	RMSNorm(x, x, w, 1e-5) // in place
	for i := range x {
		if x[i] != dst[i] {
			t.Errorf("in place [%d]=%g want %g", i, x[i], dst[i])
		}
	}
}

func TestSoftmax(t *testing.T) {
	x := []float32{1, 2, 3, 1000, -1000}
	Softmax(x)
	if !near(float64(x[3]), 1, 1e-6) || x[4] != 0 || x[0] != 0 {
		t.Errorf("large logits: %v", x)
	}
	y := []float32{0, float32(math.Log(3)), 0}
	Softmax(y)
	for i, want := range []float64{0.2, 0.6, 0.2} {
		if !near(float64(y[i]), want, 1e-6) {
			t.Errorf("[%d]=%g want %g", i, y[i], want)
		}
	}
	Softmax(nil)
}

func TestSiLUMul(t *testing.T) {
	g := []float32{0, 1, -1, 10, -10}
	u := []float32{5, 2, 2, 1, 3}
	SiLUMul(g, u)
	for i, x := range []float64{0, 1, -1, 10, -10} {
		want := x / (1 + math.Exp(-x)) * []float64{5, 2, 2, 1, 3}[i]
		if !near(float64(g[i]), want, 1e-6) {
			t.Errorf("[%d]=%g want %g", i, g[i], want)
		}
	}
}

func TestRoPE(t *testing.T) {
	const headDim, heads, pos = 8, 2, 5
	freqs := RoPEFreqs(headDim, 10000)
	if !near(float64(freqs[1]), math.Pow(10000, -2.0/8), 1e-7) {
		t.Fatalf("freqs %v", freqs)
	}
	cs := make([]float32, headDim)
	RoPETable(cs, pos, freqs)
	x := make([]float32, heads*headDim)
	for i := range x {
		x[i] = float32(i + 1)
	}
	orig := append([]float32(nil), x...)
	RoPE(x, headDim, cs)
	for h := 0; h < heads; h++ {
		for i := 0; i < headDim/2; i++ {
			// (a + ib) * e^{iθ} with θ = pos·freq_i on adjacent pairs.
			a, b := float64(orig[h*headDim+2*i]), float64(orig[h*headDim+2*i+1])
			th := pos * float64(freqs[i])
			re, im := a*math.Cos(th)-b*math.Sin(th), a*math.Sin(th)+b*math.Cos(th)
			if !near(float64(x[h*headDim+2*i]), re, 1e-5) || !near(float64(x[h*headDim+2*i+1]), im, 1e-5) {
				t.Fatalf("head %d pair %d: (%g,%g) want (%g,%g)", h, i, x[h*headDim+2*i], x[h*headDim+2*i+1], re, im)
			}
		}
	}
	y := append([]float32(nil), orig...)
	RoPEHalf(y, headDim, cs)
	for i := 0; i < headDim/2; i++ {
		a, b := float64(orig[i]), float64(orig[i+headDim/2])
		th := pos * float64(freqs[i])
		if !near(float64(y[i]), a*math.Cos(th)-b*math.Sin(th), 1e-5) || !near(float64(y[i+headDim/2]), a*math.Sin(th)+b*math.Cos(th), 1e-5) {
			t.Fatalf("half pair %d: (%g,%g)", i, y[i], y[i+headDim/2])
		}
	}
	RoPETable(cs, 0, freqs)
	z := append([]float32(nil), orig...)
	RoPE(z, headDim, cs)
	for i := range z {
		if z[i] != orig[i] {
			t.Fatalf("pos 0 must be identity: %v", z)
		}
	}
}

// refAttention is the textbook float64 computation.
func refAttention(q, k, v []float32, nPos int, s AttnShape) []float64 {
	d := s.HeadDim
	out := make([]float64, s.Heads*d)
	for h := 0; h < s.Heads; h++ {
		kh := h / (s.Heads / s.KVHeads)
		sc := make([]float64, nPos)
		mx := math.Inf(-1)
		for t := 0; t < nPos; t++ {
			for i := 0; i < d; i++ {
				sc[t] += float64(q[h*d+i]) * float64(k[(t*s.KVHeads+kh)*d+i])
			}
			sc[t] /= math.Sqrt(float64(d))
			mx = max(mx, sc[t])
		}
		var sum float64
		for t := range sc {
			sc[t] = math.Exp(sc[t] - mx)
			sum += sc[t]
		}
		for t := range sc {
			for i := 0; i < d; i++ {
				out[h*d+i] += sc[t] / sum * float64(v[(t*s.KVHeads+kh)*d+i])
			}
		}
	}
	return out
}

func TestAttention(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 23))
	s := AttnShape{Heads: 6, KVHeads: 2, HeadDim: 40}
	const nPos = 13
	q := randVec(rng, s.Heads*s.HeadDim)
	k := randVec(rng, nPos*s.KVHeads*s.HeadDim)
	v := randVec(rng, nPos*s.KVHeads*s.HeadDim)
	// Round K and V through f16 so both cache types share one reference.
	kh, vh := make([]uint16, len(k)), make([]uint16, len(v))
	for i := range k {
		kh[i], vh[i] = F32ToF16(k[i]), F32ToF16(v[i])
		k[i], v[i] = F16ToF32(kh[i]), F16ToF32(vh[i])
	}
	want := refAttention(q, k, v, nPos, s)
	p := NewPool(2)
	defer p.Close()
	for _, c := range []struct {
		name string
		k, v KV
	}{{"f32", KV{F32: k}, KV{F32: v}}, {"f16", KV{F16: kh}, KV{F16: vh}}} {
		out := make([]float32, len(q))
		scores := make([]float32, s.Heads*nPos)
		Attention(out, q, c.k, c.v, nPos, s, scores)
		pout := make([]float32, len(q))
		p.Attention(pout, q, c.k, c.v, nPos, s, scores)
		for i := range out {
			if !near(float64(out[i]), want[i], 1e-5) {
				t.Fatalf("%s out[%d]=%g want %g", c.name, i, out[i], want[i])
			}
			if pout[i] != out[i] {
				t.Fatalf("%s pool out[%d]=%g single %g", c.name, i, pout[i], out[i])
			}
		}
	}
}

// TestElementwiseSets runs every kernel set's RMSNorm, Softmax and SiLUMul on
// sizes with SIMD tails against float64 references, including logits far
// apart (exp underflow) and gates of large magnitude.
func TestElementwiseSets(t *testing.T) {
	rng := rand.New(rand.NewPCG(30, 31))
	for _, n := range []int{1, 5, 8, 17, 100, 4099} {
		x := randVec(rng, n)
		for i := range x {
			x[i] *= 30 // gates/logits up to ~±100
		}
		x[0] = -2000
		w := randVec(rng, n)
		for _, ks := range sets() {
			// SiLUMul
			g := append([]float32(nil), x...)
			up := append([]float32(nil), w...)
			ks.siluMul(g, up)
			for i := range g {
				xv := float64(x[i])
				want := xv / (1 + math.Exp(-xv)) * float64(w[i])
				if !near(float64(g[i]), want, 1e-5) {
					t.Fatalf("%s siluMul n=%d [%d] x=%g: %g want %g", ks.name, n, i, x[i], g[i], want)
				}
			}
			// Softmax
			p := append([]float32(nil), x...)
			ks.softmax(p)
			mx := math.Inf(-1)
			for _, v := range x {
				mx = max(mx, float64(v))
			}
			var sum float64
			for _, v := range x {
				sum += math.Exp(float64(v) - mx)
			}
			for i := range p {
				want := math.Exp(float64(x[i])-mx) / sum
				if math.Abs(float64(p[i])-want) > 2e-5*want+1e-30 { // float32 x-max costs ~ulp(100)
					t.Fatalf("%s softmax n=%d [%d]: %g want %g", ks.name, n, i, p[i], want)
				}
			}
			// RMSNorm
			d := make([]float32, n)
			ks.rmsNorm(d, x, w, 1e-6)
			var ss float64
			for _, v := range x {
				ss += float64(v) * float64(v)
			}
			r := 1 / math.Sqrt(ss/float64(n)+1e-6)
			for i := range d {
				if want := float64(x[i]) * r * float64(w[i]); !near(float64(d[i]), want, 1e-5) {
					t.Fatalf("%s rmsNorm n=%d [%d]: %g want %g", ks.name, n, i, d[i], want)
				}
			}
		}
	}
}

// TestAttentionSets runs Attention under every kernel set (swapping the active
// one) at head size 128, which the AVX-512 set handles with whole-head
// kernels, and at 64, against the float64 reference.
func TestAttentionSets(t *testing.T) {
	defer func(a kernelSet) { active = a }(active)
	rng := rand.New(rand.NewPCG(70, 71))
	for _, s := range []AttnShape{{Heads: 8, KVHeads: 2, HeadDim: 128}, {Heads: 4, KVHeads: 4, HeadDim: 128}, {Heads: 4, KVHeads: 1, HeadDim: 64}} {
		for _, nPos := range []int{0, 1, 7, 33, 130} { // 130: two full 64-position tiles and a tail
			q := randVec(rng, s.Heads*s.HeadDim)
			k := randVec(rng, nPos*s.KVHeads*s.HeadDim)
			v := randVec(rng, nPos*s.KVHeads*s.HeadDim)
			kh, vh := make([]uint16, len(k)), make([]uint16, len(v))
			for i := range k {
				kh[i], vh[i] = F32ToF16(k[i]), F32ToF16(v[i])
				k[i], v[i] = F16ToF32(kh[i]), F16ToF32(vh[i])
			}
			want := refAttention(q, k, v, nPos, s)
			for _, ks := range sets() {
				active = ks
				for _, c := range []struct {
					name string
					k, v KV
				}{{"f32", KV{F32: k}, KV{F32: v}}, {"f16", KV{F16: kh}, KV{F16: vh}}} {
					out := make([]float32, len(q))
					Attention(out, q, c.k, c.v, nPos, s, make([]float32, s.Heads*nPos))
					for i := range out {
						if !near(float64(out[i]), want[i], 2e-5) {
							t.Fatalf("%s %s %+v nPos=%d: out[%d]=%g want %g", ks.name, c.name, s, nPos, i, out[i], want[i])
						}
					}
				}
			}
		}
	}
}
