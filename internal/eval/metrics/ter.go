package metrics

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// TEROptions mirror the keyword arguments of sacreBLEU's TER class.
type TEROptions struct {
	Normalized    bool
	NoPunct       bool
	AsianSupport  bool
	CaseSensitive bool
}

// TER computes translation edit rate as sacreBLEU does (Tercom's
// algorithm: beam edit distance plus greedy block shifts).
type TER struct {
	opts TEROptions
	tok  TERTokenizer
}

// NewTER returns a TER metric.
func NewTER(opts TEROptions) *TER {
	return &TER{opts: opts, tok: TERTokenizer(opts)}
}

// TERScore is a TER result.
type TERScore struct {
	Score     float64
	NumEdits  int
	RefLength float64
	sig       Signature
}

func (s *TERScore) Name() string         { return "TER" }
func (s *TERScore) Value() float64       { return s.Score }
func (s *TERScore) Verbose() string      { return "" }
func (s *TERScore) Signature() Signature { return s.sig }
func (s *TERScore) String() string       { return FormatScore(s, 2, false, s.sig.Format(false)) }

func (t *TER) signature(nrefs string) Signature {
	sig := newSignature(nrefs)
	sig.add("case", "c", map[bool]string{true: "mixed", false: "lc"}[t.opts.CaseSensitive])
	sig.add("tok", "t", "tercom")
	sig.add("norm", "nr", yesNo(t.opts.Normalized))
	sig.add("punct", "pn", yesNo(!t.opts.NoPunct))
	sig.add("asian", "as", yesNo(t.opts.AsianSupport))
	return sig
}

// terStat is one segment's [best edits, average reference length].
type terStat struct {
	edits  int
	refLen float64
}

func (t *TER) fromStats(edits, refLen float64, nrefs string) *TERScore {
	score := 0.0
	switch {
	case refLen > 0:
		score = edits / refLen
	case edits > 0:
		score = 1 // empty references, non-empty hypothesis
	}
	return &TERScore{Score: 100 * score, NumEdits: int(edits), RefLength: refLen, sig: t.signature(nrefs)}
}

func (t *TER) segmentStats(ctx context.Context, segs []Segment) ([]terStat, error) {
	if err := validate(segs); err != nil {
		return nil, fmt.Errorf("ter: %w", err)
	}
	stats := make([]terStat, len(segs))
	err := forEachSegment(ctx, len(segs), func() *terWorker { return &terWorker{} },
		func(w *terWorker, i int) error {
			st, err := t.segment(w, segs[i])
			if err != nil {
				return fmt.Errorf("ter: segment %d: %w", i+1, err)
			}
			stats[i] = st
			return nil
		})
	return stats, err
}

// CorpusScore is sacreBLEU's TER.corpus_score: summed edits over summed
// average reference lengths.
func (t *TER) CorpusScore(ctx context.Context, segs []Segment) (*TERScore, error) {
	stats, err := t.segmentStats(ctx, segs)
	if err != nil {
		return nil, err
	}
	// Summed in segment order, as sacreBLEU's sum_of_lists does, so the
	// float total is bit-identical.
	edits, refLen := 0.0, 0.0
	for _, s := range stats {
		edits += float64(s.edits)
		refLen += s.refLen
	}
	return t.fromStats(edits, refLen, nrefsString(segs)), nil
}

// SentenceScore is sacreBLEU's TER.sentence_score.
func (t *TER) SentenceScore(hyp string, refs []string) (*TERScore, error) {
	return t.CorpusScore(context.Background(), []Segment{{Hyp: hyp, Refs: refs}})
}

// SentenceScores scores every segment on its own.
func (t *TER) SentenceScores(ctx context.Context, segs []Segment) ([]*TERScore, error) {
	stats, err := t.segmentStats(ctx, segs)
	if err != nil {
		return nil, err
	}
	out := make([]*TERScore, len(segs))
	for i, s := range stats {
		out[i] = t.fromStats(float64(s.edits), s.refLen, strconv.Itoa(len(segs[i].Refs)))
	}
	return out, nil
}

type terWorker struct {
	words map[string]int32
	ed    editDistance
}

// ids maps the words of a tokenized sentence to small integers shared by
// the hypothesis and its references.
func (w *terWorker) ids(sent string) []int32 {
	if sent == "" {
		return nil
	}
	// The tokenizer joins tokens with single spaces and leaves no other
	// (Python) whitespace.
	fields := strings.Split(sent, " ")
	out := make([]int32, len(fields))
	for i, f := range fields {
		id, ok := w.words[f]
		if !ok {
			id = int32(len(w.words))
			w.words[f] = id
		}
		out[i] = id
	}
	return out
}

func (t *TER) segment(w *terWorker, seg Segment) (terStat, error) {
	if w.words == nil {
		w.words = make(map[string]int32)
	}
	clear(w.words)
	hyp := w.ids(t.tok.Tokenize(pyRstrip(seg.Hyp)))
	best := int(1e16)
	refLens := 0
	for _, r := range seg.Refs {
		ref := w.ids(t.tok.Tokenize(pyRstrip(r)))
		edits, err := w.ed.translationEditRate(hyp, ref)
		if err != nil {
			return terStat{}, err
		}
		refLens += len(ref)
		best = min(best, edits)
	}
	return terStat{edits: best, refLen: float64(refLens) / float64(len(seg.Refs))}, nil
}
