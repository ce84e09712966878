package train

import "math"

func sqrtf(x float64) float64 { return math.Sqrt(x) }

// SetLoRA makes the net train only lo's adapters (nil: full fine-tuning).
func (n *Net) SetLoRA(lo *LoRA) { n.lora = lo }

// frozen reports whether base weights are frozen (LoRA training).
func (n *Net) frozen() bool { return n.lora != nil }

func (n *Net) adapter(w *Tensor) *Adapter {
	if n.lora == nil {
		return nil
	}
	return n.lora.byBase[w]
}

// linear sets y = x·Wᵀ (+ the LoRA term) for all B·T tokens.
func (n *Net) linear(_ int, w *Tensor, y, x []float32) {
	N := len(x) / w.Cols
	n.g.mulT(y, false, w.W, w.Rows, w.Cols, x, N)
	ad := n.adapter(w)
	if ad == nil {
		return
	}
	r := ad.A.Rows
	ad.xd = grow(&ad.xd, len(x))
	ad.mask = grow(&ad.mask, len(x))
	ad.xa = grow(&ad.xa, N*r)
	if p := n.lora.Cfg.Dropout; p > 0 && !n.eval {
		keep := float32(1 / (1 - p))
		for i, v := range x {
			m := float32(0)
			if n.lora.rng.Float64() >= p {
				m = keep
			}
			ad.mask[i] = m
			ad.xd[i] = v * m
		}
	} else {
		copy(ad.xd, x)
	}
	n.g.mulT(ad.xa, false, ad.A.W, r, w.Cols, ad.xd, N)
	tmp := grow(&n.g.tb, N*w.Rows)
	n.g.mulT(tmp, false, ad.B.W, w.Rows, r, ad.xa, N)
	for i := range tmp {
		y[i] += ad.Scale * tmp[i]
	}
}

// linearBack sets dx = dy·W (+ LoRA) and adds dW (or dA, dB) for y = x·Wᵀ.
func (n *Net) linearBack(l int, w *Tensor, dx, dy, x []float32) {
	n.linearBackTo(w, dx, false, dy, x)
}

// linearBackAcc is linearBack adding into dx.
func (n *Net) linearBackAcc(l int, w *Tensor, dx, dy, x []float32) {
	n.linearBackTo(w, dx, true, dy, x)
}

func (n *Net) linearBackTo(w *Tensor, dx []float32, acc bool, dy, x []float32) {
	N := len(x) / w.Cols
	n.g.backX(dx, acc, w.W, w.Rows, w.Cols, dy, N)
	ad := n.adapter(w)
	if ad == nil {
		if !n.frozen() {
			n.g.backW(w.G, w.Rows, w.Cols, dy, x, N)
		}
		return
	}
	r := ad.A.Rows
	// dB += s·dyᵀ·xa ; g = s·dy·B (N×r) ; dA += gᵀ·xd ; dx += (g·A) ⊙ mask
	sdy := make([]float32, len(dy[:N*w.Rows]))
	for i, v := range dy[:N*w.Rows] {
		sdy[i] = ad.Scale * v
	}
	n.g.backW(ad.B.G, w.Rows, r, sdy, ad.xa, N)
	gx := make([]float32, N*r)
	n.g.backX(gx, false, ad.B.W, w.Rows, r, sdy, N)
	n.g.backW(ad.A.G, r, w.Cols, gx, ad.xd, N)
	dxa := make([]float32, N*w.Cols)
	n.g.backX(dxa, false, ad.A.W, r, w.Cols, gx, N)
	if n.lora.Cfg.Dropout > 0 {
		for i := range dxa {
			dxa[i] *= ad.mask[i]
		}
	}
	addTo(dx[:N*w.Cols], dxa)
}
