package engine

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/bayling-go/bayling/internal/model/llama"
)

// BeamOptions configure BeamSearch.
type BeamOptions struct {
	Beams     int   // hypotheses kept per prompt; 1 = greedy
	MaxTokens int   // generated tokens at most (stop token included)
	StopIDs   []int // tokens that end a hypothesis
	// LengthPenalty divides a finished hypothesis' log-probability by
	// length^LengthPenalty (Hugging Face's beam scorer); 0 means 1.
	LengthPenalty float64
}

// BeamSearch decodes several prompts at once with beam search: every live
// hypothesis of every prompt advances in one batched forward step. It
// returns the best hypothesis per prompt, without its stop token.
//
// The search is Hugging Face's with early_stopping=False: at each step the
// 2×Beams best continuations are ranked; a stop token among the first Beams
// closes a hypothesis, the rest fill the beams; a prompt is done when it
// has Beams finished hypotheses and no live one can still beat the worst.
func BeamSearch(ctx context.Context, m *llama.Model, prompts [][]int, opt BeamOptions) ([][]int, error) {
	if opt.Beams < 1 || opt.MaxTokens < 1 {
		return nil, fmt.Errorf("beam search: beams %d and max tokens %d must be >= 1", opt.Beams, opt.MaxTokens)
	}
	if opt.LengthPenalty == 0 {
		opt.LengthPenalty = 1
	}
	groups := make([]*beamGroup, len(prompts))
	for i, p := range prompts {
		g, err := newBeamGroup(m, p, opt)
		if err != nil {
			return nil, fmt.Errorf("beam search: prompt %d: %w", i, err)
		}
		groups[i] = g
	}
	batch := m.NewBatch()
	var states []*llama.State
	var tokens []int
	for step := 0; ; step++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		states, tokens = states[:0], tokens[:0]
		for _, g := range groups {
			if g.done {
				continue
			}
			g.advance(step)
			if g.done { // finished by this step: nothing left to feed
				continue
			}
			for _, b := range g.live {
				states = append(states, b.st)
				tokens = append(tokens, b.tokens[len(b.tokens)-1])
			}
		}
		if len(states) == 0 {
			break
		}
		if err := batch.Decode(states, tokens); err != nil {
			return nil, fmt.Errorf("beam search: %w", err)
		}
	}
	out := make([][]int, len(groups))
	for i, g := range groups {
		out[i] = g.best()
	}
	return out, nil
}

type beam struct {
	st     *llama.State
	tokens []int   // generated so far
	score  float64 // sum of log-probabilities
}

type hyp struct {
	tokens []int
	score  float64 // length-normalised
}

type beamGroup struct {
	opt      BeamOptions
	prompt   int
	live     []beam
	states   []*llama.State // every state of the group, live or spare
	finished []hyp
	done     bool
	cands    []cand
	logp     []float64
}

type cand struct {
	parent int
	token  int
	score  float64
}

func newBeamGroup(m *llama.Model, prompt []int, opt BeamOptions) (*beamGroup, error) {
	ctxLen := min(len(prompt)+opt.MaxTokens, m.Config().MaxPositionEmbeddings)
	if len(prompt) == 0 || len(prompt) >= ctxLen {
		return nil, &ContextError{len(prompt), m.Config().MaxPositionEmbeddings}
	}
	g := &beamGroup{opt: opt, prompt: len(prompt)}
	for range opt.Beams {
		st, err := m.NewState(ctxLen)
		if err != nil {
			return nil, err
		}
		g.states = append(g.states, st)
	}
	if _, err := g.states[0].Forward(prompt); err != nil {
		return nil, err
	}
	g.live = []beam{{st: g.states[0]}}
	return g, nil
}

// advance picks the next tokens of the group's hypotheses from the logits
// of the last step, forking states where a hypothesis has several
// children. Afterwards each live beam's last token is still to be fed.
func (g *beamGroup) advance(step int) {
	k := g.opt.Beams
	g.cands = g.cands[:0]
	for i, b := range g.live {
		lp := g.logSoftmax(b.st.Logits())
		for _, c := range topK(lp, 2*k) {
			g.cands = append(g.cands, cand{i, c, b.score + lp[c]})
		}
	}
	slices.SortStableFunc(g.cands, func(a, b cand) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return 0
	})
	length := step + 1
	var next []cand
	for rank, c := range g.cands {
		if slices.Contains(g.opt.StopIDs, c.token) {
			if rank < k {
				g.add(append(slices.Clone(g.live[c.parent].tokens), c.token), c.score, length)
			}
			continue
		}
		next = append(next, c)
		if len(next) == k {
			break
		}
	}
	full := length >= g.opt.MaxTokens || g.live[0].st.Pos()+1 >= g.live[0].st.Context()
	if full {
		for _, c := range next {
			g.add(append(slices.Clone(g.live[c.parent].tokens), c.token), c.score, length)
		}
	}
	if full || len(next) == 0 || g.isDone(next[0].score, length) {
		g.done = true
		return
	}
	g.fork(next)
}

// fork makes next the live beams: the first child of a parent keeps the
// parent's state, other children get a spare state copied from it.
func (g *beamGroup) fork(next []cand) {
	used := make(map[*llama.State]bool, len(next))
	keeps := make([]bool, len(next))
	for i, c := range next {
		if st := g.live[c.parent].st; !used[st] {
			used[st], keeps[i] = true, true
		}
	}
	var spare []*llama.State
	for _, st := range g.states {
		if !used[st] {
			spare = append(spare, st)
		}
	}
	live := make([]beam, len(next))
	for i, c := range next {
		p := g.live[c.parent]
		st := p.st
		if !keeps[i] {
			st, spare = spare[len(spare)-1], spare[:len(spare)-1]
			if err := st.CopyFrom(p.st); err != nil {
				panic(err) // same model, same context: cannot fail
			}
		}
		live[i] = beam{st: st, tokens: append(slices.Clone(p.tokens), c.token), score: c.score}
	}
	g.live = live
}

func (g *beamGroup) add(tokens []int, score float64, length int) {
	h := hyp{tokens, score / math.Pow(float64(length), g.opt.LengthPenalty)}
	g.finished = append(g.finished, h)
	slices.SortStableFunc(g.finished, func(a, b hyp) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return 0
	})
	if len(g.finished) > g.opt.Beams {
		g.finished = g.finished[:g.opt.Beams]
	}
}

// isDone is HF's BeamHypotheses.is_done with early_stopping=False: the best
// live hypothesis, normalised at the current length, cannot beat the worst
// finished one. Greedy search ends at its first finished hypothesis.
func (g *beamGroup) isDone(bestLive float64, length int) bool {
	if len(g.finished) < g.opt.Beams {
		return false
	}
	if g.opt.Beams == 1 {
		return true
	}
	worst := g.finished[len(g.finished)-1].score
	return worst >= bestLive/math.Pow(float64(length), g.opt.LengthPenalty)
}

func (g *beamGroup) best() []int {
	if len(g.finished) == 0 {
		return nil
	}
	t := g.finished[0].tokens
	if n := len(t); n > 0 && slices.Contains(g.opt.StopIDs, t[n-1]) {
		t = t[:n-1]
	}
	return t
}

// logSoftmax returns log-probabilities in float64 (a scratch slice).
func (g *beamGroup) logSoftmax(logits []float32) []float64 {
	if cap(g.logp) < len(logits) {
		g.logp = make([]float64, len(logits))
	}
	lp := g.logp[:len(logits)]
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = max(mx, float64(v))
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - mx)
	}
	lse := mx + math.Log(sum)
	for i, v := range logits {
		lp[i] = float64(v) - lse
	}
	return lp
}

// topK returns the indices of the k largest values, largest first, the
// lowest index first on ties.
func topK(x []float64, k int) []int {
	k = min(k, len(x))
	idx := make([]int, 0, k+1)
	for i, v := range x {
		if len(idx) == k && v <= x[idx[k-1]] {
			continue
		}
		j := len(idx)
		for j > 0 && v > x[idx[j-1]] {
			j--
		}
		idx = slices.Insert(idx, j, i)
		if len(idx) > k {
			idx = idx[:k]
		}
	}
	return idx
}
