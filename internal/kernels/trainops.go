package kernels

import "math"

// Elementwise kernels of the training step (internal/train): the loss
// softmax over the vocabulary, the SwiGLU backward and the AdamW update.

// SoftmaxScaled overwrites x with scale·softmax(x) and returns max(x) and
// log Σ exp(x − max), so the cross-entropy of target t is
// (max − x_t) + logSum with x_t read before the call.
func SoftmaxScaled(x []float32, scale float32) (mx, logSum float32) {
	if len(x) == 0 {
		return 0, 0
	}
	return softmaxScaled(x, scale)
}

func softmaxScaledGeneric(x []float32, scale float32) (float32, float32) {
	mx := x[0]
	for _, v := range x {
		mx = max(mx, v)
	}
	var sum float64
	for i, v := range x {
		e := float32(math.Exp(float64(v - mx)))
		x[i] = e
		sum += float64(e)
	}
	f := float32(float64(scale) / sum)
	for i := range x {
		x[i] *= f
	}
	return mx, float32(math.Log(sum))
}

// SiLUMulBack is the backward pass of SiLUMul (a = silu(g)·u) for upstream
// gradient d: dg = d·u·s·(1 + g·(1 − s)) and du = d·silu(g), s = sigmoid(g).
func SiLUMulBack(dg, du, g, u, d []float32) {
	n := len(d)
	siluMulBack(dg[:n], du[:n], g[:n], u[:n], d)
}

func siluMulBackGeneric(dg, du, g, u, d []float32) {
	for i, dv := range d {
		s := 1 / (1 + float32(math.Exp(float64(-g[i]))))
		du[i] = dv * g[i] * s
		dg[i] = dv * u[i] * s * (1 + g[i]*(1-s))
	}
}

// AdamW applies one decoupled-weight-decay Adam update in PyTorch's order:
// w ← w·decay; m ← b1·m + (1−b1)·g; v ← b2·v + (1−b2)·g²;
// w ← w − step·m/(√v/bc2 + eps). The SIMD version does the same float32
// operations in the same order, so results are identical.
func AdamW(w, g, m, v []float32, decay, b1, b2, step, bc2, eps float32) {
	n := len(w)
	adamW(w, g[:n], m[:n], v[:n], decay, b1, b2, step, bc2, eps)
}

func adamWGeneric(w, g, m, v []float32, decay, b1, b2, step, bc2, eps float32) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	for i, gi := range g {
		wi := w[i] * decay
		m[i] = b1*m[i] + (1-b1)*gi
		v[i] = b2*v[i] + (1-b2)*gi*gi
		den := float32(math.Sqrt(float64(v[i])))/bc2 + eps
		w[i] = wi - step*m[i]/den
	}
}
