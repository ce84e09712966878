package quickstart

import (
	"path/filepath"
	"testing"

	"github.com/bayling-go/bayling/internal/gguf"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

func TestTrainedBPELoadsAndRoundTrips(t *testing.T) {
	texts := []string{"Provide the German translation for this sentence: allemand", "提供这句话的德语翻译：Deutsch",
		"Provide the French translation for this sentence: German", "Translate into French: Deutsch 123456"}
	for range 5 {
		texts = append(texts, texts...)
	}
	kvs, n, err := TrainBPE(texts, 200)
	if err != nil {
		t.Fatal(err)
	}
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "llama")
	for _, kv := range kvs {
		if err := w.AddKV(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(t.TempDir(), "tok.gguf")
	if err := w.WriteFile(p, nil); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != n {
		t.Fatalf("vocab %d, want %d", tok.VocabSize(), n)
	}
	for _, s := range append(texts[:4], "unseen Ünïcödé ✓ text\nwith lines") {
		ids := tok.Encode(s, tokenizer.EncodeOptions{})
		if got := tok.Decode(ids); got != s {
			t.Errorf("round trip %q -> %q", s, got)
		}
	}
	// Frequent words became single tokens.
	if ids := tok.Encode(" translation", tokenizer.EncodeOptions{}); len(ids) != 1 {
		t.Errorf("' translation' is %d tokens", len(ids))
	}
	ids := tok.Encode("<|eot_id|>", tokenizer.EncodeOptions{ParseSpecial: true})
	if len(ids) != 1 || !tok.IsControl(ids[0]) {
		t.Errorf("special token: %v", ids)
	}
}
