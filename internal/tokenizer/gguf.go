package tokenizer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bayling-go/bayling/internal/gguf"
)

// bosByDefault is llama.cpp's add_bos default (llama-vocab.cpp) for gpt2
// vocabularies without tokenizer.ggml.add_bos_token, by tokenizer.ggml.pre.
var bosByDefault = map[string]bool{"llama3": true, "llama-v3": true, "llama-bpe": true, "falcon3": true, "tekken": true, "chameleon": true}

// FromGGUF builds the tokenizer described by a GGUF file's tokenizer.ggml.*
// metadata: model "llama" (SentencePiece BPE) or "gpt2" (byte-level BPE with
// one of the implemented pre-tokenizers).
func FromGGUF(f *gguf.File) (Tokenizer, error) {
	model, err := f.String("tokenizer.ggml.model")
	if err != nil {
		return nil, err
	}
	tokens, err := f.Strings("tokenizer.ggml.tokens")
	if err != nil {
		return nil, err
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("gguf %s: tokenizer.ggml.tokens is empty", f.Path)
	}
	types := make([]TokenType, len(tokens))
	if tt, err := f.Int32s("tokenizer.ggml.token_type"); err == nil {
		if len(tt) != len(tokens) {
			return nil, fmt.Errorf("gguf %s: tokenizer.ggml.token_type has %d entries for %d tokens", f.Path, len(tt), len(tokens))
		}
		for i, x := range tt {
			if x < 0 || x > int32(TypeByte) {
				return nil, fmt.Errorf("gguf %s: tokenizer.ggml.token_type[%d] = %d: unknown type", f.Path, i, x)
			}
			types[i] = TokenType(x)
		}
	} else if errors.Is(err, gguf.ErrNotFound) {
		for i := range types {
			types[i] = TypeNormal
		}
	} else {
		return nil, err
	}
	id := func(key string, def int) (int, error) {
		u, err := f.Uint(key)
		if errors.Is(err, gguf.ErrNotFound) {
			return def, nil
		}
		if err != nil {
			return 0, err
		}
		if u >= uint64(len(tokens)) {
			return 0, fmt.Errorf("gguf %s: %s = %d: outside the %d tokens", f.Path, key, u, len(tokens))
		}
		return int(u), nil
	}
	boolKey := func(key string, def bool) (bool, error) {
		b, err := f.Bool(key)
		if errors.Is(err, gguf.ErrNotFound) {
			return def, nil
		}
		return b, err
	}
	var extraEOG []int
	for _, k := range []string{"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"} {
		x, err := id(k, -1)
		if err != nil {
			return nil, err
		}
		extraEOG = append(extraEOG, x)
	}

	switch model {
	case "llama":
		scores, err := f.Float32s("tokenizer.ggml.scores")
		if err != nil {
			return nil, err
		}
		if len(scores) != len(tokens) {
			return nil, fmt.Errorf("gguf %s: tokenizer.ggml.scores has %d entries for %d tokens", f.Path, len(scores), len(tokens))
		}
		bos, err := id("tokenizer.ggml.bos_token_id", 1)
		if err != nil {
			return nil, err
		}
		eos, err := id("tokenizer.ggml.eos_token_id", 2)
		if err != nil {
			return nil, err
		}
		unk, err := id("tokenizer.ggml.unknown_token_id", 0)
		if err != nil {
			return nil, err
		}
		prefix, err := boolKey("tokenizer.ggml.add_space_prefix", true)
		if err != nil {
			return nil, err
		}
		t := newSPM(tokens, types, scores, bos, eos, unk, prefix, true)
		if t.addBOS, err = boolKey("tokenizer.ggml.add_bos_token", true); err != nil {
			return nil, err
		}
		t.eogs = nil
		t.setEOGs(extraEOG...)
		return t, nil
	case "gpt2":
		pre, err := f.String("tokenizer.ggml.pre")
		if errors.Is(err, gguf.ErrNotFound) {
			pre = "default"
		} else if err != nil {
			return nil, err
		}
		p, ok := preNames[pre]
		if !ok {
			return nil, fmt.Errorf("gguf %s: tokenizer.ggml.pre %q: pre-tokenizer not implemented (have llama-bpe, qwen2, gpt-2, mpt, starcoder, refact, falcon, default and aliases)", f.Path, pre)
		}
		merges, err := f.Strings("tokenizer.ggml.merges")
		if err != nil {
			return nil, err
		}
		bos, err := id("tokenizer.ggml.bos_token_id", -1)
		if err != nil {
			return nil, err
		}
		eos, err := id("tokenizer.ggml.eos_token_id", -1)
		if err != nil {
			return nil, err
		}
		t := &BPE{pre: p, ignoreMerges: p == preLlama3}
		t.pieces, t.types, t.bos, t.eos = tokens, types, bos, eos
		t.raw = make([][]byte, len(tokens))
		for i, s := range tokens {
			if types[i] == TypeNormal {
				if r, ok := byteLevelDecode(s); ok {
					t.raw[i] = r
					continue
				}
			}
			t.raw[i] = []byte(s)
		}
		// Merges name pieces by their stored (byte-level) text.
		byPiece := make(map[string]int, len(tokens))
		for i, s := range tokens {
			if _, dup := byPiece[s]; !dup {
				byPiece[s] = i
			}
		}
		pairs := make([][2]string, len(merges))
		for i, m := range merges {
			a, b, ok := strings.Cut(m, " ")
			if !ok {
				return nil, fmt.Errorf("gguf %s: tokenizer.ggml.merges[%d] %q: want \"left right\"", f.Path, i, m)
			}
			pairs[i] = [2]string{a, b}
		}
		if err := t.setMerges(pairs, func(s string) (int, bool) { i, ok := byPiece[s]; return i, ok }, "gguf "+f.Path+": tokenizer.ggml.merges"); err != nil {
			return nil, err
		}
		t.finish()
		// Without the key llama.cpp adds BOS for the Llama-3 family's
		// pre-tokenizer names (and chameleon, tekken); so do we.
		if t.addBOS, err = boolKey("tokenizer.ggml.add_bos_token", bosByDefault[pre]); err != nil {
			return nil, err
		}
		t.eogs = nil
		t.setEOGs(extraEOG...)
		return t, nil
	}
	return nil, fmt.Errorf("gguf %s: tokenizer.ggml.model %q: not supported (llama, gpt2)", f.Path, model)
}
