package checkpoint

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/tensor"
)

// Tiny Llama models for the HF path. Their weights come from a seeded
// generator, so the test and tools/torch_llama_reference.py see the same
// model without committing it; testdata/hf_golden.json holds the torch
// logits (see testdata/README.md to regenerate).

type hfCase struct {
	name   string
	cfg    llama.Config
	opt    HFWriteOptions
	seed   uint64
	tokens []int
}

func hfCases() []hfCase {
	return []hfCase{
		{
			// Llama-3 shape: GQA (8 query heads, 2 KV heads), theta 500000,
			// llama3 rope scaling with a band that touches every branch,
			// untied output, BF16 weights in two shards.
			name: "llama3",
			cfg: llama.Config{
				HiddenSize: 64, IntermediateSize: 160, NumHiddenLayers: 2,
				NumAttentionHeads: 8, NumKeyValueHeads: 2, RMSNormEps: 1e-5,
				RopeTheta: 500000, VocabSize: 256, MaxPositionEmbeddings: 1024,
				RopeScaling: &llama.RopeScaling{RopeType: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 256},
				BOSTokenID:  1, EOSTokenID: llama.TokenIDs{2, 3},
			},
			opt:    HFWriteOptions{DType: tensor.BF16, ShardBytes: 100000},
			seed:   3,
			tokens: []int{1, 17, 200, 45, 45, 9, 130, 255},
		},
		{
			// Llama-2 shape: multi-head attention, theta 10000, tied
			// embeddings, F32 weights in one file.
			name: "llama2",
			cfg: llama.Config{
				HiddenSize: 48, IntermediateSize: 128, NumHiddenLayers: 2,
				NumAttentionHeads: 6, RMSNormEps: 1e-5, VocabSize: 320,
				MaxPositionEmbeddings: 64, TieWordEmbeddings: true,
				BOSTokenID: 1, EOSTokenID: llama.TokenIDs{2},
			},
			opt:    HFWriteOptions{DType: tensor.F32},
			seed:   2,
			tokens: []int{1, 300, 5, 77, 319, 2, 64},
		},
	}
}

// splitmix64 is the tiny seeded generator behind the test weights.
type splitmix64 uint64

func (s *splitmix64) next() uint64 {
	*s += 0x9E3779B97F4A7C15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// uniform returns a value in [-1, 1).
func (s *splitmix64) uniform() float32 { return float32(s.next()>>40)/float32(1<<23) - 1 }

// testTensors generates every tensor of c from seed, in forward layout.
func testTensors(c llama.Config, seed uint64) map[string][]float32 {
	out := map[string][]float32{}
	for i, name := range TensorNames(&c) {
		shape, _ := TensorShape(&c, name)
		rng := splitmix64(seed*1000003 + uint64(i))
		v := make([]float32, tensor.NumElements(shape))
		switch {
		case len(shape) == 1: // norms near 1
			for j := range v {
				v[j] = 1 + 0.2*rng.uniform()
			}
		case name == "token_embd.weight":
			for j := range v {
				v[j] = rng.uniform()
			}
		default:
			scale := float32(2 / math.Sqrt(float64(shape[1])))
			for j := range v {
				v[j] = scale * rng.uniform()
			}
		}
		out[name] = v
	}
	return out
}

func writeHFCase(t testing.TB, dir string, hc hfCase) map[string][]float32 {
	t.Helper()
	ts := testTensors(hc.cfg, hc.seed)
	err := SaveHF(dir, hc.cfg, hc.opt, func(name string) ([]float32, error) { return ts[name], nil })
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// TestWriteHFFixtures writes the models for tools/torch_llama_reference.py
// when BAYLING_HF_FIXTURES names a directory.
func TestWriteHFFixtures(t *testing.T) {
	root := os.Getenv("BAYLING_HF_FIXTURES")
	if root == "" {
		t.Skip("set BAYLING_HF_FIXTURES=dir to write the torch reference inputs")
	}
	for _, hc := range hfCases() {
		dir := filepath.Join(root, hc.name)
		writeHFCase(t, dir, hc)
		b, _ := json.Marshal(hc.tokens)
		if err := os.WriteFile(filepath.Join(dir, "tokens.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type hfGolden struct {
	Models map[string]struct {
		Tokens []int       `json:"tokens"`
		Logits [][]float64 `json:"logits"`
	} `json:"models"`
}

func TestHFLogitsMatchTorch(t *testing.T) {
	b, err := os.ReadFile("testdata/hf_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden hfGolden
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	for _, hc := range hfCases() {
		t.Run(hc.name, func(t *testing.T) {
			g, ok := golden.Models[hc.name]
			if !ok || len(g.Logits) != len(hc.tokens) {
				t.Fatalf("golden for %s missing or has %d rows", hc.name, len(g.Logits))
			}
			for i, id := range hc.tokens {
				if g.Tokens[i] != id {
					t.Fatalf("golden tokens %v, test %v: regenerate", g.Tokens, hc.tokens)
				}
			}
			dir := t.TempDir()
			writeHFCase(t, dir, hc)
			cfg, w, err := LoadHF(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.EOSTokenID) != len(hc.cfg.EOSTokenID) || cfg.TieWordEmbeddings != hc.cfg.TieWordEmbeddings {
				t.Fatalf("config round trip: %+v", cfg)
			}
			logits := forwardAll(t, cfg, w, hc.tokens)
			worst := 0.0
			for p := range hc.tokens {
				for j, want := range g.Logits[p] {
					worst = max(worst, math.Abs(float64(logits[p*cfg.VocabSize+j])-want))
				}
			}
			t.Logf("%s: max |logit - torch| = %.3g over %d positions x %d", hc.name, worst, len(hc.tokens), cfg.VocabSize)
			if worst > 1e-4 {
				t.Fatalf("max |logit diff| %.3g > 1e-4", worst)
			}
		})
	}
}

func forwardAll(t testing.TB, cfg llama.Config, w *llama.Weights, tokens []int) []float32 {
	t.Helper()
	m, err := llama.New(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	st, err := m.NewState(len(tokens))
	if err != nil {
		t.Fatal(err)
	}
	logits, err := st.ForwardAll(tokens, nil)
	if err != nil {
		t.Fatal(err)
	}
	return logits
}

func TestPermuteRoundTrip(t *testing.T) {
	const heads, hs, cols = 3, 6, 5
	src := make([]float32, heads*hs*cols)
	for i := range src {
		src[i] = float32(i)
	}
	hf := make([]float32, len(src))
	back := make([]float32, len(src))
	UnpermuteF32(hf, src, heads, hs, cols)
	PermuteF32(back, hf, heads, hs, cols)
	for i := range src {
		if back[i] != src[i] {
			t.Fatalf("round trip differs at %d", i)
		}
	}
	// llama.cpp's permute: ours row 2i+j of a head = HF row j*hs/2+i.
	// Head 1, pair 2, second member: ours row 6+5, HF row 6+3+2.
	if hf[(6+3+2)*cols] != src[(6+5)*cols] {
		t.Fatalf("permutation is not llama.cpp's")
	}
	// Byte version agrees with the float version.
	raw := func(v []float32) []byte {
		b := make([]byte, 4*len(v))
		for i, x := range v {
			u := math.Float32bits(x)
			b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
		}
		return b
	}
	got := make([]byte, 4*len(src))
	PermuteRows(got, raw(hf), heads, hs, 4*cols)
	if string(got) != string(raw(src)) {
		t.Fatalf("PermuteRows disagrees with PermuteF32")
	}
}

func TestHFQuantizeOnLoad(t *testing.T) {
	hc := hfCases()[0]
	hc.cfg.HiddenSize, hc.cfg.IntermediateSize = 64, 96 // multiples of 32
	dir := t.TempDir()
	writeHFCase(t, dir, hc)
	m, err := Load(dir, Options{Quantize: "q8_0", Tokenizer: writeByteTokenizer(t, hc.cfg.VocabSize)})
	if err != nil {
		t.Fatal(err)
	}
	if m.Format != FormatHF || m.Weights.Layers[1].Wk.Type != tensor.Q8_0 || m.Weights.Output.Type != tensor.Q8_0 {
		t.Fatalf("format %s, Wk %s, output %s", m.Format, m.Weights.Layers[1].Wk.Type, m.Weights.Output.Type)
	}
	want := forwardAll(t, hc.cfg, mustWeights(t, dir), hc.tokens)
	got := forwardAll(t, m.Config, m.Weights, hc.tokens)
	worst := 0.0
	for i := range want {
		worst = max(worst, math.Abs(float64(got[i]-want[i])))
	}
	// Q8_0 of these weights moves logits by ~1e-2, not more.
	if worst > 0.1 || worst == 0 {
		t.Fatalf("q8_0 vs bf16 max logit diff %g", worst)
	}
	if !strings.Contains(strings.Join([]string{string(m.Format)}, ""), "hf") {
		t.Fatal("format")
	}
}

func mustWeights(t testing.TB, dir string) *llama.Weights {
	_, w, err := LoadHF(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return w
}
