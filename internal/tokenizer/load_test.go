package tokenizer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadDir: model directories resolve to the right file.
func TestLoadDir(t *testing.T) {
	link := func(dir, name, target string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	// HF Llama 3 layout: tokenizer.json + config, tiktoken file under original/.
	hf := t.TempDir()
	link(hf, "tokenizer.json", fixture(t, "npm-tokenizers/llama3/tokenizer.json"))
	link(hf, "tokenizer_config.json", fixture(t, "npm-tokenizers/llama3/tokenizer_config.json"))
	link(hf, "original/tokenizer.model", fixture(t, "llama3/tokenizer.model"))
	tok, err := Load(hf)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tok.(*BPE); !ok || tok.BOS() != 128000 || tok.VocabSize() != 128256 {
		t.Errorf("HF dir: %T bos %d vocab %d", tok, tok.BOS(), tok.VocabSize())
	}

	// Only a GGUF.
	g := t.TempDir()
	link(g, "model.gguf", fixture(t, "llamacpp-vocab/ggml-vocab-llama-spm.gguf"))
	if tok, err := Load(g); err != nil || tok.VocabSize() != 32000 {
		t.Errorf("GGUF dir: %v", err)
	}
	link(g, "other.gguf", fixture(t, "llamacpp-vocab/ggml-vocab-phi-3.gguf"))
	if _, err := Load(g); err == nil || !strings.Contains(err.Error(), "2 GGUF files") {
		t.Errorf("two GGUFs: err %v", err)
	}

	// A broken tokenizer.json falls back to tokenizer.model.
	sp := t.TempDir()
	if err := os.WriteFile(filepath.Join(sp, "tokenizer.json"), []byte(`{"model":{"type":"Unigram"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	link(sp, "tokenizer.model", fixture(t, "llama2/tokenizer.model"))
	if tok, err := Load(sp); err != nil || tok.Piece(15043) != "▁Hello" {
		t.Errorf("fallback to tokenizer.model: %v", err)
	}

	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no tokenizer.json") {
		t.Errorf("empty dir: err %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing path: no error")
	}
	// Truncated files name what is wrong.
	b, err := os.ReadFile(fixture(t, "llama2/tokenizer.bin"))
	if err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(t.TempDir(), "tokenizer.bin")
	if err := os.WriteFile(trunc, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadLlama2C(trunc, 32000); err == nil || !strings.Contains(err.Error(), "offset") {
		t.Errorf("truncated tokenizer.bin: err %v", err)
	}
	pb, err := os.ReadFile(fixture(t, "llama2/tokenizer.model"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSPMBytes(pb[:len(pb)/2]); err == nil || !strings.Contains(err.Error(), "offset") {
		t.Errorf("truncated tokenizer.model: err %v", err)
	}
}
