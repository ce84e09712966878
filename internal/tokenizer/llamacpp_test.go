package tokenizer

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// llamacppCases reads a llama.cpp test-tokenizer-0 .inp/.out pair.
func llamacppCases(t *testing.T, base string) (inputs []string, want [][]int) {
	t.Helper()
	inp, err := os.ReadFile(base + ".inp")
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(base + ".out")
	if err != nil {
		t.Fatal(err)
	}
	inputs = strings.Split(string(inp), "\n__ggml_vocab_test__\n")
	if inputs[len(inputs)-1] != "" {
		t.Fatalf("%s.inp: does not end with the separator", base)
	}
	inputs = inputs[:len(inputs)-1]
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(inputs) {
		t.Fatalf("%s: %d inputs, %d output lines", base, len(inputs), len(lines))
	}
	for i, l := range lines {
		var ids []int
		for _, f := range strings.Fields(l) {
			id, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("%s.out line %d: %v", base, i+1, err)
			}
			ids = append(ids, id)
		}
		want = append(want, ids)
	}
	return inputs, want
}

func checkLlamacpp(t *testing.T, tok Tokenizer, base string) {
	t.Helper()
	inputs, want := llamacppCases(t, base)
	bad := 0
	for i, in := range inputs {
		got := tok.Encode(in, EncodeOptions{})
		if !equalInts(got, want[i]) {
			bad++
			t.Errorf("%s case %d %q:\n got %v\nwant %v", filepath.Base(base), i, in, got, want[i])
		}
	}
	t.Logf("%s: %d/%d identical", filepath.Base(base), len(inputs)-bad, len(inputs))
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestLlamacppVocab checks the llama.cpp tokenizer test pairs through every
// loader that can read the vocabulary.
func TestLlamacppVocab(t *testing.T) {
	dir := fixture(t, "llamacpp-vocab")
	cases := []struct{ name, model, pair string }{
		{"spm-gguf", "llamacpp-vocab/ggml-vocab-llama-spm.gguf", "ggml-vocab-llama-spm.gguf"},
		{"spm-protobuf", "llama2/tokenizer.model", "ggml-vocab-llama-spm.gguf"},
		{"llama3-tiktoken", "llama3/tokenizer.model", "ggml-vocab-llama-bpe.gguf"},
		{"llama3-hfjson", "npm-tokenizers/llama3/tokenizer.json", "ggml-vocab-llama-bpe.gguf"},
		{"qwen2-hfjson", "npm-tokenizers/qwen3/tokenizer.json", "ggml-vocab-qwen2.gguf"},
		{"deepseek-r1-qwen-hfjson", "npm-tokenizers/qwen3/tokenizer.json", "ggml-vocab-deepseek-r1-qwen.gguf"},
		// other GGUF vocabularies whose model and pre-tokenizer we implement
		{"phi-3-gguf", "llamacpp-vocab/ggml-vocab-phi-3.gguf", "ggml-vocab-phi-3.gguf"},
		{"gpt-2-gguf", "llamacpp-vocab/ggml-vocab-gpt-2.gguf", "ggml-vocab-gpt-2.gguf"},
		{"mpt-gguf", "llamacpp-vocab/ggml-vocab-mpt.gguf", "ggml-vocab-mpt.gguf"},
		{"starcoder-gguf", "llamacpp-vocab/ggml-vocab-starcoder.gguf", "ggml-vocab-starcoder.gguf"},
		{"refact-gguf", "llamacpp-vocab/ggml-vocab-refact.gguf", "ggml-vocab-refact.gguf"},
		{"falcon-gguf", "llamacpp-vocab/ggml-vocab-falcon.gguf", "ggml-vocab-falcon.gguf"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok := load(t, fixture(t, c.model))
			checkLlamacpp(t, tok, filepath.Join(dir, c.pair))
		})
	}
}
