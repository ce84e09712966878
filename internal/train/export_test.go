package train

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bayling-go/bayling/internal/checkpoint"
	"github.com/bayling-go/bayling/internal/gguf"
	"github.com/bayling-go/bayling/internal/kernels"
	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/safetensors"
	"github.com/bayling-go/bayling/internal/tensor"
	"github.com/bayling-go/bayling/internal/testenv"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

func greedy(t *testing.T, c llama.Config, w *llama.Weights, prompt []int, n int) []int {
	t.Helper()
	m, err := llama.New(c, w)
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewState(0)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := s.Forward(prompt)
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for range n {
		id := 0
		for i, v := range logits {
			if v > logits[id] {
				id = i
			}
		}
		out = append(out, id)
		if logits, err = s.Forward([]int{id}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestExportGGUFLoads exports perturbed stories260K weights with the
// tokenizer of llama.cpp's conversion, loads the file through
// checkpoint.Load and requires identical weights and greedy output.
func TestExportGGUFLoads(t *testing.T) {
	shared := testenv.Shared(t)
	src, err := checkpoint.Load(filepath.Join(shared, "fixtures", "stories260K", "stories260K.bin"), checkpoint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	p, err := FromWeights(src.Config, src.Weights)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRNG(4)
	for _, ts := range p.List {
		for i := range ts.W {
			ts.W[i] += 0.01 * r.Uniform()
		}
	}
	f, err := gguf.Open(filepath.Join(shared, "fixtures", "gguf", "stories260K.llamacpp-c392e50.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	kvs := TokenizerKVs(f)
	f.Close()
	out := filepath.Join(t.TempDir(), "m.gguf")
	if err := ExportGGUF(out, "test", p, kvs); err != nil {
		t.Fatal(err)
	}
	got, err := checkpoint.Load(out, checkpoint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	q, err := FromWeights(got.Config, got.Weights)
	if err != nil {
		t.Fatal(err)
	}
	for i, ts := range p.List {
		if !slices.Equal(ts.W, q.List[i].W) {
			t.Errorf("%s: weights changed through GGUF", ts.Name)
		}
	}
	prompt := got.Tokenizer.Encode("Once upon a time", tokenizerOpts())
	a := greedy(t, p.Cfg, p.Weights(), prompt, 24)
	b := greedy(t, got.Config, got.Weights, prompt, 24)
	if !slices.Equal(a, b) {
		t.Errorf("greedy output differs: trained %v, exported %v", a, b)
	}
}

// TestExportHFLayout checks the HF export: names, the inverse Q/K
// permutation (rotate-half RoPE on HF rows equals adjacent-pair RoPE on
// ours) and config.json.
func TestExportHFLayout(t *testing.T) {
	pool := kernels.NewPool(1)
	defer pool.Close()
	n, _ := tinyNet(t, pool)
	p := n.P
	dir := t.TempDir()
	if err := ExportHF(dir, p); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	read := func(name string) []float32 {
		tt, err := f.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		v := make([]float32, tt.NumElements())
		if err := tensor.Dequantize(v, tt.Data, tt.Type); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if len(f.Names()) != len(p.List) {
		t.Fatalf("%d tensors, want %d", len(f.Names()), len(p.List))
	}
	c := &p.Cfg
	hs := c.HeadSize()
	hfq := read("model.layers.1.self_attn.q_proj.weight")
	if !slices.Equal(permuteRows(hfq, c.NumAttentionHeads, hs, c.HiddenSize), p.Layers[1].Wq.W) {
		t.Fatal("q_proj does not permute back to attn_q")
	}
	hfk := read("model.layers.0.self_attn.k_proj.weight")
	if !slices.Equal(read("model.layers.0.mlp.down_proj.weight"), p.Layers[0].Down.W) {
		t.Fatal("down_proj changed")
	}
	// Project one input with both layouts, rotate each in its convention:
	// the rotated vectors must be the same up to the row permutation.
	x := make([]float32, c.HiddenSize)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	ours := make([]float32, c.KVDim())
	hf := make([]float32, c.KVDim())
	kernels.MatMul(ours, llama.F32Mat(c.KVDim(), c.HiddenSize, p.Layers[0].Wk.W), x, 1)
	kernels.MatMul(hf, llama.F32Mat(c.KVDim(), c.HiddenSize, hfk), x, 1)
	cs := make([]float32, hs)
	kernels.RoPETable(cs, 5, kernels.RoPEFreqs(hs, c.Theta()))
	kernels.RoPE(ours, hs, cs)
	kernels.RoPEHalf(hf, hs, cs)
	back := permuteRows(hf, c.KVHeads(), hs, 1)
	for i := range ours {
		if math.Abs(float64(ours[i]-back[i])) > 1e-5 {
			t.Fatalf("k after RoPE differs at %d: %v vs %v", i, ours[i], back[i])
		}
	}
	cfg, err := llama.ParseConfig(mustRead(t, filepath.Join(dir, "config.json")))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.KVHeads() != 2 || cfg.Theta() != 500000 || cfg.TieWordEmbeddings || cfg.VocabSize != 64 {
		t.Errorf("config.json round trip: %+v", cfg)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tokenizerOpts() tokenizer.EncodeOptions { return tokenizer.EncodeOptions{AddBOS: true} }
