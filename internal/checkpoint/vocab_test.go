package checkpoint

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/gguf"
	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/tensor"
	"github.com/bayling-go/bayling/internal/testenv"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

// A Llama-3 HF directory (the real tokenizer.json / tokenizer_config.json,
// tiny weights) converts to a GGUF whose gpt2/llama-bpe tokenizer encodes
// like the tokenizer.json and carries the specials and chat template.
func TestConvertLlama3Tokenizer(t *testing.T) {
	src := testenv.SharedPath(t, "fixtures", "npm-tokenizers", "llama3")
	hc := hfCase{
		name: "llama3-vocab",
		cfg: llama.Config{
			HiddenSize: 8, IntermediateSize: 16, NumHiddenLayers: 1, NumAttentionHeads: 2, NumKeyValueHeads: 1,
			RMSNormEps: 1e-5, RopeTheta: 500000, VocabSize: 128256, MaxPositionEmbeddings: 8192,
			BOSTokenID: 128000, EOSTokenID: llama.TokenIDs{128001, 128009},
		},
		opt:  HFWriteOptions{DType: tensor.BF16},
		seed: 5,
	}
	dir := t.TempDir()
	if d := os.Getenv("BAYLING_LLAMA3_HF"); d != "" {
		dir = d // keep it for the llama.cpp check in docs/llamacpp-interop.md
	}
	writeHFCase(t, dir, hc)
	for _, n := range []string{"tokenizer.json", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "m.gguf")
	if _, err := ConvertHF(out, dir, ConvertOptions{}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for key, want := range map[string]string{"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "llama-bpe", "general.architecture": "llama"} {
		if got, _ := f.String(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	for key, want := range map[string]uint64{"tokenizer.ggml.bos_token_id": 128000, "tokenizer.ggml.eos_token_id": 128001, "general.file_type": 1} {
		if got, err := f.Uint(key); err != nil || got != want {
			t.Errorf("%s = %d (%v), want %d", key, got, err, want)
		}
	}
	if tmpl, _ := f.String("tokenizer.chat_template"); !strings.Contains(tmpl, "<|start_header_id|>") {
		t.Errorf("chat_template %.80q", tmpl)
	}
	merges, _ := f.Strings("tokenizer.ggml.merges")
	types, _ := f.Int32s("tokenizer.ggml.token_type")
	if len(merges) != 280147 || len(types) != 128256 || types[128000] != tokControl || types[100] != tokNormal {
		t.Fatalf("%d merges, %d types", len(merges), len(types))
	}
	fromGGUF, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Hello, world! 12345 ", "  Grüße aus Köln\n\n", "你好，世界。", "<|eot_id|> isn't special here"} {
		a := fromGGUF.Encode(s, tokenizer.EncodeOptions{AddBOS: true})
		b := fromJSON.Encode(s, tokenizer.EncodeOptions{AddBOS: true})
		if !slices.Equal(a, b) || a[0] != 128000 {
			t.Errorf("%q: GGUF %v, tokenizer.json %v", s, a, b)
		}
	}
}

func TestHFChatTemplate(t *testing.T) {
	dir := t.TempDir()
	if s, err := HFChatTemplate(dir); s != "" || err != nil {
		t.Fatalf("no config: %q, %v", s, err)
	}
	cases := map[string]string{
		`{"chat_template": "{{ bos_token }}"}`: "{{ bos_token }}",
		`{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}`: "D",
		`{"bos_token": "<s>"}`: "",
	}
	for in, want := range cases {
		os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(in), 0o644)
		if s, err := HFChatTemplate(dir); s != want || err != nil {
			t.Errorf("%s: %q, %v", in, s, err)
		}
	}
	os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"chat_template": 7}`), 0o644)
	if _, err := HFChatTemplate(dir); err == nil || !strings.Contains(err.Error(), "tokenizer_config.json") {
		t.Errorf("bad template: %v", err)
	}
}
