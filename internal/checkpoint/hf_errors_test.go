package checkpoint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Each broken directory must give one error line naming the file and the
// tensor or field, never a panic.
func TestHFErrors(t *testing.T) {
	cases := []struct {
		name   string
		hc     int // 0 = llama3 (sharded), 1 = llama2 (single file)
		break_ func(t *testing.T, dir string)
		want   []string
	}{
		{"truncated shard", 0, func(t *testing.T, dir string) {
			p := filepath.Join(dir, "model-00002-of-00003.safetensors")
			st, _ := os.Stat(p)
			if err := os.Truncate(p, st.Size()-100); err != nil {
				t.Fatal(err)
			}
		}, []string{"model-00002-of-00003.safetensors"}},
		{"missing shard", 0, func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "model-00003-of-00003.safetensors"))
		}, []string{"model-00003-of-00003.safetensors", "no such file"}},
		{"truncated single file", 1, func(t *testing.T, dir string) {
			p := filepath.Join(dir, "model.safetensors")
			if err := os.Truncate(p, 5000); err != nil {
				t.Fatal(err)
			}
		}, []string{"model.safetensors"}},
		{"config disagrees with shapes", 1, func(t *testing.T, dir string) {
			editConfig(t, dir, `"intermediate_size": 128`, `"intermediate_size": 96`)
		}, []string{"model.safetensors", "model.layers.0.mlp.gate_proj.weight", "shape [128 48]", "[96 48]"}},
		{"untied without lm_head", 1, func(t *testing.T, dir string) {
			editConfig(t, dir, `"tie_word_embeddings": true`, `"tie_word_embeddings": false`)
		}, []string{"lm_head.weight", "missing", "tie_word_embeddings"}},
		{"no context length", 1, func(t *testing.T, dir string) {
			editConfig(t, dir, `"max_position_embeddings": 64,`, ``)
		}, []string{"config.json", "max_position_embeddings missing"}},
		{"bad config value", 1, func(t *testing.T, dir string) {
			editConfig(t, dir, `"num_attention_heads": 6`, `"num_attention_heads": 5`)
		}, []string{"config.json", "num_attention_heads 5"}},
		{"not llama", 1, func(t *testing.T, dir string) {
			editConfig(t, dir, `"model_type": "llama"`, `"model_type": "gpt2"`)
		}, []string{"config.json", `model_type "gpt2"`}},
		{"no config", 1, func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "config.json"))
		}, []string{"config.json", "no such file"}},
		{"bad generation config", 1, func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "generation_config.json"), []byte(`{"eos_token_id": 999}`), 0o644)
		}, []string{"generation_config.json", "eos_token_id 999"}},
		{"no weights", 1, func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "model.safetensors"))
		}, []string{"model.safetensors"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeHFCase(t, dir, hfCases()[c.hc])
			c.break_(t, dir)
			_, err := Load(dir, Options{Tokenizer: writeByteTokenizer(t, hfCases()[c.hc].cfg.VocabSize)})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			t.Log(msg)
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}

func editConfig(t *testing.T, dir, old, new string) {
	t.Helper()
	p := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("config.json lacks %q", old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// FuzzHFConfig feeds arbitrary config.json bytes beside valid weights: any
// outcome but a panic (or an unbounded allocation) is fine.
func FuzzHFConfig(f *testing.F) {
	dir := f.TempDir()
	writeHFCase(f, dir, hfCases()[1])
	good, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"hidden_size": 48, "num_hidden_layers": 100000000, "max_position_embeddings": 1}`))
	f.Add([]byte(`{"rope_scaling": {"rope_type": "llama3"}}`))
	f.Add([]byte(strings.Replace(string(good), `"num_hidden_layers": 2`, `"num_hidden_layers": 200000000`, 1)))
	f.Fuzz(func(t *testing.T, cfg []byte) {
		if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, w, err := LoadHF(dir, nil); err == nil && w == nil {
			t.Fatal("nil weights without error")
		}
	})
}
