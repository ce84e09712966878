package train

import (
	"math"
	"testing"

	"github.com/bayling-go/bayling/internal/kernels"
)

// TestBlockedAttention checks attendUnit and attendBackUnit against plain
// per-query loops in float64 on rows longer than attnBlock, with packed
// sequences that start and end inside blocks and cross block boundaries.
func TestBlockedAttention(t *testing.T) {
	const B, T = 2, 130
	c := tinyConfig()
	c.MaxPositionEmbeddings = T
	p, err := NewParams(c)
	if err != nil {
		t.Fatal(err)
	}
	pool := kernels.NewPool(2)
	defer pool.Close()
	n, err := NewNet(p, B, T, pool)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBatch(B, T)
	i := 0
	for _, row := range [][]int{{20, 60, 1, 49}, {T}} {
		for _, L := range row {
			for t := 0; t < L; t++ {
				b.Pos[i] = t
				i++
			}
		}
	}
	r := NewRNG(9)
	fill := func(s []float32) {
		for i := range s {
			s[i] = float32(r.Float64()*2 - 1)
		}
	}
	a := &n.acts[0]
	fill(a.q)
	fill(a.k)
	fill(a.v)
	fill(n.dao)
	fill(a.att) // stale scores from an earlier step must not leak in
	H, G, hs := c.NumAttentionHeads, c.KVHeads(), c.HeadSize()
	qd, kvd := c.QDim(), c.KVDim()
	for u := 0; u < B*G; u++ {
		n.attendUnit(b, a, u)
		n.attendBackUnit(b, a, u)
	}
	dq, dk, dv := make([]float64, len(n.dq)), make([]float64, len(n.dk)), make([]float64, len(n.dv))
	var worst float64
	check := func(what string, got float32, want float64) {
		t.Helper()
		d := math.Abs(float64(got) - want)
		worst = max(worst, d)
		if d > 1e-4*(1+math.Abs(want)) {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
	}
	for row := 0; row < B; row++ {
		for h := 0; h < H; h++ {
			g := h / (H / G)
			for t := 0; t < T; t++ {
				i := row*T + t
				s0 := t - b.Pos[i]
				q := a.q[i*qd+h*hs:][:hs]
				do := n.dao[i*qd+h*hs:][:hs]
				// forward: softmax of scaled dots over the window
				w := make([]float64, t+1-s0)
				mx := math.Inf(-1)
				for j := range w {
					kj := a.k[(row*T+s0+j)*kvd+g*hs:][:hs]
					for e := range q {
						w[j] += float64(q[e]) * float64(kj[e])
					}
					w[j] *= float64(n.scale)
					mx = max(mx, w[j])
				}
				var sum float64
				for j := range w {
					w[j] = math.Exp(w[j] - mx)
					sum += w[j]
				}
				dP := make([]float64, len(w))
				var dot float64
				for j := range w {
					w[j] /= sum
					vj := a.v[(row*T+s0+j)*kvd+g*hs:][:hs]
					for e := range vj {
						dP[j] += float64(do[e]) * float64(vj[e])
					}
					dot += w[j] * dP[j]
				}
				for e := 0; e < hs; e++ {
					var o float64
					for j := range w {
						o += w[j] * float64(a.v[(row*T+s0+j)*kvd+g*hs+e])
					}
					check("ao", a.ao[i*qd+h*hs+e], o)
				}
				for j := range w {
					ds := w[j] * (dP[j] - dot) * float64(n.scale)
					kv := (row*T+s0+j)*kvd + g*hs
					for e := 0; e < hs; e++ {
						dq[i*qd+h*hs+e] += ds * float64(a.k[kv+e])
						dk[kv+e] += ds * float64(q[e])
						dv[kv+e] += w[j] * float64(do[e])
					}
				}
			}
		}
	}
	for i := range dq {
		check("dq", n.dq[i], dq[i])
	}
	for i := range dk {
		check("dk", n.dk[i], dk[i])
		check("dv", n.dv[i], dv[i])
	}
	t.Logf("worst absolute difference %.2e", worst)
}
