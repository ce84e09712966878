package tokenizer

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bayling-go/bayling/internal/gguf"
)

// Load reads a tokenizer from a SentencePiece tokenizer.model, a tiktoken
// tokenizer.model (Llama 3), a Hugging Face tokenizer.json (with
// tokenizer_config.json beside it), a GGUF file, a llama2.c tokenizer.bin
// (vocabulary size inferred from the file length), or a directory holding
// one of these.
func Load(path string) (Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if st.IsDir() {
		return loadDir(path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := loadBytes(path, b)
	if err != nil {
		if strings.Contains(err.Error(), path) { // GGUF errors already name the file
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	return t, nil
}

func loadDir(dir string) (Tokenizer, error) {
	var errs []error
	for _, name := range []string{"tokenizer.json", "tokenizer.model", "original/tokenizer.model", "tokenizer.bin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		t, err := Load(p)
		if err == nil {
			return t, nil
		}
		errs = append(errs, err)
	}
	ggufs, _ := filepath.Glob(filepath.Join(dir, "*.gguf"))
	if len(ggufs) == 1 {
		return Load(ggufs[0])
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(ggufs) > 1 {
		return nil, fmt.Errorf("tokenizer %s: %d GGUF files and no tokenizer.json/tokenizer.model: pass one file", dir, len(ggufs))
	}
	return nil, fmt.Errorf("tokenizer %s: no tokenizer.json, tokenizer.model, tokenizer.bin or .gguf in the directory", dir)
}

// loadBytes sniffs the format from the content.
func loadBytes(path string, b []byte) (Tokenizer, error) {
	trimmed := bytes.TrimLeft(b, " \t\r\n")
	switch {
	case len(b) >= 4 && string(b[:4]) == "GGUF":
		f, err := gguf.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return FromGGUF(f)
	case len(trimmed) > 0 && trimmed[0] == '{':
		return orNil(loadHFJSON(path, b))
	case looksLikeTiktoken(b):
		return orNil(loadTiktoken(b))
	}
	spmErr := errors.New("not a SentencePiece model")
	if len(b) > 0 && b[0] == 0x0A {
		t, err := LoadSPMBytes(b)
		if err == nil {
			return t, nil
		}
		spmErr = fmt.Errorf("as SentencePiece model: %w", err)
	}
	if looksLikeLlama2C(b) {
		return orNil(parseLlama2C(b, 0))
	}
	return nil, fmt.Errorf("unrecognised tokenizer format (not GGUF, tokenizer.json, tiktoken, llama2.c tokenizer.bin; %v)", spmErr)
}

// orNil keeps a failed concrete loader from returning a non-nil interface
// that holds a nil pointer.
func orNil[T Tokenizer](t T, err error) (Tokenizer, error) {
	if err != nil {
		return nil, err
	}
	return t, nil
}

// looksLikeTiktoken checks the first line for "base64 rank".
func looksLikeTiktoken(b []byte) bool {
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	tok, rank, ok := bytes.Cut(line, []byte{' '})
	if !ok || len(tok) == 0 {
		return false
	}
	if _, err := strconv.Atoi(string(rank)); err != nil {
		return false
	}
	_, err := base64.StdEncoding.DecodeString(string(tok))
	return err == nil
}

// llama3Specials are the 256 special tokens Meta's Llama 3 tokenizer.py
// assigns after the 128000 ranks, with Llama 3.1's names (the ids of the
// named tokens are the same in every release; the reserved_special_token_N
// numbering and 128005/128011 differ: 3.0 has reserved_2/3/4 at 128004/5/8,
// 3.2+ names 128005 <|step_id|> and 128011 <|image|>).
func llama3Specials() []string {
	s := []string{
		"<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
		"<|finetune_right_pad_id|>", "<|reserved_special_token_2|>", "<|start_header_id|>", "<|end_header_id|>",
		"<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
	}
	for i := 3; len(s) < 256; i++ {
		s = append(s, "<|reserved_special_token_"+strconv.Itoa(i)+"|>")
	}
	return s
}

// loadTiktoken reads "base64(bytes) rank" lines. Ranks must be 0..n-1. A
// 128000-rank file is Llama 3's: its special tokens and pattern are added.
func loadTiktoken(b []byte) (*BPE, error) {
	var raw [][]byte
	for ln, line := range bytes.Split(b, []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		tok, rank, ok := bytes.Cut(line, []byte{' '})
		if !ok {
			return nil, fmt.Errorf("tiktoken line %d: want \"base64 rank\"", ln+1)
		}
		bs, err := base64.StdEncoding.DecodeString(string(tok))
		if err != nil {
			return nil, fmt.Errorf("tiktoken line %d: %w", ln+1, err)
		}
		r, err := strconv.Atoi(string(rank))
		if err != nil || r != len(raw) {
			return nil, fmt.Errorf("tiktoken line %d: rank %q, want %d (ranks must be consecutive)", ln+1, rank, len(raw))
		}
		if len(bs) == 0 {
			return nil, fmt.Errorf("tiktoken line %d: empty token", ln+1)
		}
		raw = append(raw, bs)
	}
	t := &BPE{rankByBytes: true, pre: preLlama3}
	t.bos, t.eos = -1, -1
	t.pieces = make([]string, len(raw))
	t.types = make([]TokenType, len(raw))
	for i, r := range raw {
		t.pieces[i] = byteLevelEncode(r)
		t.types[i] = TypeNormal
	}
	t.raw = raw
	if len(raw) == 128000 {
		for _, s := range llama3Specials() {
			t.pieces = append(t.pieces, s)
			t.types = append(t.types, TypeControl)
			t.raw = append(t.raw, []byte(s))
		}
		t.bos, t.eos, t.addBOS = 128000, 128001, true
	}
	if err := t.checkBytes(); err != nil {
		return nil, err
	}
	t.finish()
	return t, nil
}

// checkBytes verifies every single byte has a token, which byte-level BPE
// needs to encode arbitrary text.
func (t *BPE) checkBytes() error {
	var have [256]bool
	for id, r := range t.raw {
		if len(r) == 1 && t.types[id] == TypeNormal {
			have[r[0]] = true
		}
	}
	for b, ok := range have {
		if !ok {
			return fmt.Errorf("no token for byte 0x%02X", b)
		}
	}
	return nil
}
