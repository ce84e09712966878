package tokenizer

import (
	"strings"
	"unicode/utf8"
)

const spaceSymbol = "\u2581" // ▁, SentencePiece's escaped space

// SPM is a SentencePiece BPE tokenizer (Llama 2): text is escaped (' ' ->
// '▁', plus a dummy-prefix '▁'), split into characters, and adjacent
// symbols are merged highest score first (ties: leftmost), as SentencePiece's
// bpe_model.cc and llama.cpp's llm_tokenizer_spm do. Symbols that are not in
// the vocabulary fall back to <0xHH> byte tokens.
type SPM struct {
	vocab
	scores         []float32
	byteIDs        [256]int // <0xHH> piece ids, -1 if absent
	unk            int
	addDummyPrefix bool
	byteFallback   bool
	removeExtraWS  bool // SentencePiece remove_extra_whitespaces: trim and collapse ' ' runs
	// merge holds the pieces that may be formed by merging: SentencePiece's
	// pieces_ (normal, user-defined and unused; not control, unknown, byte).
	merge   map[string]int32
	scratch bufPool[spmScratch]
	// wordSplit: no mergeable piece has '▁' after another character, so
	// words (a '▁' run plus what follows) encode independently and cache.
	wordSplit bool
	cache     wordCache
}

type spmSymbol struct {
	start, n   int32 // byte range in the escaped text; n == 0 once merged away
	prev, next int32
}

type spmBigram struct {
	left, right int32
	score       float32
	size        int32
}

type spmScratch struct {
	text []byte
	syms []spmSymbol
	heap []spmBigram
}

// newSPM finishes a loaded vocabulary. pieces, types and scores must have
// the same length.
func newSPM(pieces []string, types []TokenType, scores []float32, bos, eos, unk int, addDummyPrefix, byteFallback bool) *SPM {
	t := &SPM{scores: scores, unk: unk, addDummyPrefix: addDummyPrefix, byteFallback: byteFallback}
	t.pieces, t.types, t.bos, t.eos = pieces, types, bos, eos
	t.addBOS = true
	t.index()
	t.merge = make(map[string]int32, len(pieces))
	for i := range t.byteIDs {
		t.byteIDs[i] = -1
	}
	for id, p := range pieces {
		switch types[id] {
		case TypeNormal, TypeUserDefined, TypeUnused:
			if _, dup := t.merge[p]; !dup {
				t.merge[p] = int32(id)
			}
		case TypeByte:
			if b, ok := parseBytePiece(p); ok && t.byteIDs[b] < 0 {
				t.byteIDs[b] = id
			}
		}
	}
	t.wordSplit = true
	for p := range t.merge {
		if i := strings.Index(p, spaceSymbol); i > 0 && !strings.HasSuffix(p[:i], spaceSymbol) {
			t.wordSplit = false
		} else if i == 0 {
			rest := strings.TrimLeft(p, spaceSymbol)
			if strings.Contains(rest, spaceSymbol) {
				t.wordSplit = false
			}
		}
	}
	t.setEOGs()
	return t
}

// parseBytePiece parses "<0xHH>".
func parseBytePiece(p string) (byte, bool) {
	if len(p) != 6 || p[:3] != "<0x" || p[5] != '>' {
		return 0, false
	}
	hi, ok1 := hexVal(p[3])
	lo, ok2 := hexVal(p[4])
	return hi<<4 | lo, ok1 && ok2
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// Encode implements Tokenizer.
func (t *SPM) Encode(text string, opt EncodeOptions) []int {
	return encodeWith(&t.vocab, t, text, opt)
}

func (t *SPM) encodeFragment(dst []int, frag string, afterSpecial bool) []int {
	if t.removeExtraWS {
		frag = strings.Trim(frag, " ")
	}
	if frag == "" {
		return dst
	}
	sc := t.scratch.get(func() *spmScratch { return &spmScratch{} })
	defer t.scratch.put(sc)

	// Escape: optional dummy prefix, ' ' -> '▁'.
	text := sc.text[:0]
	if t.addDummyPrefix && afterSpecial {
		text = append(text, spaceSymbol...)
	}
	for i := 0; i < len(frag); i++ {
		if frag[i] == ' ' {
			if t.removeExtraWS && i > 0 && frag[i-1] == ' ' {
				continue
			}
			text = append(text, spaceSymbol...)
		} else {
			text = append(text, frag[i])
		}
	}
	sc.text = text

	if !t.wordSplit {
		return t.mergeSymbols(dst, text, sc)
	}
	// No piece has '▁' after another character, so no merge crosses the
	// start of a '▁' run: each such word merges on its own, and frequent
	// words come from the cache.
	start := 0
	for i := 1; i <= len(text); i++ {
		if i < len(text) && !(text[i] == 0xE2 && i+2 < len(text) && text[i+1] == 0x96 && text[i+2] == 0x81 && !endsWithSpace(text[:i])) {
			continue
		}
		w := text[start:i]
		start = i
		if len(w) > cacheMaxWord {
			dst = t.mergeSymbols(dst, w, sc)
			continue
		}
		if ids, ok := t.cache.get(string(w)); ok {
			for _, id := range ids {
				dst = append(dst, int(id))
			}
			continue
		}
		n := len(dst)
		dst = t.mergeSymbols(dst, w, sc)
		t.cache.put(string(w), dst[n:])
	}
	return dst
}

func endsWithSpace(b []byte) bool {
	n := len(b)
	return n >= 3 && b[n-3] == 0xE2 && b[n-2] == 0x96 && b[n-1] == 0x81
}

// mergeSymbols runs the score-ordered merges over text and appends the ids.
func (t *SPM) mergeSymbols(dst []int, text []byte, sc *spmScratch) []int {
	// One symbol per UTF-8 character (an invalid byte is its own symbol).
	syms := sc.syms[:0]
	for i := 0; i < len(text); {
		_, n := utf8.DecodeRune(text[i:])
		k := int32(len(syms))
		syms = append(syms, spmSymbol{start: int32(i), n: int32(n), prev: k - 1, next: k + 1})
		i += n
	}
	syms[len(syms)-1].next = -1
	sc.syms = syms

	h := sc.heap[:0]
	for i := 1; i < len(syms); i++ {
		h = t.tryBigram(h, text, syms, int32(i-1), int32(i))
	}
	for len(h) > 0 {
		var bg spmBigram
		bg, h = heapPopSPM(h)
		l, r := &syms[bg.left], &syms[bg.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != bg.size {
			continue // stale: one side was merged since
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = bg.left
		}
		h = t.tryBigram(h, text, syms, l.prev, bg.left)
		h = t.tryBigram(h, text, syms, bg.left, l.next)
	}
	sc.heap = h

	for i := int32(0); i >= 0; i = syms[i].next {
		s := syms[i]
		dst = t.resegment(dst, text[s.start:s.start+s.n])
	}
	return dst
}

func (t *SPM) tryBigram(h []spmBigram, text []byte, syms []spmSymbol, left, right int32) []spmBigram {
	if left < 0 || right < 0 {
		return h
	}
	l, r := syms[left], syms[right]
	id, ok := t.merge[string(text[l.start:r.start+r.n])]
	if !ok {
		return h
	}
	return heapPushSPM(h, spmBigram{left: left, right: right, score: t.scores[id], size: l.n + r.n})
}

// resegment emits a final symbol: its id, or its bytes as <0xHH> tokens.
// (SentencePiece would also split merged "unused" pieces back; llama.cpp and
// the Llama vocabularies have none, so an unused piece is emitted as is.)
func (t *SPM) resegment(dst []int, piece []byte) []int {
	if id, ok := t.merge[string(piece)]; ok {
		return append(dst, int(id))
	}
	if t.byteFallback {
		for _, b := range piece {
			if id := t.byteIDs[b]; id >= 0 {
				dst = append(dst, id)
			} else if t.unk >= 0 {
				dst = append(dst, t.unk)
			}
		}
		return dst
	}
	if t.unk >= 0 {
		dst = append(dst, t.unk)
	}
	return dst
}

// spmLess orders bigrams: higher score first, then leftmost.
func spmLess(a, b spmBigram) bool {
	return a.score > b.score || (a.score == b.score && a.left < b.left)
}

func heapPushSPM(h []spmBigram, x spmBigram) []spmBigram {
	h = append(h, x)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !spmLess(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	return h
}

func heapPopSPM(h []spmBigram) (spmBigram, []spmBigram) {
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && spmLess(h[r], h[l]) {
			m = r
		}
		if !spmLess(h[m], h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	return top, h
}

// Decode implements Tokenizer with SentencePiece DecodeIds semantics:
// control tokens are empty, '▁' is a space, one leading space of the first
// visible piece is dropped (the dummy prefix), runs of byte tokens are
// UTF-8 decoded with one U+FFFD per invalid byte, unknown is " ⁇ ".
func (t *SPM) Decode(ids []int) string { return decodeString(t, ids) }

func (t *SPM) replaceMode() replaceMode { return replacePerByte }

func (t *SPM) decodeStep(st *decodeState, id int) {
	switch t.typ(id) {
	case TypeControl, TypeUndefined:
		st.drain(true) // a control token ends a byte run
		return
	case TypeByte:
		if b, ok := parseBytePiece(t.pieces[id]); ok {
			st.pending = append(st.pending, b)
			st.atStart = false
			return
		}
	case TypeUnknown:
		st.drain(true)
		st.emitString(" \u2047 ")
		st.atStart = false
		return
	}
	st.drain(true)
	p := t.pieces[id]
	if st.atStart && (t.addDummyPrefix || t.removeExtraWS) {
		p = strings.TrimPrefix(p, spaceSymbol)
	}
	st.atStart = false
	for len(p) > 0 {
		i := strings.Index(p, spaceSymbol)
		if i < 0 {
			st.emitString(p)
			break
		}
		st.emitString(p[:i])
		st.pending = append(st.pending, ' ')
		p = p[i+len(spaceSymbol):]
	}
}
