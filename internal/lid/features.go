package lid

import (
	"unicode"
	"unicode/utf8"
)

// Features: every word (a maximal run of letters and marks, lower-cased) is
// framed as "<word>" and contributes its character n-grams of length
// minN..maxN, each hashed into one of the model's buckets, plus one feature
// for the whole word when it is short enough to be a real word. This is the
// fastText recipe; it is done over runes with a rolling FNV-1a so that no
// string is built.

const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
	bow       = '<'
	eow       = '>'
	maxWord   = 24 // longer "words" (unsegmented scripts) get no word feature
)

// extractor holds the scratch a single goroutine needs; reused via sync.Pool.
type extractor struct {
	bigrams bool   // emit word-bigram features
	prev    uint32 // hash of the previous word, 0 at the start
	word    []rune
	feats   []uint32
	scripts []int
}

func newExtractor(bigrams bool) *extractor {
	return &extractor{
		bigrams: bigrams,
		word:    make([]rune, 0, 64),
		feats:   make([]uint32, 0, 1024),
		scripts: make([]int, numScripts),
	}
}

// extract fills e.feats with bucket ids for text and returns the dominant
// script id (0 when the text has no letters of a known script).
func (e *extractor) extract(text string, minN, maxN int, buckets uint32) uint8 {
	e.feats = e.feats[:0]
	e.prev = 0
	clear(e.scripts)
	e.word = append(e.word[:0], bow)
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		if unicode.IsLetter(r) || (len(e.word) > 1 && unicode.IsMark(r)) {
			e.scripts[scriptOf(r)] += scriptWeight[scriptOf(r)]
			e.word = append(e.word, unicode.ToLower(r))
			continue
		}
		e.flush(minN, maxN, buckets)
	}
	e.flush(minN, maxN, buckets)
	best, bestN := 0, 0
	for id := 1; id < len(e.scripts); id++ {
		if e.scripts[id] > bestN {
			best, bestN = id, e.scripts[id]
		}
	}
	return uint8(best)
}

// flush emits the features of the word collected so far and starts a new one.
func (e *extractor) flush(minN, maxN int, buckets uint32) {
	w := e.word
	if len(w) <= 1 {
		return
	}
	w = append(w, eow)
	for i := range w {
		h := uint32(fnvOffset)
		for n := 1; n <= maxN && i+n <= len(w); n++ {
			h = (h ^ uint32(w[i+n-1])) * fnvPrime
			if n < minN || (n == 1 && (i == 0 || i == len(w)-1)) {
				continue // the bare markers carry no information
			}
			e.feats = append(e.feats, mix(h, uint32(n))%buckets)
		}
	}
	h := uint32(fnvOffset ^ 0x9e3779b9)
	for _, r := range w {
		h = (h ^ uint32(r)) * fnvPrime
	}
	if len(w) <= maxWord+2 {
		e.feats = append(e.feats, mix(h, 0xffff)%buckets)
	}
	if e.bigrams && e.prev != 0 {
		e.feats = append(e.feats, mix(e.prev*0x01000193^h, 0xfffe)%buckets)
	}
	e.prev = h | 1
	e.word = e.word[:1]
}

// mix finalizes an FNV state so n-grams of different lengths and words
// spread over the buckets independently (murmur3's fmix32).
func mix(h, salt uint32) uint32 {
	h ^= salt * 0x85ebca6b
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}
