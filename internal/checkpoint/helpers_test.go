package checkpoint

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// gpt2Bytes is GPT-2's bytes_to_unicode: the printable byte-level alphabet.
func gpt2Bytes() [256]rune {
	var m [256]rune
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			m[b] = rune(b)
		} else {
			m[b] = rune(256 + n)
			n++
		}
	}
	return m
}

// byteTokenizerJSON is a byte-level BPE tokenizer.json without merges: one
// token per byte, then special tokens up to vocab.
func byteTokenizerJSON(vocab int) []byte {
	enc := gpt2Bytes()
	v := map[string]int{}
	for b := 0; b < 256; b++ {
		v[string(enc[b])] = b
	}
	var added []map[string]any
	for id := 256; id < vocab; id++ {
		added = append(added, map[string]any{"id": id, "content": fmt.Sprintf("<|s%d|>", id), "special": true})
	}
	j := map[string]any{
		"added_tokens":  added,
		"normalizer":    nil,
		"pre_tokenizer": map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
		"decoder":       map[string]any{"type": "ByteLevel"},
		"model":         map[string]any{"type": "BPE", "vocab": v, "merges": []string{}},
	}
	b, _ := json.Marshal(j)
	return b
}

// writeByteTokenizer writes byteTokenizerJSON to a temp dir and returns its path.
func writeByteTokenizer(t testing.TB, vocab int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(p, byteTokenizerJSON(vocab), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
