package kernels

import (
	"fmt"
	"math"
)

// Dot returns a·b over len(a) elements.
func Dot(a, b []float32) float32 { return active.dot(a, b[:len(a)]) }

// Axpy does y += a*x over len(y) elements.
func Axpy(y []float32, a float32, x []float32) { active.axpy(y, a, x[:len(y)]) }

func dotGeneric(a, b []float32) float32 {
	var s float32
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

func axpyGeneric(y []float32, a float32, x []float32) {
	for i := range y {
		y[i] += a * x[i]
	}
}

// RMSNorm writes dst[i] = x[i] / sqrt(mean(x²)+eps) * w[i]. dst may alias x.
func RMSNorm(dst, x, w []float32, eps float32) { active.rmsNorm(dst, x, w, eps) }

// Softmax replaces x with exp(x-max)/Σexp(x-max).
func Softmax(x []float32) { active.softmax(x) }

// SiLUMul does gate[i] = silu(gate[i]) * up[i], silu(g) = g/(1+e^-g): the
// SwiGLU feed-forward's elementwise step.
func SiLUMul(gate, up []float32) { active.siluMul(gate, up) }

func rmsNormGeneric(dst, x, w []float32, eps float32) {
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	scale := float32(1 / math.Sqrt(ss/float64(len(x))+float64(eps)))
	for i, v := range x {
		dst[i] = v * scale * w[i]
	}
}

func softmaxGeneric(x []float32) {
	if len(x) == 0 {
		return
	}
	softmaxScaledGeneric(x, 1)
}

func siluMulGeneric(gate, up []float32) {
	up = up[:len(gate)]
	for i, g := range gate {
		gate[i] = g / (1 + float32(math.Exp(float64(-g)))) * up[i]
	}
}

// RoPEFreqs returns the rotary inverse frequencies theta^(-2i/dims), i < dims/2.
// Models with frequency factors (Llama 3's rope_freqs) divide these by them.
func RoPEFreqs(dims int, theta float64) []float32 {
	f := make([]float32, dims/2)
	for i := range f {
		f[i] = float32(math.Pow(theta, -2*float64(i)/float64(dims)))
	}
	return f
}

// RoPETable fills cs with (cos, sin) pairs of pos*freqs[i], the rotation for
// one position; compute it once per position and apply it to every Q and K
// head with RoPE.
func RoPETable(cs []float32, pos int, freqs []float32) {
	for i, f := range freqs {
		s, c := math.Sincos(float64(pos) * float64(f))
		cs[2*i], cs[2*i+1] = float32(c), float32(s)
	}
}

// RoPE rotates adjacent pairs (x[2i], x[2i+1]) of every head in x (heads of
// headDim elements, back to back) by the angles in cs (from RoPETable). This
// is the GGUF / llama2.c convention; only the first len(cs) elements of each
// head rotate (partial rotary dims).
func RoPE(x []float32, headDim int, cs []float32) {
	for h := 0; h+headDim <= len(x); h += headDim {
		v := x[h : h+len(cs)]
		for i := 0; i+1 < len(cs); i += 2 {
			c, s := cs[i], cs[i+1]
			a, b := v[i], v[i+1]
			v[i] = a*c - b*s
			v[i+1] = a*s + b*c
		}
	}
}

// RoPEHalf is RoPE in the rotate-half (GPT-NeoX / HF) convention: pairs are
// (x[i], x[i+n/2]) with n = len(cs) rotary dims.
func RoPEHalf(x []float32, headDim int, cs []float32) {
	half := len(cs) / 2
	for h := 0; h+headDim <= len(x); h += headDim {
		v := x[h:]
		for i := 0; i < half; i++ {
			c, s := cs[2*i], cs[2*i+1]
			a, b := v[i], v[i+half]
			v[i] = a*c - b*s
			v[i+half] = a*s + b*c
		}
	}
}

// KV is one layer's key or value cache: rows of KVHeads*HeadDim elements, one
// row per position, in F32 or F16 (exactly one of the slices is set).
type KV struct {
	F32 []float32
	F16 []uint16
}

// AttnShape describes multi-head attention with grouped-query KV sharing:
// query head h reads KV head h/(Heads/KVHeads).
type AttnShape struct{ Heads, KVHeads, HeadDim int }

func (s AttnShape) check(out, q []float32, k, v KV, nPos int, scores []float32) {
	if s.Heads <= 0 || s.KVHeads <= 0 || s.HeadDim <= 0 || s.Heads%s.KVHeads != 0 {
		panic(fmt.Sprintf("kernels: bad attention shape %+v", s))
	}
	need := nPos * s.KVHeads * s.HeadDim
	if kvLen(k) < need || kvLen(v) < need {
		panic(fmt.Sprintf("kernels: KV cache shorter than %d positions", nPos))
	}
	if len(q) < s.Heads*s.HeadDim || len(out) < s.Heads*s.HeadDim || len(scores) < s.Heads*nPos {
		panic("kernels: attention buffers too small")
	}
}

func kvLen(c KV) int {
	if c.F16 != nil {
		return len(c.F16)
	}
	return len(c.F32)
}

// Attention computes, for one query position, out_h = softmax(q_h·K_h/√d)·V_h
// over the first nPos cache positions, for every head. scores is scratch of at
// least Heads*nPos floats. Causal masking is the caller's choice of nPos.
func Attention(out, q []float32, k, v KV, nPos int, s AttnShape, scores []float32) {
	s.check(out, q, k, v, nPos, scores)
	attnKVHeads(out, q, k, v, nPos, s, scores, 0, s.KVHeads)
}

// attnKVHeads computes the query heads sharing KV heads [g0,g1). Positions
// are the outer loop so each thread reads its slice of every cache row
// front to back (prefetch-friendly), and each K/V head row is loaded once for
// all query heads of its group: with GQA that divides cache traffic by the
// group size.
func attnKVHeads(out, q []float32, k, v KV, nPos int, s AttnShape, scores []float32, g0, g1 int) {
	d := s.HeadDim
	stride := s.KVHeads * d
	group := s.Heads / s.KVHeads
	scale := float32(1 / math.Sqrt(float64(d)))
	if d == 128 && active.attnGroup128 != nil {
		for g := g0; g < g1; g++ {
			active.attnGroup128(out, q, scores, k, v, g*group, group, g*d, stride, nPos, scale)
		}
		return
	}
	for t := 0; t < nPos; t++ {
		for g := g0; g < g1; g++ {
			o := t*stride + g*d
			for h := g * group; h < (g+1)*group; h++ {
				qh := q[h*d : (h+1)*d]
				var x float32
				if k.F16 != nil {
					x = active.dotF16(qh, k.F16[o:o+d])
				} else {
					x = active.dot(qh, k.F32[o:o+d])
				}
				scores[h*nPos+t] = x * scale
			}
		}
	}
	for h := g0 * group; h < g1*group; h++ {
		active.softmax(scores[h*nPos : (h+1)*nPos])
		clear(out[h*d : (h+1)*d])
	}
	for t := 0; t < nPos; t++ {
		for g := g0; g < g1; g++ {
			o := t*stride + g*d
			for h := g * group; h < (g+1)*group; h++ {
				oh := out[h*d : (h+1)*d]
				if v.F16 != nil {
					active.axpyF16(oh, scores[h*nPos+t], v.F16[o:o+d])
				} else {
					active.axpy(oh, scores[h*nPos+t], v.F32[o:o+d])
				}
			}
		}
	}
}

func dotF16sGeneric(a []float32, b []uint16) float32 {
	var s float32
	for i, v := range a {
		s += v * F16ToF32(b[i])
	}
	return s
}

func axpyF16Generic(y []float32, a float32, x []uint16) {
	for i := range y {
		y[i] += a * F16ToF32(x[i])
	}
}
