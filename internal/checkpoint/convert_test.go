package checkpoint

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/gguf"
	"github.com/bayling-go/bayling/internal/tensor"
)

// HF -> GGUF (f32) -> our GGUF loader must reproduce the torch logits:
// this checks the permutation, the metadata and rope_freqs.weight.
func TestConvertHFToGGUFMatchesTorch(t *testing.T) {
	var golden hfGolden
	b, err := os.ReadFile("testdata/hf_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	f32, _ := ParseFileType("f32")
	for _, hc := range hfCases() {
		t.Run(hc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeHFCase(t, dir, hc)
			if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), byteTokenizerJSON(hc.cfg.VocabSize), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "m.gguf")
			if _, err := ConvertHF(out, dir, ConvertOptions{Type: f32}); err != nil {
				t.Fatal(err)
			}
			m, err := Load(out, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if (m.Weights.RopeFactors != nil) != (hc.cfg.RopeScaling != nil) {
				t.Fatalf("rope_freqs present %v", m.Weights.RopeFactors != nil)
			}
			logits := forwardAll(t, m.Config, m.Weights, hc.tokens)
			g := golden.Models[hc.name]
			worst := 0.0
			for p := range hc.tokens {
				for j, want := range g.Logits[p] {
					worst = max(worst, math.Abs(float64(logits[p*m.Config.VocabSize+j])-want))
				}
			}
			t.Logf("%s via GGUF: max |logit - torch| = %.3g", hc.name, worst)
			if worst > 1e-4 {
				t.Fatalf("max |logit diff| %.3g > 1e-4", worst)
			}
			// Metadata llama.cpp reads.
			f, err := gguf.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for key, want := range map[string]uint64{
				"llama.block_count": 2, "llama.context_length": uint64(hc.cfg.MaxPositionEmbeddings),
				"llama.attention.head_count_kv": uint64(hc.cfg.KVHeads()), "llama.vocab_size": uint64(hc.cfg.VocabSize),
				"general.file_type": 0, "tokenizer.ggml.bos_token_id": 1, "llama.rope.dimension_count": 8,
			} {
				if got, err := f.Uint(key); err != nil || got != want {
					t.Errorf("%s = %d (%v), want %d", key, got, err, want)
				}
			}
			if pre, _ := f.String("tokenizer.ggml.pre"); pre != "gpt-2" {
				t.Errorf("tokenizer.ggml.pre %q", pre)
			}
		})
	}
}

func TestConvertQuantizedTypes(t *testing.T) {
	hc := hfCases()[0]
	dir := t.TempDir()
	writeHFCase(t, dir, hc)
	os.WriteFile(filepath.Join(dir, "tokenizer.json"), byteTokenizerJSON(hc.cfg.VocabSize), 0o644)
	q8, _ := ParseFileType("q8_0")
	out := filepath.Join(t.TempDir(), "q8.gguf")
	plan, err := ConvertHF(out, dir, ConvertOptions{Type: q8})
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range plan.Names {
		want := tensor.Q8_0
		// 1-D tensors stay F32; ffn_down has 160 columns = 5 blocks of 32.
		if n == "rope_freqs.weight" || strings.Contains(n, "_norm") {
			want = tensor.F32
		}
		if plan.Types[i] != want {
			t.Errorf("%s: %s, want %s", n, plan.Types[i], want)
		}
	}
	m, err := Load(out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ref := forwardAll(t, hc.cfg, mustWeights(t, dir), hc.tokens)
	got := forwardAll(t, m.Config, m.Weights, hc.tokens)
	worst := 0.0
	for i := range ref {
		worst = max(worst, math.Abs(float64(got[i]-ref[i])))
	}
	if worst > 0.1 || worst == 0 {
		t.Fatalf("q8_0 GGUF vs HF max logit diff %g", worst)
	}
}

func TestConvertErrors(t *testing.T) {
	hc := hfCases()[1]
	dir := t.TempDir()
	writeHFCase(t, dir, hc)
	out := filepath.Join(t.TempDir(), "m.gguf")
	_, err := ConvertHF(out, dir, ConvertOptions{})
	if err == nil || !strings.Contains(err.Error(), "no SentencePiece tokenizer.model or tokenizer.json") {
		t.Fatalf("no tokenizer: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "tokenizer.model"), []byte{0x0A, 0x05, 0x0A, 0x10}, 0o644)
	_, err = ConvertHF(out, dir, ConvertOptions{})
	if err == nil || !strings.Contains(err.Error(), "tokenizer.model") || !strings.Contains(err.Error(), "offset") {
		t.Fatalf("corrupt tokenizer.model: %v", err)
	}
	if _, serr := os.Stat(out); serr == nil {
		t.Fatal("output written despite errors")
	}
}

// FuzzSPMVocab feeds arbitrary tokenizer.model bytes to the converter's
// SentencePiece reader: errors are fine, panics are not.
func FuzzSPMVocab(f *testing.F) {
	f.Add([]byte{0x0A, 0x09, 0x0A, 0x03, 'a', 'b', 'c', 0x15, 0, 0, 0x80, 0x3F})
	f.Add([]byte{0x0A, 0x02, 0x18, 0x07})
	f.Add([]byte{0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := spmVocab(dir, b, 64)
		if err == nil && len(v.tokens) != 64 {
			t.Fatalf("%d tokens, want 64", len(v.tokens))
		}
	})
}
