package checkpoint

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bayling-go/bayling/internal/gguf"
	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/tensor"
	"github.com/bayling-go/bayling/internal/testenv"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

// writeStoriesHF turns llama2.c's stories260K (.bin + tok512.model) into a
// Hugging Face directory: weights through SaveHF (Q/K back to rotate-half
// order), tokenizer.model copied, context 512 (its training length).
func writeStoriesHF(t testing.TB, dir string) (llama.Config, *llama.Weights) {
	t.Helper()
	fx := testenv.SharedPath(t, "fixtures", "stories260K")
	cfg, w, err := LoadLlama2C(filepath.Join(fx, "stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.BOSTokenID, cfg.EOSTokenID = 1, llama.TokenIDs{2}
	f32 := func(m llama.Mat) []float32 {
		v := make([]float32, m.Rows*m.Cols)
		if err := tensor.Dequantize(v, m.Data, m.Type); err != nil {
			t.Fatal(err)
		}
		return v
	}
	get := func(name string) ([]float32, error) {
		var l int
		var mod string
		if n, _ := fmtSscanf(name, &l, &mod); n == 2 {
			L := &w.Layers[l]
			switch mod {
			case "attn_norm.weight":
				return L.AttnNorm, nil
			case "ffn_norm.weight":
				return L.FFNNorm, nil
			}
			m := map[string]llama.Mat{"attn_q.weight": L.Wq, "attn_k.weight": L.Wk, "attn_v.weight": L.Wv, "attn_output.weight": L.Wo,
				"ffn_gate.weight": L.Gate, "ffn_down.weight": L.Down, "ffn_up.weight": L.Up}[mod]
			return f32(m), nil
		}
		switch name {
		case "token_embd.weight":
			return f32(w.TokenEmbd), nil
		case "output.weight":
			return f32(w.Output), nil
		}
		return w.OutputNorm, nil
	}
	if err := SaveHF(dir, cfg, HFWriteOptions{}, get); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(fx, "tok512.model"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.model"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg, w
}

// The stories260K round trip llama2.c -> HF -> GGUF (f32) must keep every
// logit bit-for-bit (F32 throughout; the permutation is exact), and the GGUF
// must carry the SentencePiece vocabulary llama.cpp needs. With
// BAYLING_STORIES_HF=dir the HF directory is also written there (for the
// llama.cpp check in docs/llamacpp-interop.md).
func TestStories260KThroughHF(t *testing.T) {
	dir := t.TempDir()
	if d := os.Getenv("BAYLING_STORIES_HF"); d != "" {
		dir = d
	}
	cfg, w := writeStoriesHF(t, dir)
	tokens := []int{1, 403, 407, 261, 378, 343, 287, 261, 279}
	want := forwardAll(t, cfg, w, tokens)

	// Our tokenizer package refuses tok512.model's remove_extra_whitespaces
	// normalizer, so the HF load takes llama2.c's export of it.
	tok512 := testenv.SharedPath(t, "fixtures", "stories260K", "tok512.bin")
	m, err := Load(dir, Options{Tokenizer: tok512})
	if err != nil {
		t.Fatal(err)
	}
	if got := forwardAll(t, m.Config, m.Weights, tokens); !slices.Equal(got, want) {
		t.Fatal("HF directory logits differ from the llama2.c model's")
	}
	f32, _ := ParseFileType("f32")
	out := filepath.Join(t.TempDir(), "stories.gguf")
	if _, err := ConvertHF(out, dir, ConvertOptions{Type: f32}); err != nil {
		t.Fatal(err)
	}
	g, err := Load(out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if got := forwardAll(t, g.Config, g.Weights, tokens); !slices.Equal(got, want) {
		worst := 0.0
		for i := range got {
			worst = max(worst, math.Abs(float64(got[i]-want[i])))
		}
		t.Fatalf("converted GGUF logits differ from the llama2.c model's by up to %g", worst)
	}
	// Tokenizer: the GGUF's (from tokenizer.model) must encode like
	// llama2.c's export of the same SentencePiece model.
	spm, err := tokenizer.LoadLlama2C(tok512, 512)
	if err != nil {
		t.Fatal(err)
	}
	text := "Once upon a time, there was a little girl named Lily."
	opt := tokenizer.EncodeOptions{AddBOS: true}
	if a, b := g.Tokenizer.Encode(text, opt), spm.Encode(text, opt); !slices.Equal(a, b) {
		t.Fatalf("GGUF tokenizer %v, tokenizer.model %v", a, b)
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if model, _ := f.String("tokenizer.ggml.model"); model != "llama" {
		t.Fatalf("tokenizer.ggml.model %q", model)
	}
	types, _ := f.Int32s("tokenizer.ggml.token_type")
	if len(types) != 512 || types[0] != tokUnknown || types[1] != tokControl || types[3] != tokByte || types[300] != tokNormal {
		t.Fatalf("token types %v...", types[:4])
	}
}

func fmtSscanf(name string, l *int, mod *string) (int, error) {
	return fmt.Sscanf(name, "blk.%d.%s", l, mod)
}
