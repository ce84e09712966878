// Package tokenizer turns text into token ids and back for the two tokenizer
// families of BayLing 2's base models: SentencePiece BPE (Llama 2, score-based
// merges with byte fallback and a dummy prefix) and byte-level BPE (Llama 3's
// tiktoken ranks, Qwen2-style Hugging Face merges), plus the llama2.c
// tokenizer.bin variant. The bar is id-for-id agreement with the reference
// implementations (SentencePiece, tiktoken, Hugging Face tokenizers,
// llama.cpp, llama2.c run.c); see docs/tokenizer.md.
package tokenizer

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// EncodeOptions selects the model's special-token handling for one call.
type EncodeOptions struct {
	AddBOS       bool // prepend BOS if the model has one
	AddEOS       bool // append EOS if the model has one
	ParseSpecial bool // recognise control/special token text like "<|eot_id|>"
}

// Tokenizer is implemented by every tokenizer in this package. All methods are
// safe for concurrent use.
type Tokenizer interface {
	Encode(text string, opt EncodeOptions) []int
	Decode(ids []int) string
	Piece(id int) string // raw vocab piece as stored in the model ("▁the", "Ġthe", "<0x0A>")
	VocabSize() int
	BOS() int // -1 if none
	EOS() int // -1 if none
	EOGs() []int
	IsControl(id int) bool
	TokenID(piece string) (int, bool)
}

// TokenType follows SentencePiece's and GGUF's tokenizer.ggml.token_type numbering.
type TokenType int32

const (
	TypeUndefined   TokenType = 0
	TypeNormal      TokenType = 1
	TypeUnknown     TokenType = 2
	TypeControl     TokenType = 3
	TypeUserDefined TokenType = 4
	TypeUnused      TokenType = 5
	TypeByte        TokenType = 6
)

// vocab holds what every tokenizer shares: pieces, types, the piece index,
// special ids and the matcher that finds special-token text.
type vocab struct {
	pieces []string
	types  []TokenType
	ids    map[string]int // piece -> lowest id with that piece
	bos    int
	eos    int
	eogs   []int
	addBOS bool // the model's own default (GGUF add_bos_token, HF config, ...)

	// special matching: userDefined tokens are always split out of text (as
	// llama.cpp and Hugging Face do); control tokens only with ParseSpecial.
	always  matcher
	special matcher
}

func (v *vocab) VocabSize() int { return len(v.pieces) }
func (v *vocab) BOS() int       { return v.bos }
func (v *vocab) EOS() int       { return v.eos }
func (v *vocab) EOGs() []int    { return slices.Clone(v.eogs) }

func (v *vocab) Piece(id int) string {
	if id < 0 || id >= len(v.pieces) {
		return ""
	}
	return v.pieces[id]
}

func (v *vocab) IsControl(id int) bool {
	return id >= 0 && id < len(v.types) && v.types[id] == TypeControl
}

func (v *vocab) TokenID(piece string) (int, bool) {
	id, ok := v.ids[piece]
	return id, ok
}

func (v *vocab) typ(id int) TokenType {
	if id < 0 || id >= len(v.types) {
		return TypeUndefined
	}
	return v.types[id]
}

// index builds ids and the special matchers. It is called once at load.
func (v *vocab) index() {
	v.ids = make(map[string]int, len(v.pieces))
	var always, special []matchToken
	for id, p := range v.pieces {
		if _, dup := v.ids[p]; !dup {
			v.ids[p] = id
		}
		if p == "" {
			continue
		}
		switch v.types[id] {
		case TypeUserDefined:
			always = append(always, matchToken{p, id})
			special = append(special, matchToken{p, id})
		case TypeControl, TypeUnknown:
			special = append(special, matchToken{p, id})
		}
	}
	v.always = newMatcher(always)
	v.special = newMatcher(special)
}

// setEOGs records end-of-generation ids: EOS plus the usual end-of-turn
// pieces, the way llama.cpp recognises them.
func (v *vocab) setEOGs(extra ...int) {
	seen := map[int]bool{}
	add := func(id int) {
		if id >= 0 && id < len(v.pieces) && !seen[id] {
			seen[id] = true
			v.eogs = append(v.eogs, id)
		}
	}
	add(v.eos)
	for _, id := range extra {
		add(id)
	}
	for _, p := range []string{"<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<|im_end|>", "<|endoftext|>", "<|end|>", "<end_of_turn>", "<|return|>", "<|call|>"} {
		if id, ok := v.ids[p]; ok && v.types[id] != TypeNormal {
			add(id)
		}
	}
}

// matchToken is one special piece recognised in text.
type matchToken struct {
	text string
	id   int
}

// matcher finds the leftmost, then longest, special piece in a text.
type matcher struct {
	byFirst [256][]matchToken // candidates by first byte, longest first
	any     bool
}

func newMatcher(toks []matchToken) matcher {
	var m matcher
	for _, t := range toks {
		m.byFirst[t.text[0]] = append(m.byFirst[t.text[0]], t)
		m.any = true
	}
	for i := range m.byFirst {
		slices.SortStableFunc(m.byFirst[i], func(a, b matchToken) int { return len(b.text) - len(a.text) })
	}
	return m
}

// next returns the start, end and id of the first special piece in s at or
// after offset from, or start = -1.
func (m *matcher) next(s string, from int) (start, end, id int) {
	if !m.any {
		return -1, -1, -1
	}
	for i := from; i < len(s); i++ {
		for _, t := range m.byFirst[s[i]] {
			if strings.HasPrefix(s[i:], t.text) {
				return i, i + len(t.text), t.id
			}
		}
	}
	return -1, -1, -1
}

// fragmentEncoder encodes one run of plain text. afterSpecial is true for the
// first fragment and for fragments that follow a special token (SentencePiece
// adds its dummy prefix there, as llama.cpp does).
type fragmentEncoder interface {
	encodeFragment(dst []int, text string, afterSpecial bool) []int
}

// encodeWith splits text on special pieces and encodes the plain fragments.
func encodeWith(v *vocab, fe fragmentEncoder, text string, opt EncodeOptions) []int {
	out := make([]int, 0, len(text)/3+2)
	if opt.AddBOS && v.bos >= 0 {
		out = append(out, v.bos)
	}
	m := &v.always
	if opt.ParseSpecial {
		m = &v.special
	}
	afterSpecial := true
	pos := 0
	for pos < len(text) {
		s, e, id := m.next(text, pos)
		if s < 0 {
			out = fe.encodeFragment(out, text[pos:], afterSpecial)
			break
		}
		if s > pos {
			out = fe.encodeFragment(out, text[pos:s], afterSpecial)
		}
		out = append(out, id)
		afterSpecial = true
		pos = e
	}
	if opt.AddEOS && v.eos >= 0 {
		out = append(out, v.eos)
	}
	return out
}

// stepDecoder turns one id into bytes, given the state of the sequence so
// far. Decode and StreamDecoder share it so their text is identical.
type stepDecoder interface {
	decodeStep(st *decodeState, id int)
	replaceMode() replaceMode
}

// decodeString runs a whole id sequence through a stepDecoder.
func decodeString(sd stepDecoder, ids []int) string {
	st := decodeState{atStart: true, prev: -1, mode: sd.replaceMode(), out: make([]byte, 0, 4*len(ids)+8), pending: make([]byte, 0, 64)}
	for _, id := range ids {
		sd.decodeStep(&st, id)
		st.prev = id
	}
	st.drain(true)
	return string(st.out)
}

// bufPool recycles scratch buffers of encoders.
type bufPool[T any] struct{ p sync.Pool }

func (b *bufPool[T]) get(newFn func() *T) *T {
	if x, ok := b.p.Get().(*T); ok {
		return x
	}
	return newFn()
}

func (b *bufPool[T]) put(x *T) { b.p.Put(x) }

// AddBOSByDefault reports whether the model declares that BOS starts every
// sequence (GGUF tokenizer.ggml.add_bos_token, tokenizer_config.json
// add_bos_token, SentencePiece/llama2.c/Llama 3 convention). Encode itself
// only adds BOS when asked.
func AddBOSByDefault(t Tokenizer) bool {
	if d, ok := t.(interface{ addBOSDefault() bool }); ok {
		return d.addBOSDefault() && t.BOS() >= 0
	}
	return false
}

func (v *vocab) addBOSDefault() bool { return v.addBOS }

// CheckIDs reports the first id outside the vocabulary.
func CheckIDs(t Tokenizer, ids []int) error {
	for i, id := range ids {
		if id < 0 || id >= t.VocabSize() {
			return fmt.Errorf("token %d: id %d out of range [0,%d)", i, id, t.VocabSize())
		}
	}
	return nil
}
