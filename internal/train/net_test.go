package train

import (
	"math"
	"testing"

	"github.com/bayling-go/bayling/internal/kernels"
	"github.com/bayling-go/bayling/internal/model/llama"
)

// tinyConfig is a Llama-3-shaped toy: GQA (4 heads over 2 KV heads), untied
// output, rope_theta 500000. tools/torch_train_reference.py uses the same.
func tinyConfig() llama.Config {
	return llama.Config{
		HiddenSize: 32, IntermediateSize: 48, NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 2,
		RMSNormEps: 1e-5, RopeTheta: 500000, VocabSize: 64, MaxPositionEmbeddings: 64,
		BOSTokenID: 1, EOSTokenID: llama.TokenIDs{2},
	}
}

// tinyBatch packs two sequences into row 0 (10 + 6 tokens) and one into
// row 1, with the first 3 targets of each sequence masked as a prompt.
func tinyBatch(seed uint64, vocab int) *Batch {
	b := NewBatch(2, 16)
	r := NewRNG(seed)
	lens := [][]int{{10, 6}, {16}}
	i := 0
	for _, row := range lens {
		for _, L := range row {
			for t := 0; t < L; t++ {
				b.Tokens[i+t] = r.Intn(vocab)
				b.Pos[i+t] = t
			}
			for t := 0; t < L; t++ {
				b.Targets[i+t] = -1
				if t >= 2 && t+1 < L {
					b.Targets[i+t] = b.Tokens[i+t+1]
				}
			}
			i += L
		}
	}
	return b
}

func tinyNet(t testing.TB, pool *kernels.Pool) (*Net, *Batch) {
	t.Helper()
	p, err := NewParams(tinyConfig())
	if err != nil {
		t.Fatal(err)
	}
	p.InitRandom(1, 0.2)
	n, err := NewNet(p, 2, 16, pool)
	if err != nil {
		t.Fatal(err)
	}
	return n, tinyBatch(2, 64)
}

func meanLoss(t testing.TB, n *Net, b *Batch) float64 {
	s, c, err := n.Loss(b)
	if err != nil {
		t.Fatal(err)
	}
	return s / float64(c)
}

// TestGradFiniteDiff compares every parameter tensor's analytic gradient
// with central differences of the float32 loss at random elements; the
// tensors cover each op (embedding, RMSNorm, RoPE+GQA attention, SwiGLU,
// output projection, cross-entropy with masking and packing).
func TestGradFiniteDiff(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	n, b := tinyNet(t, pool)
	n.P.ZeroGrad()
	_, cnt, err := n.Step(b, 1/float32(b.LossTokens()))
	if err != nil {
		t.Fatal(err)
	}
	if cnt != b.LossTokens() {
		t.Fatalf("loss tokens %d, want %d", cnt, b.LossTokens())
	}
	checkFD(t, n, b, n.P.List)
}

func checkFD(t *testing.T, n *Net, b *Batch, ts []*Tensor) {
	r := NewRNG(7)
	const h = 1e-2
	for _, ts := range ts {
		var num, den float64
		for k := 0; k < 12; k++ {
			i := r.Intn(len(ts.W))
			if ts == n.P.Embd {
				i = b.Tokens[r.Intn(len(b.Tokens))]*ts.Cols + r.Intn(ts.Cols)
			}
			w := ts.W[i]
			ts.W[i] = w + h
			lp := meanLoss(t, n, b)
			ts.W[i] = w - h
			lm := meanLoss(t, n, b)
			ts.W[i] = w
			fd := (lp - lm) / (2 * h)
			g := float64(ts.G[i])
			num += (fd - g) * (fd - g)
			den += fd * fd
		}
		rel := math.Sqrt(num / max(den, 1e-12))
		t.Logf("%-24s rel err %.2e (|fd| %.2e)", ts.Name, rel, math.Sqrt(den))
		if rel > 2e-2 || math.IsNaN(rel) {
			t.Errorf("%s: gradient differs from finite differences: rel err %.3g", ts.Name, rel)
		}
	}
}

// TestLoRAGradFiniteDiff checks the adapters' A and B gradients (B is made
// non-zero first so A's gradient is too).
func TestLoRAGradFiniteDiff(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	n, b := tinyNet(t, pool)
	lo, err := NewLoRA(n.P, LoRAConfig{Rank: 4, Alpha: 8, Targets: []string{"q_proj", "v_proj", "down_proj"}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRNG(5)
	for _, a := range lo.Adapters {
		for i := range a.B.W {
			a.B.W[i] = 0.1 * r.Uniform()
		}
	}
	n.SetLoRA(lo)
	if _, _, err := n.Step(b, 1/float32(b.LossTokens())); err != nil {
		t.Fatal(err)
	}
	for _, pt := range n.P.List {
		for _, g := range pt.G {
			if g != 0 {
				t.Fatalf("%s: base weight got a gradient under LoRA", pt.Name)
			}
		}
	}
	checkFD(t, n, b, lo.Tensors())
}

// TestStepMatchesInference checks the training forward against the
// inference model's logits (loss from llama.State logits).
func TestStepMatchesInference(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	n, _ := tinyNet(t, pool)
	b := NewBatch(1, 16)
	r := NewRNG(9)
	for i := range b.Tokens {
		b.Tokens[i] = r.Intn(64)
		b.Pos[i] = i
		b.Targets[i] = -1
		if i > 0 {
			b.Targets[i-1] = b.Tokens[i]
		}
	}
	n1, err := NewNet(n.P, 1, 16, pool)
	if err != nil {
		t.Fatal(err)
	}
	got := meanLoss(t, n1, b)
	m, err := llama.New(n.P.Cfg, n.P.Weights())
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewState(16)
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	for i := 0; i < 15; i++ {
		logits, err := s.Forward(b.Tokens[i : i+1])
		if err != nil {
			t.Fatal(err)
		}
		want += float64(crossEntropy(append([]float32(nil), logits...), b.Targets[i], 0, false))
	}
	want /= 15
	if math.Abs(got-want) > 1e-5*want {
		t.Fatalf("training loss %.7f, inference loss %.7f", got, want)
	}
}
