package train

import (
	"math"

	"github.com/bayling-go/bayling/internal/kernels"
)

// AdamW is decoupled weight decay Adam, with PyTorch's update order:
// w ← w·(1 − lr·wd); m, v updated; w ← w − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε).
type AdamW struct {
	Beta1, Beta2, Eps, WeightDecay float64
	Step                           int // updates done
	M, V                           [][]float32
}

// NewAdamW makes the optimizer state for ts.
func NewAdamW(ts []*Tensor, beta1, beta2, eps, wd float64) *AdamW {
	o := &AdamW{Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: wd}
	for _, t := range ts {
		o.M = append(o.M, make([]float32, len(t.W)))
		o.V = append(o.V, make([]float32, len(t.W)))
	}
	return o
}

// Update applies one step with learning rate lr to ts (same order as at
// construction). Decay applies only to tensors with Decay set.
func (o *AdamW) Update(ts []*Tensor, lr float64) {
	o.Step++
	bc1 := 1 - math.Pow(o.Beta1, float64(o.Step))
	bc2 := math.Sqrt(1 - math.Pow(o.Beta2, float64(o.Step)))
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	step := float32(lr / bc1)
	for k, t := range ts {
		decay := float32(1)
		if t.Decay {
			decay = float32(1 - lr*o.WeightDecay)
		}
		kernels.AdamW(t.W, t.G, o.M[k], o.V[k], decay, b1, b2, step, float32(bc2), float32(o.Eps))
	}
}

// ClipGrad scales all gradients so their global L2 norm is at most maxNorm
// (PyTorch clip_grad_norm_: coefficient maxNorm/(norm+1e-6), capped at 1)
// and returns the norm before clipping. maxNorm <= 0 only measures.
func ClipGrad(ts []*Tensor, maxNorm float64) float64 {
	var ss float64
	for _, t := range ts {
		var s float64
		for _, g := range t.G {
			s += float64(g) * float64(g)
		}
		ss += s
	}
	norm := math.Sqrt(ss)
	if maxNorm > 0 {
		if c := maxNorm / (norm + 1e-6); c < 1 {
			for _, t := range ts {
				for i := range t.G {
					t.G[i] *= float32(c)
				}
			}
		}
	}
	return norm
}

// Schedule is linear warm-up then cosine decay to MinLR at Total steps.
type Schedule struct {
	LR, MinLR     float64
	Warmup, Total int
}

// At returns the learning rate of optimizer step s (0-based).
func (s Schedule) At(step int) float64 {
	if step < s.Warmup {
		return s.LR * float64(step+1) / float64(s.Warmup)
	}
	span := max(s.Total-s.Warmup, 1)
	p := min(float64(step-s.Warmup)/float64(span), 1)
	return s.MinLR + 0.5*(s.LR-s.MinLR)*(1+math.Cos(math.Pi*p))
}
