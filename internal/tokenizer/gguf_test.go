package tokenizer

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/gguf"
)

// writeVocabGGUF writes a vocab-only GGUF with the given metadata.
func writeVocabGGUF(t *testing.T, kv [][2]any) string {
	t.Helper()
	w := gguf.NewWriter()
	if err := w.AddKV("general.architecture", "llama"); err != nil {
		t.Fatal(err)
	}
	for _, e := range kv {
		if err := w.AddKV(e[0].(string), e[1]); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "vocab.gguf")
	if err := w.WriteFile(path, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

// tinyGPT2 is a byte-level vocabulary: the 256 bytes, "ab", "abc" and a
// control token.
func tinyGPT2() (tokens []string, types []int32, merges []string) {
	for b := range 256 {
		tokens = append(tokens, byteLevelEncode([]byte{byte(b)}))
		types = append(types, int32(TypeNormal))
	}
	tokens = append(tokens, "ab", "abc", "<|end|>")
	types = append(types, int32(TypeNormal), int32(TypeNormal), int32(TypeControl))
	return tokens, types, []string{"a b", "ab c"}
}

func TestFromGGUFSmall(t *testing.T) {
	tokens, types, merges := tinyGPT2()
	base := [][2]any{
		{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.pre", "qwen2"},
		{"tokenizer.ggml.tokens", tokens}, {"tokenizer.ggml.token_type", types},
		{"tokenizer.ggml.merges", merges}, {"tokenizer.ggml.eos_token_id", uint32(258)},
	}
	tok := load(t, writeVocabGGUF(t, base))
	if got := tok.Encode("abc ab<|end|>", EncodeOptions{ParseSpecial: true}); !equalInts(got, []int{257, 32, 256, 258}) {
		t.Errorf("encode = %v", got)
	}
	if got := tok.Encode("<|end|>", EncodeOptions{}); len(got) != 7 {
		t.Errorf("control text without ParseSpecial: %v", got)
	}
	if tok.EOS() != 258 || !tok.IsControl(258) || tok.BOS() != -1 {
		t.Errorf("eos %d bos %d", tok.EOS(), tok.BOS())
	}

	with := func(key string, v any) [][2]any {
		out := [][2]any{}
		found := false
		for _, e := range base {
			if e[0] == key {
				found = true
				if v == nil {
					continue
				}
				e = [2]any{key, v}
			}
			out = append(out, e)
		}
		if !found {
			out = append(out, [2]any{key, v})
		}
		return out
	}
	bad := []struct {
		name, want string
		kv         [][2]any
	}{
		{"no tokens", "tokenizer.ggml.tokens", with("tokenizer.ggml.tokens", nil)},
		{"unknown model", `"wordpiece"`, with("tokenizer.ggml.model", "wordpiece")},
		{"unknown pre", `"deepseek-llm"`, with("tokenizer.ggml.pre", "deepseek-llm")},
		{"eos out of range", "outside the 259 tokens", with("tokenizer.ggml.eos_token_id", uint32(9999))},
		{"type count", "token_type has 2 entries", with("tokenizer.ggml.token_type", []int32{1, 1})},
		{"bad type", "unknown type", with("tokenizer.ggml.token_type", append(append([]int32{}, types[:258]...), 9))},
		{"merge of unknown piece", "not in the vocabulary", with("tokenizer.ggml.merges", []string{"a zz"})},
		{"merge without space", "want \"left right\"", with("tokenizer.ggml.merges", []string{"ab"})},
		{"spm without scores", "tokenizer.ggml.scores", with("tokenizer.ggml.model", "llama")},
	}
	for _, c := range bad {
		_, err := Load(writeVocabGGUF(t, c.kv))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.name, err, c.want)
		}
	}
}

// TestGGUFBOSDefault: without tokenizer.ggml.add_bos_token, a gpt2 vocabulary
// adds BOS exactly when llama.cpp does (Llama-3 family pre-tokenizers), and
// the key overrides the default.
func TestGGUFBOSDefault(t *testing.T) {
	tokens, types, merges := tinyGPT2()
	for _, c := range []struct {
		pre  string
		key  any
		want bool
	}{{"llama-bpe", nil, true}, {"qwen2", nil, false}, {"gpt-2", nil, false}, {"llama-bpe", false, false}, {"qwen2", true, true}} {
		kv := [][2]any{
			{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.pre", c.pre},
			{"tokenizer.ggml.tokens", tokens}, {"tokenizer.ggml.token_type", types},
			{"tokenizer.ggml.merges", merges}, {"tokenizer.ggml.bos_token_id", uint32(258)},
		}
		if c.key != nil {
			kv = append(kv, [2]any{"tokenizer.ggml.add_bos_token", c.key})
		}
		if got := AddBOSByDefault(load(t, writeVocabGGUF(t, kv))); got != c.want {
			t.Errorf("pre %q, add_bos_token %v: adds BOS %v, want %v", c.pre, c.key, got, c.want)
		}
	}
}
