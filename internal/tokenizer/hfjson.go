package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

type hfTokenizerJSON struct {
	AddedTokens []struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer json.RawMessage `json:"pre_tokenizer"`
	Decoder      json.RawMessage `json:"decoder"`
	Model        struct {
		Type         string          `json:"type"`
		Vocab        map[string]int  `json:"vocab"`
		Merges       json.RawMessage `json:"merges"`
		IgnoreMerges bool            `json:"ignore_merges"`
		ByteFallback bool            `json:"byte_fallback"`
	} `json:"model"`
}

// hfComponent is any normalizer / pre-tokenizer / decoder node.
type hfComponent struct {
	Type           string          `json:"type"`
	Pretokenizers  []hfComponent   `json:"pretokenizers"`
	Normalizers    []hfComponent   `json:"normalizers"`
	Pattern        json.RawMessage `json:"pattern"`
	Behavior       string          `json:"behavior"`
	Invert         bool            `json:"invert"`
	AddPrefixSpace bool            `json:"add_prefix_space"`
	UseRegex       *bool           `json:"use_regex"`
}

// loadHFJSON reads a Hugging Face tokenizer.json with a byte-level BPE
// model (Llama 3, Qwen2/3, GPT-2 style) and its tokenizer_config.json.
func loadHFJSON(path string, b []byte) (*BPE, error) {
	var j hfTokenizerJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	if j.Model.Type != "BPE" {
		return nil, fmt.Errorf("tokenizer.json: model.type %q: only BPE is supported", j.Model.Type)
	}
	if j.Model.ByteFallback {
		return nil, errors.New("tokenizer.json: model.byte_fallback (SentencePiece-style BPE): load the tokenizer.model instead")
	}
	t := &BPE{ignoreMerges: j.Model.IgnoreMerges}
	t.bos, t.eos = -1, -1
	var err error
	if t.nfc, err = hfNormalizer(j.Normalizer); err != nil {
		return nil, err
	}
	if t.pre, err = hfPreTokenizer(j.PreTokenizer); err != nil {
		return nil, err
	}

	n := 0
	for _, id := range j.Model.Vocab {
		n = max(n, id+1)
	}
	for _, a := range j.AddedTokens {
		n = max(n, a.ID+1)
	}
	// Ids are dense in real files; a stray huge id must not allocate gigabytes.
	if n > len(j.Model.Vocab)+len(j.AddedTokens)+1024 {
		return nil, fmt.Errorf("tokenizer.json: largest id %d for %d vocab + %d added tokens: ids are not dense", n-1, len(j.Model.Vocab), len(j.AddedTokens))
	}
	t.pieces = make([]string, n)
	t.types = make([]TokenType, n)
	t.raw = make([][]byte, n)
	for p, id := range j.Model.Vocab {
		if id < 0 {
			return nil, fmt.Errorf("tokenizer.json: model.vocab %q: negative id %d", p, id)
		}
		if t.types[id] != TypeUndefined {
			return nil, fmt.Errorf("tokenizer.json: model.vocab: id %d used twice (%q, %q)", id, t.pieces[id], p)
		}
		r, ok := byteLevelDecode(p)
		if !ok {
			return nil, fmt.Errorf("tokenizer.json: model.vocab %q (id %d) is not a byte-level piece", p, id)
		}
		t.pieces[id], t.types[id], t.raw[id] = p, TypeNormal, r
	}
	for i, a := range j.AddedTokens {
		if a.ID < 0 || a.Content == "" {
			return nil, fmt.Errorf("tokenizer.json: added_tokens[%d]: id %d, content %q", i, a.ID, a.Content)
		}
		typ := TypeUserDefined
		if a.Special {
			typ = TypeControl
		}
		t.pieces[a.ID], t.types[a.ID], t.raw[a.ID] = a.Content, typ, []byte(a.Content)
	}

	if err := t.loadMerges(j.Model.Merges, j.Model.Vocab); err != nil {
		return nil, err
	}
	t.finish()
	if err := t.applyHFConfig(filepath.Join(filepath.Dir(path), "tokenizer_config.json")); err != nil {
		return nil, err
	}
	return t, nil
}

func hfNormalizer(raw json.RawMessage) (nfc bool, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return false, nil
	}
	var c hfComponent
	if err := json.Unmarshal(raw, &c); err != nil {
		return false, fmt.Errorf("tokenizer.json: normalizer: %w", err)
	}
	switch {
	case c.Type == "NFC":
		return true, nil
	case c.Type == "Sequence" && len(c.Normalizers) == 0:
		return false, nil
	}
	return false, fmt.Errorf("tokenizer.json: normalizer %s: unsupported (NFC or none)", raw)
}

func hfPreTokenizer(raw json.RawMessage) (preTokenizer, error) {
	var c hfComponent
	if err := json.Unmarshal(raw, &c); err != nil {
		return 0, fmt.Errorf("tokenizer.json: pre_tokenizer: %w", err)
	}
	steps := []hfComponent{c}
	if c.Type == "Sequence" {
		steps = c.Pretokenizers
	}
	// Supported shapes: [Split(pattern, Isolated), ByteLevel(use_regex=false)]
	// and [ByteLevel(use_regex=true)].
	switch {
	case len(steps) == 2 && steps[0].Type == "Split" && steps[1].Type == "ByteLevel" &&
		steps[0].Behavior == "Isolated" && !steps[0].Invert && !steps[1].AddPrefixSpace &&
		steps[1].UseRegex != nil && !*steps[1].UseRegex:
		var pat struct{ Regex string }
		if err := json.Unmarshal(steps[0].Pattern, &pat); err != nil {
			return 0, fmt.Errorf("tokenizer.json: pre_tokenizer Split pattern: %w", err)
		}
		switch pat.Regex {
		case patLlama3:
			return preLlama3, nil
		case patQwen2:
			return preQwen2, nil
		}
		return 0, fmt.Errorf("tokenizer.json: pre_tokenizer regex %q: not one of the implemented (Llama 3, Qwen2)", pat.Regex)
	case len(steps) == 1 && steps[0].Type == "ByteLevel" && !steps[0].AddPrefixSpace &&
		(steps[0].UseRegex == nil || *steps[0].UseRegex):
		return preGPT2, nil
	}
	return 0, fmt.Errorf("tokenizer.json: pre_tokenizer %s: unsupported", raw)
}

// loadMerges reads merges as "a b" strings or ["a", "b"] pairs.
func (t *BPE) loadMerges(raw json.RawMessage, vocab map[string]int) error {
	var pairs [][2]string
	var strs []string
	if err := json.Unmarshal(raw, &strs); err == nil {
		pairs = make([][2]string, len(strs))
		for i, s := range strs {
			a, b, ok := strings.Cut(s, " ")
			if !ok {
				return fmt.Errorf("tokenizer.json: merges[%d] %q: want \"left right\"", i, s)
			}
			pairs[i] = [2]string{a, b}
		}
	} else if err := json.Unmarshal(raw, &pairs); err != nil {
		return fmt.Errorf("tokenizer.json: merges: %w", err)
	}
	return t.setMerges(pairs, func(p string) (int, bool) { id, ok := vocab[p]; return id, ok }, "tokenizer.json: merges")
}

// setMerges builds the pair table; rank = position in the list.
func (t *BPE) setMerges(pairs [][2]string, lookup func(string) (int, bool), what string) error {
	t.merges = make(map[uint64]mergeRule, len(pairs))
	for i, p := range pairs {
		a, ok1 := lookup(p[0])
		b, ok2 := lookup(p[1])
		c, ok3 := lookup(p[0] + p[1])
		if !ok1 || !ok2 || !ok3 {
			return fmt.Errorf("%s[%d] %q %q: piece not in the vocabulary", what, i, p[0], p[1])
		}
		k := pairKey(int32(a), int32(b))
		if _, dup := t.merges[k]; !dup {
			t.merges[k] = mergeRule{rank: int32(i), id: int32(c)}
		}
	}
	return nil
}

// applyHFConfig takes bos_token / eos_token from tokenizer_config.json.
func (t *BPE) applyHFConfig(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	get := func(key string) (int, error) {
		raw, ok := cfg[key]
		if !ok || string(raw) == "null" {
			return -1, nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			var obj struct{ Content string }
			if err := json.Unmarshal(raw, &obj); err != nil {
				return -1, fmt.Errorf("%s: %s: %w", path, key, err)
			}
			s = obj.Content
		}
		id, ok := t.ids[s]
		if !ok {
			return -1, fmt.Errorf("%s: %s %q is not a token", path, key, s)
		}
		return id, nil
	}
	if t.bos, err = get("bos_token"); err != nil {
		return err
	}
	if t.eos, err = get("eos_token"); err != nil {
		return err
	}
	if raw, ok := cfg["add_bos_token"]; ok {
		if err := json.Unmarshal(raw, &t.addBOS); err != nil {
			return fmt.Errorf("%s: add_bos_token: %w", path, err)
		}
	} else {
		// Llama 3's config has no key; its tokenizer.json post-processor
		// (TemplateProcessing in Meta's release) adds BOS.
		t.addBOS = t.bos >= 0
	}
	t.eogs = nil
	t.setEOGs()
	return nil
}
