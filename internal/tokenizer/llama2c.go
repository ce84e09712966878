package tokenizer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
)

// Llama2C is the tokenizer of llama2.c (tokenizer.bin): SentencePiece pieces
// exported with '▁' turned into ' ', encoded and decoded exactly as run.c's
// encode() and decode() do. Its ids agree with SentencePiece on ordinary
// text; the differences are run.c's (no UTF-8 validation, BOS taking part in
// merges).
type Llama2C struct {
	vocab
	scores   []float32
	maxLen   int
	lookup   map[string]int32 // run.c str_lookup
	spaceID  int              // id of " " (the dummy prefix), -1 if absent
	byteBase int              // run.c assumes <0x00> is id 3
	scratch  bufPool[l2cScratch]
}

type l2cSym struct {
	id         int32
	prev, next int32
}

type l2cPair struct {
	left, right int32
	lid, rid    int32 // ids at push time; stale if either changed
	score       float32
	id          int32
}

type l2cScratch struct {
	syms []l2cSym
	heap []l2cPair
	buf  []byte
}

// LoadLlama2C reads a llama2.c tokenizer.bin: int32 max_token_length, then
// per token float32 score, int32 length, bytes. The file does not store the
// vocabulary size (run.c takes it from the model header); vocabSize <= 0
// reads tokens until the end of the file.
func LoadLlama2C(path string, vocabSize int) (*Llama2C, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("llama2.c tokenizer: %w", err)
	}
	t, err := parseLlama2C(b, vocabSize)
	if err != nil {
		return nil, fmt.Errorf("llama2.c tokenizer %s: %w", path, err)
	}
	return t, nil
}

func parseLlama2C(b []byte, vocabSize int) (*Llama2C, error) {
	if len(b) < 4 {
		return nil, errors.New("file shorter than the 4-byte header")
	}
	maxLen := int(int32(binary.LittleEndian.Uint32(b)))
	if maxLen <= 0 || maxLen > 1<<16 {
		return nil, fmt.Errorf("offset 0: max_token_length %d out of range", maxLen)
	}
	var pieces []string
	var scores []float32
	off := 4
	for vocabSize <= 0 && off < len(b) || vocabSize > 0 && len(pieces) < vocabSize {
		if len(b)-off < 8 {
			return nil, fmt.Errorf("offset %d: token %d: truncated header (want %d tokens)", off, len(pieces), vocabSize)
		}
		score := math.Float32frombits(binary.LittleEndian.Uint32(b[off:]))
		n := int(int32(binary.LittleEndian.Uint32(b[off+4:])))
		if n < 0 || n > maxLen || n > len(b)-off-8 {
			return nil, fmt.Errorf("offset %d: token %d: length %d (max_token_length %d, %d bytes left)", off+4, len(pieces), n, maxLen, len(b)-off-8)
		}
		pieces = append(pieces, string(b[off+8:off+8+n]))
		scores = append(scores, score)
		off += 8 + n
	}
	// run.c's byte fallback emits byte+3, so ids 3..258 must be <0x00>..<0xFF>.
	if len(pieces) < 259 {
		return nil, fmt.Errorf("%d tokens: need <unk>, BOS, EOS and 256 byte pieces", len(pieces))
	}
	for i := 0; i < 256; i++ {
		if b, ok := parseBytePiece(pieces[3+i]); !ok || int(b) != i {
			return nil, fmt.Errorf("token %d is %q, want <0x%02X> (run.c byte fallback)", 3+i, pieces[3+i], i)
		}
	}
	return newLlama2C(pieces, scores, maxLen), nil
}

func newLlama2C(pieces []string, scores []float32, maxLen int) *Llama2C {
	t := &Llama2C{scores: scores, maxLen: maxLen, byteBase: 3}
	t.pieces = pieces
	t.types = make([]TokenType, len(pieces))
	for i, p := range pieces {
		switch {
		case i == 0:
			t.types[i] = TypeUnknown
		case i == 1 || i == 2: // run.c hard-codes BOS=1 and EOS=2
			t.types[i] = TypeControl
		default:
			if _, ok := parseBytePiece(p); ok {
				t.types[i] = TypeByte
			} else {
				t.types[i] = TypeNormal
			}
		}
	}
	t.bos, t.eos, t.addBOS = 1, 2, true
	// Special pieces are never parsed from text: run.c has no such notion.
	t.ids = make(map[string]int, len(pieces))
	t.lookup = make(map[string]int32, len(pieces))
	for i, p := range pieces {
		if _, dup := t.ids[p]; !dup {
			t.ids[p] = i
			t.lookup[p] = int32(i)
		}
	}
	t.spaceID = -1
	if id, ok := t.lookup[" "]; ok {
		t.spaceID = int(id)
	}
	t.setEOGs()
	return t
}

// Encode implements Tokenizer: run.c encode(text, bos, eos). ParseSpecial
// is ignored (run.c treats all text as plain).
func (t *Llama2C) Encode(text string, opt EncodeOptions) []int {
	sc := t.scratch.get(func() *l2cScratch { return &l2cScratch{} })
	defer t.scratch.put(sc)
	syms := sc.syms[:0]
	add := func(id int) {
		k := int32(len(syms))
		syms = append(syms, l2cSym{id: int32(id), prev: k - 1, next: k + 1})
	}
	if opt.AddBOS {
		add(1)
	}
	if text != "" && t.spaceID >= 0 {
		add(t.spaceID)
	}
	// Code points (at most 4 bytes; run.c groups a lead byte with following
	// continuation bytes) looked up whole, else byte fallback id = byte+3.
	for i := 0; i < len(text); {
		j := i + 1
		for j < len(text) && text[j]&0xC0 == 0x80 && j-i < 4 {
			j++
		}
		if id, ok := t.lookup[text[i:j]]; ok {
			add(int(id))
		} else {
			for k := i; k < j; k++ {
				add(int(text[k]) + t.byteBase)
			}
		}
		i = j
	}
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}

	// run.c merges the best-scoring pair (leftmost on ties) until none is in
	// the vocabulary; a heap gives the same order in O(n log n).
	h := sc.heap[:0]
	for i := 1; i < len(syms); i++ {
		h = t.tryPair(h, sc, syms, int32(i-1), int32(i))
	}
	for len(h) > 0 {
		var p l2cPair
		p, h = heapPopL2C(h)
		l, r := &syms[p.left], &syms[p.right]
		if l.id != p.lid || r.id != p.rid || l.next != p.right || r.id < 0 {
			continue
		}
		l.id = p.id
		r.id = -1
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = p.left
		}
		h = t.tryPair(h, sc, syms, l.prev, p.left)
		h = t.tryPair(h, sc, syms, p.left, l.next)
	}
	sc.heap, sc.syms = h, syms

	out := make([]int, 0, len(syms)+1)
	if len(syms) > 0 {
		for i := int32(0); i >= 0; i = syms[i].next {
			out = append(out, int(syms[i].id))
		}
	}
	if opt.AddEOS {
		out = append(out, 2)
	}
	return out
}

func (t *Llama2C) tryPair(h []l2cPair, sc *l2cScratch, syms []l2cSym, left, right int32) []l2cPair {
	if left < 0 || right < 0 {
		return h
	}
	lid, rid := syms[left].id, syms[right].id
	if lid < 0 || rid < 0 || int(lid) >= len(t.pieces) || int(rid) >= len(t.pieces) {
		return h
	}
	sc.buf = append(append(sc.buf[:0], t.pieces[lid]...), t.pieces[rid]...)
	id, ok := t.lookup[string(sc.buf)]
	if !ok {
		return h
	}
	return heapPushL2C(h, l2cPair{left: left, right: right, lid: lid, rid: rid, score: t.scores[id], id: id})
}

func l2cLess(a, b l2cPair) bool {
	return a.score > b.score || (a.score == b.score && a.left < b.left)
}

func heapPushL2C(h []l2cPair, x l2cPair) []l2cPair {
	h = append(h, x)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !l2cLess(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	return h
}

func heapPopL2C(h []l2cPair) (l2cPair, []l2cPair) {
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && l2cLess(h[r], h[l]) {
			m = r
		}
		if !l2cLess(h[m], h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	return top, h
}

// Decode implements Tokenizer as run.c prints a generation: each id through
// decode(prev, id) (the leading space of the piece after BOS is dropped,
// <0xHH> is a raw byte); BOS itself prints nothing. Invalid UTF-8 becomes
// U+FFFD per byte.
func (t *Llama2C) Decode(ids []int) string { return decodeString(t, ids) }

func (t *Llama2C) replaceMode() replaceMode { return replacePerByte }

func (t *Llama2C) decodeStep(st *decodeState, id int) {
	if id < 0 || id >= len(t.pieces) || id == t.bos {
		return
	}
	p := t.pieces[id]
	if st.prev == t.bos {
		p = strings.TrimPrefix(p, " ")
	}
	if b, ok := parseRunCByte(p); ok {
		st.pending = append(st.pending, b)
		return
	}
	st.emitString(p)
}

// parseRunCByte mirrors sscanf(piece, "<0x%02hhX>", &b) == 1.
func parseRunCByte(p string) (byte, bool) {
	if !strings.HasPrefix(p, "<0x") || len(p) < 4 {
		return 0, false
	}
	v, n := byte(0), 0
	for n < 2 && 3+n < len(p) {
		d, ok := hexVal(p[3+n])
		if !ok {
			break
		}
		v = v<<4 | d
		n++
	}
	return v, n > 0
}

// looksLikeLlama2C checks the structure of a whole tokenizer.bin.
func looksLikeLlama2C(b []byte) bool {
	if len(b) < 12 {
		return false
	}
	_, err := parseLlama2C(b, 0)
	return err == nil
}
