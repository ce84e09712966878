package metrics

import (
	"context"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// CHRFOptions mirror the keyword arguments of sacreBLEU's CHRF class.
// The zero value is chrF2 (char order 6, no word n-grams, beta 2); word
// order 2 gives chrF++.
type CHRFOptions struct {
	CharOrder    int // default 6
	WordOrder    int // default 0; 2 for chrF++
	Beta         int // default 2
	Lowercase    bool
	Whitespace   bool // keep whitespace in character n-grams
	EpsSmoothing bool // chrF++.py-style smoothing instead of effective order
	// CharOrderSet and BetaSet let an explicit 0 through (sacreBLEU would
	// accept it); without them 0 means the default.
	CharOrderSet, BetaSet bool
}

// CHRF computes corpus and sentence chrF / chrF++.
type CHRF struct {
	opts  CHRFOptions
	order int
}

// NewCHRF validates opts.
func NewCHRF(opts CHRFOptions) (*CHRF, error) {
	if opts.CharOrder == 0 && !opts.CharOrderSet {
		opts.CharOrder = 6
	}
	if opts.Beta == 0 && !opts.BetaSet {
		opts.Beta = 2
	}
	if opts.CharOrder < 0 || opts.WordOrder < 0 || opts.CharOrder+opts.WordOrder == 0 {
		return nil, fmt.Errorf("chrf: char order %d and word order %d: need a positive total", opts.CharOrder, opts.WordOrder)
	}
	if opts.CharOrder+opts.WordOrder > 32 {
		return nil, fmt.Errorf("chrf: char order %d + word order %d exceeds 32", opts.CharOrder, opts.WordOrder)
	}
	return &CHRF{opts: opts, order: opts.CharOrder + opts.WordOrder}, nil
}

// CHRFScore is a chrF result.
type CHRFScore struct {
	Score float64
	// Stats are the summed [hyp, ref, match] counts per order: character
	// orders 1..CharOrder, then word orders 1..WordOrder.
	Stats []int64
	name  string
	sig   Signature
}

func (s *CHRFScore) Name() string         { return s.name }
func (s *CHRFScore) Value() float64       { return s.Score }
func (s *CHRFScore) Verbose() string      { return "" }
func (s *CHRFScore) Signature() Signature { return s.sig }
func (s *CHRFScore) String() string       { return FormatScore(s, 2, false, s.sig.Format(false)) }

func (c *CHRF) name() string {
	n := "chrF" + strconv.Itoa(c.opts.Beta)
	for range c.opts.WordOrder {
		n += "+"
	}
	return n
}

func (c *CHRF) signature(nrefs string) Signature {
	sig := newSignature(nrefs)
	sig.add("case", "c", map[bool]string{true: "lc", false: "mixed"}[c.opts.Lowercase])
	sig.add("eff", "e", yesNo(!c.opts.EpsSmoothing))
	sig.add("nc", "nc", strconv.Itoa(c.opts.CharOrder))
	sig.add("nw", "nw", strconv.Itoa(c.opts.WordOrder))
	sig.add("space", "s", yesNo(c.opts.Whitespace))
	return sig
}

// fScore is sacreBLEU's CHRF._compute_f_score over 3*order statistics.
func (c *CHRF) fScore(st []int64) float64 {
	const eps = 1e-16
	score := 0.0
	effOrder := 0
	factor := float64(c.opts.Beta * c.opts.Beta)
	avgPrec, avgRec := 0.0, 0.0
	for i := range c.order {
		nHyp, nRef, nMatch := st[3*i], st[3*i+1], st[3*i+2]
		prec, rec := eps, eps
		if nHyp > 0 {
			prec = float64(nMatch) / float64(nHyp)
		}
		if nRef > 0 {
			rec = float64(nMatch) / float64(nRef)
		}
		denom := factor*prec + rec
		if denom > 0 {
			score += (1 + factor) * prec * rec / denom
		} else {
			score += eps
		}
		if nHyp > 0 && nRef > 0 {
			avgPrec += prec
			avgRec += rec
			effOrder++
		}
	}
	if c.opts.EpsSmoothing {
		return 100 * score / float64(c.order)
	}
	if effOrder == 0 {
		avgPrec, avgRec = 0, 0
	} else {
		avgPrec /= float64(effOrder)
		avgRec /= float64(effOrder)
	}
	if avgPrec+avgRec != 0 {
		s := (1 + factor) * avgPrec * avgRec
		s /= factor*avgPrec + avgRec
		return 100 * s
	}
	return 0
}

func (c *CHRF) fromStats(st []int64, nrefs string) *CHRFScore {
	return &CHRFScore{Score: c.fScore(st), Stats: append([]int64(nil), st...), name: c.name(), sig: c.signature(nrefs)}
}

// SegmentStats returns the statistics of each segment (3*order numbers
// per segment, from the reference with the best sentence-level score).
func (c *CHRF) SegmentStats(ctx context.Context, segs []Segment) ([]int64, error) {
	if err := validate(segs); err != nil {
		return nil, fmt.Errorf("chrf: %w", err)
	}
	k := 3 * c.order
	stats := make([]int64, len(segs)*k)
	err := forEachSegment(ctx, len(segs), func() *chrfWorker { return &chrfWorker{cur: make([]int64, k)} },
		func(w *chrfWorker, i int) error {
			c.segmentStats(w, segs[i], stats[i*k:(i+1)*k])
			return nil
		})
	return stats, err
}

// CorpusScore is sacreBLEU's CHRF.corpus_score.
func (c *CHRF) CorpusScore(ctx context.Context, segs []Segment) (*CHRFScore, error) {
	stats, err := c.SegmentStats(ctx, segs)
	if err != nil {
		return nil, err
	}
	k := 3 * c.order
	sum := make([]int64, k)
	for i := 0; i < len(stats); i += k {
		for j := range k {
			sum[j] += stats[i+j]
		}
	}
	return c.fromStats(sum, nrefsString(segs)), nil
}

// SentenceScore is sacreBLEU's CHRF.sentence_score.
func (c *CHRF) SentenceScore(hyp string, refs []string) (*CHRFScore, error) {
	return c.CorpusScore(context.Background(), []Segment{{Hyp: hyp, Refs: refs}})
}

// SentenceScores scores every segment on its own.
func (c *CHRF) SentenceScores(ctx context.Context, segs []Segment) ([]*CHRFScore, error) {
	stats, err := c.SegmentStats(ctx, segs)
	if err != nil {
		return nil, err
	}
	k := 3 * c.order
	out := make([]*CHRFScore, len(segs))
	for i := range segs {
		out[i] = c.fromStats(stats[i*k:(i+1)*k], strconv.Itoa(len(segs[i].Refs)))
	}
	return out, nil
}

type chrfWorker struct {
	ngramWorker
	hypChars, refChars []uint32 // code points, whitespace removed unless asked
	hypWords, refWords []uint32 // word ids
	hypIDs, refIDs     []uint32 // ids of the current order's n-grams that can still match
	hypPos, refPos     []uint32 // their start positions
	mark               []uint32 // mark[id] == stamp: id occurs on both sides
	stamp              uint32
	cur                []int64
	textEnds           []int // arena end of the hypothesis, then of each reference
}

// puncts is Python's string.punctuation.
var puncts = func() (t [128]bool) {
	for _, c := range "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" {
		t[c] = true
	}
	return
}()

// appendWords appends the token spans of chrF's _remove_punctuation over
// arena[from:]: whitespace-separated words, with one leading or trailing
// ASCII punctuation mark split off words longer than one code point.
func appendWords(spans []int32, arena []byte, from int) []int32 {
	first := len(spans)
	spans = appendFieldSpans(spans, arena, from)
	end := len(spans)
	for i := first; i < end; i += 2 {
		a, z := spans[i], spans[i+1]
		w := arena[a:z]
		// A word of two or more bytes that starts or ends with an ASCII
		// mark has at least two code points, so byte tests suffice.
		if len(w) == 1 {
			spans = append(spans, a, z)
		} else if last := w[len(w)-1]; last < 128 && puncts[last] {
			spans = append(spans, a, z-1, z-1, z)
		} else if w[0] < 128 && puncts[w[0]] {
			spans = append(spans, a, a+1, a+1, z)
		} else {
			spans = append(spans, a, z)
		}
	}
	return append(spans[:first], spans[end:]...)
}

// text appends line (lowercased if asked) to the arena and records where
// it ends.
func (c *CHRF) text(w *chrfWorker, line string) {
	if c.opts.Lowercase {
		w.arena = appendLower(w.arena, line)
	} else {
		w.arena = append(w.arena, line...)
	}
	w.textEnds = append(w.textEnds, len(w.arena))
}

// units appends the character units of arena[from:to] to chars and, for
// chrF++, the word ids to words.
func (c *CHRF) units(w *chrfWorker, from, to int, chars, words []uint32) ([]uint32, []uint32) {
	text := w.arena[from:to]
	chars = chars[:0]
	for i := 0; i < len(text); {
		// A code point's UTF-8 bytes (at most four) packed into a uint32
		// identify it as well as its value and need no decoding.
		lead := text[i]
		n := utf8OneCharLen(lead)
		if i+n > len(text) { // only for invalid UTF-8, which validate rejects
			n = len(text) - i
		}
		if !c.opts.Whitespace && maybeSpace[lead] {
			if sp, _ := spaceAt(text, i); sp {
				i += n
				continue
			}
		}
		u := uint32(lead)
		switch n {
		case 2:
			u = u<<8 | uint32(text[i+1])
		case 3:
			u = u<<16 | uint32(text[i+1])<<8 | uint32(text[i+2])
		case 4:
			u = u<<24 | uint32(text[i+1])<<16 | uint32(text[i+2])<<8 | uint32(text[i+3])
		}
		chars = append(chars, u)
		i += n
	}
	words = words[:0]
	if c.opts.WordOrder > 0 {
		w.spans = appendWords(w.spans[:0], w.arena[:to], from)
		for t := 0; t < len(w.spans); t += 2 {
			words = append(words, w.words.id(int(w.spans[t]), int(w.spans[t+1])))
		}
	}
	return chars, words
}

// orderStats fills w.cur[3*off:] with [hyp, ref, match] for n-gram orders
// 1..maxN of the unit sequences h and r. An n-gram can only occur on both
// sides if its (n-1)-gram prefix does, so only positions whose prefix is
// shared are extended (and hashed) to the next order; the counts of the
// n-grams that can match, and so the statistics, are unchanged.
func (w *chrfWorker) orderStats(h, r []uint32, maxN, off int, tag uint64) {
	hid, hpos := w.unigrams(w.hypIDs[:0], w.hypPos[:0], h, tag)
	rid, rpos := w.unigrams(w.refIDs[:0], w.refPos[:0], r, tag)
	for n := 1; n <= maxN; n++ {
		w.stamp++
		if w.stamp == 0 {
			clear(w.mark)
			w.stamp = 1
		}
		for _, g := range rid {
			w.refCnt[g]++
		}
		var match int64
		for _, g := range hid {
			if k := w.refCnt[g]; k > 0 {
				match++ // sum over n-grams of min(hyp count, ref count)
				w.refCnt[g] = k - 1
				w.mark[g] = w.stamp
			}
		}
		for _, g := range rid {
			w.refCnt[g] = 0
		}
		hypTotal, refTotal := int64(max(len(h)-n+1, 0)), int64(max(len(r)-n+1, 0))
		if refTotal == 0 { // sacreBLEU counts no hypothesis n-grams against an empty reference order
			hypTotal = 0
		}
		k := 3 * (off + n - 1)
		w.cur[k], w.cur[k+1], w.cur[k+2] = hypTotal, refTotal, match
		if n < maxN {
			hid, hpos = w.extend(hid, hpos, h, n)
			rid, rpos = w.extend(rid, rpos, r, n)
		}
	}
	w.hypIDs, w.hypPos, w.refIDs, w.refPos = hid, hpos, rid, rpos
}

func (w *chrfWorker) unigrams(ids, pos, units []uint32, tag uint64) ([]uint32, []uint32) {
	for i, x := range units {
		ids = append(ids, w.ng.id(tag|uint64(x)))
		pos = append(pos, uint32(i))
	}
	return ids, pos
}

// extend keeps the order-n n-grams whose id is on both sides and can grow,
// and turns them into order n+1 ids, in place.
func (w *chrfWorker) extend(ids, pos, units []uint32, n int) ([]uint32, []uint32) {
	k := 0
	for j, g := range ids {
		p := pos[j]
		if w.mark[g] == w.stamp && int(p)+n < len(units) {
			ids[k] = w.ng.id(uint64(g)<<32 | uint64(units[int(p)+n]))
			pos[k] = p
			k++
		}
	}
	return ids[:k], pos[:k]
}

func (c *CHRF) segmentStats(w *chrfWorker, seg Segment, best []int64) {
	// All texts go into the arena first so that the word table can refer
	// to it while it no longer moves.
	w.arena, w.textEnds = w.arena[:0], w.textEnds[:0]
	c.text(w, seg.Hyp)
	for _, r := range seg.Refs {
		c.text(w, r)
	}
	// Every n-gram occurrence gets at most one new id, and there are at
	// most order ids per code point.
	runes := utf8.RuneCount(w.arena)
	w.words.reset(runes, w.arena)
	w.ng.reset(runes * c.order)
	if maxIDs := runes*c.order + 1; len(w.refCnt) < maxIDs {
		w.refCnt = make([]int32, maxIDs+maxIDs/2) // refCnt is kept all zero between uses
		w.mark = make([]uint32, len(w.refCnt))
	}
	w.hypChars, w.hypWords = c.units(w, 0, w.textEnds[0], w.hypChars, w.hypWords)
	bestF := -1.0
	for k := range seg.Refs {
		w.refChars, w.refWords = c.units(w, w.textEnds[k], w.textEnds[k+1], w.refChars, w.refWords)
		w.orderStats(w.hypChars, w.refChars, c.opts.CharOrder, 0, 0)
		if c.opts.WordOrder > 0 {
			// Word unigrams carry a tag bit so they never share a key with
			// character unigrams.
			w.orderStats(w.hypWords, w.refWords, c.opts.WordOrder, c.opts.CharOrder, 1<<63)
		}
		if f := c.fScore(w.cur); f > bestF {
			bestF = f
			copy(best, w.cur)
		}
	}
}
