package metrics

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unsafe"
)

// BLEUOptions mirror the keyword arguments of sacreBLEU's BLEU class.
type BLEUOptions struct {
	Lowercase bool
	// Tokenize names the tokenizer; "" picks 13a, or zh / ja-mecab /
	// ko-mecab when TrgLang is zh / ja / ko, as sacreBLEU does.
	Tokenize string
	// SmoothMethod is exp (default), floor, add-k or none.
	SmoothMethod string
	// SmoothValue overrides the floor (0.1) and add-k (1) defaults.
	SmoothValue *float64
	// MaxNgramOrder defaults to 4.
	MaxNgramOrder  int
	EffectiveOrder bool
	TrgLang        string
	// SPMModel is the SentencePiece model for flores101/flores200.
	SPMModel string
}

// bleuSmoothDefaults are sacreBLEU's BLEU.SMOOTH_DEFAULTS; NaN means the
// method takes no value.
var bleuSmoothDefaults = map[string]float64{"none": math.NaN(), "floor": 0.1, "add-k": 1, "exp": math.NaN()}

// BLEU computes corpus and sentence BLEU.
type BLEU struct {
	opts        BLEUOptions
	tok         Tokenizer
	smoothValue float64
	maxN        int
}

// NewBLEU validates opts and builds the tokenizer.
func NewBLEU(opts BLEUOptions) (*BLEU, error) {
	if opts.SmoothMethod == "" {
		opts.SmoothMethod = "exp"
	}
	def, ok := bleuSmoothDefaults[opts.SmoothMethod]
	if !ok {
		return nil, fmt.Errorf("bleu: unknown smooth method %q (exp, floor, add-k, none)", opts.SmoothMethod)
	}
	if opts.MaxNgramOrder == 0 {
		opts.MaxNgramOrder = 4
	}
	if opts.MaxNgramOrder < 1 || opts.MaxNgramOrder > 32 {
		return nil, fmt.Errorf("bleu: max n-gram order %d out of range 1..32", opts.MaxNgramOrder)
	}
	if opts.Tokenize == "" {
		opts.Tokenize = "13a"
		switch opts.TrgLang {
		case "zh":
			opts.Tokenize = "zh"
		case "ja":
			opts.Tokenize = "ja-mecab"
		case "ko":
			opts.Tokenize = "ko-mecab"
		}
	}
	tok, err := NewTokenizer(opts.Tokenize, opts.SPMModel)
	if err != nil {
		return nil, fmt.Errorf("bleu: %w", err)
	}
	b := &BLEU{opts: opts, tok: tok, smoothValue: def, maxN: opts.MaxNgramOrder}
	if opts.SmoothValue != nil {
		b.smoothValue = *opts.SmoothValue
	}
	return b, nil
}

// BLEUScore is a BLEU result with sacreBLEU's statistics. Counts and Totals
// are as sacreBLEU reports them, i.e. after add-k smoothing was added.
type BLEUScore struct {
	Score      float64
	Counts     []float64
	Totals     []float64
	Precisions []float64
	BP         float64
	SysLen     int
	RefLen     int
	sig        Signature
}

func (s *BLEUScore) Name() string         { return "BLEU" }
func (s *BLEUScore) Value() float64       { return s.Score }
func (s *BLEUScore) Signature() Signature { return s.sig }
func (s *BLEUScore) String() string       { return FormatScore(s, 2, false, s.sig.Format(false)) }
func (s *BLEUScore) Ratio() float64 {
	if s.RefLen == 0 {
		return 0
	}
	return float64(s.SysLen) / float64(s.RefLen)
}

// Verbose is "p1/p2/p3/p4 (BP = ... ratio = ... hyp_len = ... ref_len = ...)".
func (s *BLEUScore) Verbose() string {
	var b strings.Builder
	for i, p := range s.Precisions {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(strconv.FormatFloat(p, 'f', 1, 64))
	}
	fmt.Fprintf(&b, " (BP = %s ratio = %s hyp_len = %d ref_len = %d)",
		strconv.FormatFloat(s.BP, 'f', 3, 64), strconv.FormatFloat(s.Ratio(), 'f', 3, 64), s.SysLen, s.RefLen)
	return b.String()
}

// signature builds BLEU's signature for the given nrefs value.
func (b *BLEU) signature(nrefs string) Signature {
	sig := newSignature(nrefs)
	sig.add("case", "c", map[bool]string{true: "lc", false: "mixed"}[b.opts.Lowercase])
	sig.add("eff", "e", yesNo(b.opts.EffectiveOrder))
	sig.add("tok", "tok", b.tok.Signature())
	smooth := b.opts.SmoothMethod
	if !math.IsNaN(bleuSmoothDefaults[smooth]) {
		smooth += "[" + strconv.FormatFloat(b.smoothValue, 'f', 2, 64) + "]"
	}
	sig.add("smooth", "s", smooth)
	return sig
}

// ComputeBLEU is sacreBLEU's BLEU.compute_bleu: the score from summed
// statistics. correct and total have one entry per n-gram order and are
// not modified. smoothValue NaN selects the method's default.
func ComputeBLEU(correct, total []float64, sysLen, refLen int, method string, smoothValue float64, effectiveOrder bool) *BLEUScore {
	if math.IsNaN(smoothValue) {
		smoothValue = bleuSmoothDefaults[method]
	}
	maxN := len(correct)
	counts := append([]float64(nil), correct...)
	totals := append([]float64(nil), total...)
	s := &BLEUScore{Counts: counts, Totals: totals, Precisions: make([]float64, maxN), SysLen: sysLen, RefLen: refLen}
	s.BP = 1.0
	if sysLen < refLen {
		if sysLen > 0 {
			s.BP = math.Exp(1 - float64(refLen)/float64(sysLen))
		} else {
			s.BP = 0
		}
	}
	anyMatch := false
	for _, c := range counts {
		anyMatch = anyMatch || c != 0
	}
	if !anyMatch { // sacreBLEU #141: no matches at all is 0 whatever the smoothing
		return s
	}
	smoothMteval := 1.0
	effOrder := maxN
	for n := 1; n <= maxN; n++ {
		if method == "add-k" && n > 1 {
			counts[n-1] += smoothValue
			totals[n-1] += smoothValue
		}
		if totals[n-1] == 0 {
			break
		}
		if effectiveOrder {
			effOrder = n
		}
		if counts[n-1] == 0 {
			switch method {
			case "exp":
				smoothMteval *= 2
				s.Precisions[n-1] = 100. / (smoothMteval * totals[n-1])
			case "floor":
				s.Precisions[n-1] = 100. * smoothValue / totals[n-1]
			}
		} else {
			s.Precisions[n-1] = 100. * counts[n-1] / totals[n-1]
		}
	}
	sum := 0.0
	for _, p := range s.Precisions[:effOrder] {
		if p == 0 {
			sum += -9999999999 // sacreBLEU's my_log(0)
		} else {
			sum += math.Log(p)
		}
	}
	s.Score = s.BP * math.Exp(sum/float64(effOrder))
	return s
}

// fromStats turns summed statistics [sys_len, ref_len, correct..., total...]
// into a score.
func (b *BLEU) fromStats(st []int64, nrefs string) *BLEUScore {
	n := b.maxN
	correct := make([]float64, n)
	total := make([]float64, n)
	for i := range n {
		correct[i] = float64(st[2+i])
		total[i] = float64(st[2+n+i])
	}
	s := ComputeBLEU(correct, total, int(st[0]), int(st[1]), b.opts.SmoothMethod, b.smoothValue, b.opts.EffectiveOrder)
	s.sig = b.signature(nrefs)
	return s
}

// statsLen is the number of statistics per segment.
func (b *BLEU) statsLen() int { return 2 + 2*b.maxN }

// SegmentStats returns the per-segment statistics
// [sys_len, ref_len, correct_1..N, total_1..N], segment after segment.
func (b *BLEU) SegmentStats(ctx context.Context, segs []Segment) ([]int64, error) {
	if err := validate(segs); err != nil {
		return nil, fmt.Errorf("bleu: %w", err)
	}
	k := b.statsLen()
	stats := make([]int64, len(segs)*k)
	err := forEachSegment(ctx, len(segs), func() *ngramWorker { return &ngramWorker{} },
		func(w *ngramWorker, i int) error {
			b.segmentStats(w, segs[i], stats[i*k:(i+1)*k])
			return nil
		})
	return stats, err
}

// CorpusScore is sacreBLEU's BLEU.corpus_score.
func (b *BLEU) CorpusScore(ctx context.Context, segs []Segment) (*BLEUScore, error) {
	stats, err := b.SegmentStats(ctx, segs)
	if err != nil {
		return nil, err
	}
	k := b.statsLen()
	sum := make([]int64, k)
	for i := 0; i < len(stats); i += k {
		for j := range k {
			sum[j] += stats[i+j]
		}
	}
	return b.fromStats(sum, nrefsString(segs)), nil
}

// SentenceScore is sacreBLEU's BLEU.sentence_score: the corpus score of a
// single segment.
func (b *BLEU) SentenceScore(hyp string, refs []string) (*BLEUScore, error) {
	return b.CorpusScore(context.Background(), []Segment{{Hyp: hyp, Refs: refs}})
}

// SentenceScores scores every segment on its own, in parallel.
func (b *BLEU) SentenceScores(ctx context.Context, segs []Segment) ([]*BLEUScore, error) {
	stats, err := b.SegmentStats(ctx, segs)
	if err != nil {
		return nil, err
	}
	k := b.statsLen()
	out := make([]*BLEUScore, len(segs))
	for i := range segs {
		out[i] = b.fromStats(stats[i*k:(i+1)*k], strconv.Itoa(len(segs[i].Refs)))
	}
	return out, nil
}

// ngramWorker is the per-goroutine scratch space of BLEU and chrF.
type ngramWorker struct {
	arena  []byte  // preprocessed text of the segment
	lower  []byte  // lowercasing buffer
	spans  []int32 // token [start, end) offsets into arena
	words  wordTable
	ng     idTable
	wids   []uint32 // token ids
	ids    []uint32 // n-gram ids of the current order
	hypCnt []int32  // indexed by n-gram id
	refCnt []int32
	refMax []int32
	seen   []uint32 // distinct hypothesis n-gram ids of the current order
}

// preprocess appends the lowercased (optionally) text to w.arena via tok,
// after sacreBLEU's rstrip, and records its tokens; it returns the range
// of token indexes in w.spans.
func (b *BLEU) preprocess(w *ngramWorker, line string) (int, int) {
	if b.opts.Lowercase {
		w.lower = appendLower(w.lower[:0], line)
		if len(w.lower) > 0 {
			line = unsafe.String(&w.lower[0], len(w.lower)) // the tokenizer does not keep it
		} else {
			line = ""
		}
	}
	start := len(w.arena)
	w.arena = b.tok.Append(w.arena, pyRstrip(line))
	first := len(w.spans) / 2
	if _, ok := b.tok.(spaceJoined); ok {
		w.spans = appendSpaceSpans(w.spans, w.arena, start)
	} else {
		w.spans = appendFieldSpans(w.spans, w.arena, start)
	}
	return first, len(w.spans) / 2
}

// appendFieldSpans appends the [start, end) offsets of the Python-whitespace
// separated fields of s[from:].
func appendFieldSpans(spans []int32, s []byte, from int) []int32 {
	for i := from; i < len(s); {
		j, n := nextSpace(s, i)
		if j > i {
			spans = append(spans, int32(i), int32(j))
		}
		i = j + n
		if n == 0 {
			break
		}
	}
	return spans
}

// spaceJoined marks tokenizers whose output is Python's ' '.join(x.split()):
// tokens separated by single ASCII spaces and no other whitespace.
type spaceJoined interface{ spaceJoined() }

func (tok13a) spaceJoined()  {}
func (tokIntl) spaceJoined() {}
func (tokZh) spaceJoined()   {}

// appendSpaceSpans appends the token offsets of the space-joined s[from:].
func appendSpaceSpans(spans []int32, s []byte, from int) []int32 {
	for i := from; i < len(s); {
		j := bytes.IndexByte(s[i:], ' ')
		if j < 0 {
			return append(spans, int32(i), int32(len(s)))
		}
		spans = append(spans, int32(i), int32(i+j))
		i += j + 1
	}
	return spans
}

// grow returns s with length n, zeroed.
func grow(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n, n+n/2)
	}
	s = s[:n]
	clear(s)
	return s
}

// nextOrder turns ids (the order n-1 n-gram ids of words, or anything when
// n == 1) into the order-n ids, in place.
func (w *ngramWorker) nextOrder(ids, words []uint32, n int, tag uint64) []uint32 {
	if n == 1 {
		ids = ids[:0]
		for _, x := range words {
			ids = append(ids, w.ng.id(tag|uint64(x)))
		}
		return ids
	}
	m := len(words) - n + 1
	if m <= 0 {
		return ids[:0]
	}
	for i := range m {
		ids[i] = w.ng.id(uint64(ids[i])<<32 | uint64(words[i+n-1]))
	}
	return ids[:m]
}

// segmentStats fills st with [sys_len, ref_len, correct..., total...].
func (b *BLEU) segmentStats(w *ngramWorker, seg Segment, st []int64) {
	w.arena, w.spans = w.arena[:0], w.spans[:0]
	type rng struct{ a, b int }
	var refRanges [8]rng
	refs := refRanges[:0]
	for _, r := range seg.Refs {
		a, z := b.preprocess(w, r)
		refs = append(refs, rng{a, z})
	}
	ha, hz := b.preprocess(w, seg.Hyp)
	ntok := len(w.spans) / 2

	w.words.reset(ntok, w.arena)
	w.wids = w.wids[:0]
	for t := range ntok {
		w.wids = append(w.wids, w.words.id(int(w.spans[2*t]), int(w.spans[2*t+1])))
	}
	n := b.maxN
	w.ng.reset(ntok * n)
	maxIDs := ntok*n + 1
	w.refCnt = grow(w.refCnt, maxIDs)
	w.refMax = grow(w.refMax, maxIDs)
	w.hypCnt = grow(w.hypCnt, maxIDs)

	// Reference n-gram counts, merged by maximum over references.
	for _, r := range refs {
		words := w.wids[r.a:r.b]
		ids := w.ids
		for order := 1; order <= n; order++ {
			ids = w.nextOrder(ids, words, order, 0)
			for _, id := range ids {
				w.refCnt[id]++
			}
			for _, id := range ids {
				if c := w.refCnt[id]; c > 0 {
					w.refMax[id] = max(w.refMax[id], c)
					w.refCnt[id] = 0
				}
			}
		}
		w.ids = ids
	}

	// Closest reference length, ties to the shorter one.
	hypLen := hz - ha
	closestDiff, closestLen := -1, -1
	for _, r := range refs {
		l := r.b - r.a
		diff := hypLen - l
		if diff < 0 {
			diff = -diff
		}
		if closestDiff == -1 || diff < closestDiff {
			closestDiff, closestLen = diff, l
		} else if diff == closestDiff && l < closestLen {
			closestLen = l
		}
	}
	st[0], st[1] = int64(hypLen), int64(closestLen)

	words := w.wids[ha:hz]
	ids := w.ids
	for order := 1; order <= n; order++ {
		ids = w.nextOrder(ids, words, order, 0)
		w.seen = w.seen[:0]
		for _, id := range ids {
			if w.hypCnt[id] == 0 {
				w.seen = append(w.seen, id)
			}
			w.hypCnt[id]++
		}
		var correct, total int64
		for _, id := range w.seen {
			c := w.hypCnt[id]
			total += int64(c)
			correct += int64(min(c, w.refMax[id]))
		}
		st[2+order-1] = correct
		st[2+n+order-1] = total
	}
	w.ids = ids
}
