package tokenizer

import (
	"sync"

	"golang.org/x/text/unicode/norm"
)

// BPE is a byte-level BPE tokenizer (Llama 3, Qwen2, GPT-2 family): text is
// optionally NFC-normalised, split by the model's pre-tokenizer, and each
// word's bytes are merged lowest rank first (ties: leftmost), as tiktoken,
// Hugging Face tokenizers and llama.cpp's llm_tokenizer_bpe do.
type BPE struct {
	vocab
	raw     [][]byte         // the bytes each id decodes to
	byRaw   map[string]int32 // raw bytes of normal tokens -> id
	byteIDs [256]int32       // single-byte tokens
	// merges maps a pair of adjacent ids to its rank and result. For HF and
	// GGUF it is the merge list; for tiktoken (rankByBytes) it is built from
	// the ranks: every split of a token into two tokens merges with the rank
	// of the whole, which is exactly tiktoken's "rank of the concatenated
	// bytes" rule as parts are always tokens.
	rankByBytes  bool
	merges       map[uint64]mergeRule
	ignoreMerges bool // a word that is itself a token is emitted whole
	pre          preTokenizer
	nfc          bool
	scratch      bufPool[bpeScratch]
	// bytePair is merges for two single-byte parts, the most frequent
	// lookups, in a table small enough to stay in cache.
	bytePair []mergeRule // [256*256], rank -1 if none
	cache    wordCache
}

// wordCache remembers the ids of frequent short words. Words repeat a lot
// in natural text and a hit replaces a few dozen merge-table probes.
type wordCache struct {
	mu sync.RWMutex
	m  map[string][]int32
}

const (
	cacheMaxWord    = 64
	cacheMaxEntries = 1 << 18
)

func (c *wordCache) get(w string) ([]int32, bool) {
	c.mu.RLock()
	ids, ok := c.m[w]
	c.mu.RUnlock()
	return ids, ok
}

func (c *wordCache) put(w string, ids []int) {
	v := make([]int32, len(ids))
	for i, id := range ids {
		v[i] = int32(id)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= cacheMaxEntries {
		c.m = make(map[string][]int32, 1024) // start over rather than track recency
	}
	c.m[w] = v
	c.mu.Unlock()
}

type mergeRule struct{ rank, id int32 }

type bpePart struct {
	start, end int32 // byte range in the word
	id         int32
	prev, next int32
}

type bpeCand struct {
	rank, id    int32
	left, right int32
	lid, rid    int32 // ids at push time; stale if either changed
}

type bpeScratch struct {
	parts []bpePart
	heap  []bpeCand
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// finish indexes a BPE whose pieces, types, raw, bos, eos are set.
func (t *BPE) finish() {
	t.index()
	t.byRaw = make(map[string]int32, len(t.raw))
	for i := range t.byteIDs {
		t.byteIDs[i] = -1
	}
	for id, b := range t.raw {
		if t.types[id] != TypeNormal && t.types[id] != TypeByte {
			continue
		}
		k := string(b)
		if _, dup := t.byRaw[k]; !dup {
			t.byRaw[k] = int32(id)
		}
		if len(b) == 1 && t.byteIDs[b[0]] < 0 {
			t.byteIDs[b[0]] = int32(id)
		}
	}
	if t.rankByBytes {
		t.merges = make(map[uint64]mergeRule, 2*len(t.raw))
		for id, b := range t.raw {
			if t.types[id] != TypeNormal {
				continue
			}
			for k := 1; k < len(b); k++ {
				l, ok1 := t.byRaw[string(b[:k])]
				r, ok2 := t.byRaw[string(b[k:])]
				if ok1 && ok2 {
					t.merges[pairKey(l, r)] = mergeRule{rank: int32(id), id: int32(id)}
				}
			}
		}
	}
	t.bytePair = make([]mergeRule, 256*256)
	for a := range 256 {
		for b := range 256 {
			r := mergeRule{rank: -1}
			if la, lb := t.byteIDs[a], t.byteIDs[b]; la >= 0 && lb >= 0 {
				if m, ok := t.merges[pairKey(la, lb)]; ok {
					r = m
				}
			}
			t.bytePair[a<<8|b] = r
		}
	}
	t.setEOGs()
}

// Encode implements Tokenizer.
func (t *BPE) Encode(text string, opt EncodeOptions) []int {
	return encodeWith(&t.vocab, t, text, opt)
}

func (t *BPE) encodeFragment(dst []int, frag string, _ bool) []int {
	if t.nfc && !norm.NFC.IsNormalString(frag) {
		frag = norm.NFC.String(frag)
	}
	sc := t.scratch.get(func() *bpeScratch { return &bpeScratch{} })
	t.pre.split(frag, func(w string) { dst = t.encodeWord(dst, w, sc) })
	t.scratch.put(sc)
	return dst
}

func (t *BPE) encodeWord(dst []int, w string, sc *bpeScratch) []int {
	if len(w) == 1 {
		return t.appendByte(dst, w[0])
	}
	if len(w) <= cacheMaxWord {
		if ids, ok := t.cache.get(w); ok {
			for _, id := range ids {
				dst = append(dst, int(id))
			}
			return dst
		}
		n := len(dst)
		dst = t.bpeWord(dst, w, sc)
		t.cache.put(w, dst[n:])
		return dst
	}
	return t.bpeWord(dst, w, sc)
}

func (t *BPE) bpeWord(dst []int, w string, sc *bpeScratch) []int {
	if t.ignoreMerges || t.rankByBytes {
		if id, ok := t.byRaw[w]; ok {
			return append(dst, int(id))
		}
	}
	parts := sc.parts[:0]
	for i := 0; i < len(w); i++ {
		k := int32(len(parts))
		parts = append(parts, bpePart{start: int32(i), end: int32(i + 1), id: t.byteIDs[w[i]], prev: k - 1, next: k + 1})
	}
	parts[len(parts)-1].next = -1
	h := sc.heap[:0]
	for i := 1; i < len(parts); i++ {
		if m := t.bytePair[int(w[i-1])<<8|int(w[i])]; m.rank >= 0 {
			h = heapPushBPE(h, bpeCand{rank: m.rank, id: m.id, left: int32(i - 1), right: int32(i), lid: parts[i-1].id, rid: parts[i].id})
		}
	}
	for len(h) > 0 {
		var c bpeCand
		c, h = heapPopBPE(h)
		l, r := &parts[c.left], &parts[c.right]
		if l.id != c.lid || r.id != c.rid || l.next != c.right || r.end == 0 {
			continue
		}
		l.end, l.id, l.next = r.end, c.id, r.next
		r.end, r.id = 0, -2
		if r.next >= 0 {
			parts[r.next].prev = c.left
		}
		h = t.tryMerge(h, parts, l.prev, c.left)
		h = t.tryMerge(h, parts, c.left, l.next)
	}
	for i := int32(0); i >= 0; i = parts[i].next {
		p := parts[i]
		if p.id >= 0 {
			dst = append(dst, int(p.id))
		} else {
			for _, b := range []byte(w[p.start:p.end]) {
				dst = t.appendByte(dst, b)
			}
		}
	}
	sc.parts, sc.heap = parts, h
	return dst
}

// appendByte emits a single byte's token; bytes a vocabulary lacks are
// dropped, as llama.cpp does.
func (t *BPE) appendByte(dst []int, b byte) []int {
	if id := t.byteIDs[b]; id >= 0 {
		return append(dst, int(id))
	}
	return dst
}

func (t *BPE) tryMerge(h []bpeCand, parts []bpePart, left, right int32) []bpeCand {
	if left < 0 || right < 0 {
		return h
	}
	l, r := parts[left], parts[right]
	if l.id < 0 || r.id < 0 {
		return h
	}
	m, ok := t.merges[pairKey(l.id, r.id)]
	if !ok {
		return h
	}
	return heapPushBPE(h, bpeCand{rank: m.rank, id: m.id, left: left, right: right, lid: l.id, rid: r.id})
}

func bpeLess(a, b bpeCand) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.left < b.left)
}

func heapPushBPE(h []bpeCand, x bpeCand) []bpeCand {
	h = append(h, x)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !bpeLess(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	return h
}

func heapPopBPE(h []bpeCand) (bpeCand, []bpeCand) {
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
		if r := l + 1; r < n && bpeLess(h[r], h[l]) {
			m = r
		}
		if !bpeLess(h[m], h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	return top, h
}

// Decode implements Tokenizer like tiktoken and HF decode: every token's
// bytes (special tokens as their text), then UTF-8 with one U+FFFD per
// maximal ill-formed subsequence.
func (t *BPE) Decode(ids []int) string { return decodeString(t, ids) }

func (t *BPE) replaceMode() replaceMode { return replaceMaximal }

func (t *BPE) decodeStep(st *decodeState, id int) {
	if id >= 0 && id < len(t.raw) {
		st.emit(t.raw[id])
	}
}

// GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to
// U+0100 onwards, so every byte string is a printable piece ("Ġ" = space).
var byteToRune, runeToByte = func() (b2r [256]rune, r2b map[rune]byte) {
	r2b = make(map[rune]byte, 256)
	n := 0
	for b := 0; b < 256; b++ {
		if b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF {
			b2r[b] = rune(b)
		} else {
			b2r[b] = rune(256 + n)
			n++
		}
		r2b[b2r[b]] = byte(b)
	}
	return
}()

// byteLevelDecode maps a GPT-2 byte-level piece back to its bytes.
func byteLevelDecode(p string) ([]byte, bool) {
	out := make([]byte, 0, len(p))
	for _, r := range p {
		b, ok := runeToByte[r]
		if !ok {
			return nil, false
		}
		out = append(out, b)
	}
	return out, true
}

// byteLevelEncode maps bytes to their GPT-2 byte-level piece.
func byteLevelEncode(b []byte) string {
	rs := make([]rune, len(b))
	for i, c := range b {
		rs[i] = byteToRune[c]
	}
	return string(rs)
}
