package quickstart

import (
	"fmt"
	"unicode"

	"github.com/bayling-go/bayling/internal/gguf"
)

// Special tokens of the tiny model: Llama-3's names, so the BayLing
// Llama-3 chat format applies to it.
var specials = []string{"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"}

// byteRunes is GPT-2's bytes_to_unicode: printable bytes stand for
// themselves, the rest are shifted past 255, so every byte is a visible rune.
func byteRunes() [256]rune {
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

// chunks splits text roughly as Llama-3's pre-tokenizer does (an optional
// leading space with a run of letters, digits, other symbols, spaces), so
// merges never cross the boundaries the encoder will use.
func chunks(s string) []string {
	var out []string
	rs := []rune(s)
	class := func(r rune) int {
		switch {
		case unicode.IsLetter(r) || unicode.IsMark(r):
			return 1
		case unicode.IsDigit(r):
			return 2
		case unicode.IsSpace(r):
			return 3
		}
		return 4
	}
	for i := 0; i < len(rs); {
		j := i
		if rs[i] == ' ' && i+1 < len(rs) && class(rs[i+1]) != 3 {
			j++
		}
		c := class(rs[j])
		k := j + 1
		for k < len(rs) && class(rs[k]) == c && !(c == 2 && k-j >= 3) {
			k++
		}
		out = append(out, string(rs[i:k]))
		i = k
	}
	return out
}

// TrainBPE learns up to merges byte-level BPE merges from texts and returns
// the GGUF tokenizer metadata of the resulting vocabulary (bytes, merged
// tokens, then the special tokens).
func TrainBPE(texts []string, merges int) ([]gguf.KV, int, error) {
	br := byteRunes()
	tok := make([]string, 256)
	for b := range 256 {
		tok[b] = string(br[b])
	}
	type word struct {
		syms  []int
		count int
	}
	counts := map[string]int{}
	for _, t := range texts {
		for _, c := range chunks(t) {
			counts[c]++
		}
	}
	keys := sortedKeys(counts)
	words := make([]word, 0, len(keys))
	for _, k := range keys {
		w := word{count: counts[k]}
		for _, b := range []byte(k) {
			w.syms = append(w.syms, int(b))
		}
		words = append(words, w)
	}
	var mergeList []string
	for len(mergeList) < merges {
		pairs := map[[2]int]int{}
		for _, w := range words {
			for i := 0; i+1 < len(w.syms); i++ {
				pairs[[2]int{w.syms[i], w.syms[i+1]}] += w.count
			}
		}
		best, bestN := [2]int{}, 1 // a pair must occur at least twice
		for p, n := range pairs {
			if n > bestN || (n == bestN && n > 1 && (p[0] < best[0] || (p[0] == best[0] && p[1] < best[1]))) {
				best, bestN = p, n
			}
		}
		if bestN < 2 {
			break
		}
		id := len(tok)
		tok = append(tok, tok[best[0]]+tok[best[1]])
		mergeList = append(mergeList, tok[best[0]]+" "+tok[best[1]])
		for wi := range words {
			s := words[wi].syms
			out := s[:0]
			for i := 0; i < len(s); i++ {
				if i+1 < len(s) && s[i] == best[0] && s[i+1] == best[1] {
					out = append(out, id)
					i++
					continue
				}
				out = append(out, s[i])
			}
			words[wi].syms = out
		}
	}
	// A merged token can repeat an existing string (two merge paths to one
	// string); the vocabulary needs unique entries.
	seen := map[string]bool{}
	for _, t := range tok {
		if seen[t] {
			return nil, 0, fmt.Errorf("quickstart: BPE produced duplicate token %q", t)
		}
		seen[t] = true
	}
	types := make([]int32, len(tok), len(tok)+len(specials))
	for i := range types {
		types[i] = 1 // normal
	}
	bos := len(tok)
	for _, s := range specials {
		tok = append(tok, s)
		types = append(types, 3) // control
	}
	eot := bos + 4
	kvs := []gguf.KV{}
	add := func(k string, v any) error {
		val, err := gguf.ValueOf(v)
		if err != nil {
			return fmt.Errorf("quickstart: %s: %w", k, err)
		}
		kvs = append(kvs, gguf.KV{Key: k, Value: val})
		return nil
	}
	for _, kv := range []struct {
		k string
		v any
	}{
		{"tokenizer.ggml.model", "gpt2"},
		{"tokenizer.ggml.pre", "llama-bpe"},
		{"tokenizer.ggml.tokens", tok},
		{"tokenizer.ggml.token_type", types},
		{"tokenizer.ggml.merges", mergeList},
		{"tokenizer.ggml.bos_token_id", uint32(bos)},
		{"tokenizer.ggml.eos_token_id", uint32(eot)},
		{"tokenizer.ggml.eot_token_id", uint32(eot)},
		{"tokenizer.ggml.add_bos_token", true},
	} {
		if err := add(kv.k, kv.v); err != nil {
			return nil, 0, err
		}
	}
	return kvs, len(tok), nil
}
