// Package sample picks the next token from logits: a sampler chain
// (temperature, repetition penalty, top-p, top-k, min-p, in that order, as
// BayLing's FastChat-based inference applies them) and stop rules.
//
// With no repetition penalty, top-k or min-p the chain is llama2.c run.c's
// sampler operation for operation (its xorshift RNG, float32 softmax,
// sample_topp with its cutoff and sort, sample_mult), so run.c's seeded
// outputs are reproduced exactly.
package sample

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// GreedyBelow is the temperature under which sampling is greedy (argmax).
const GreedyBelow = 1e-5

// Params configures a Sampler. Zero values switch a stage off, except that
// temperature 0 means greedy.
type Params struct {
	Temperature   float32 // < GreedyBelow: argmax, ties to the lowest id
	RepeatPenalty float32 // CTRL-style penalty on tokens in the history; 0 or 1 = off
	RepeatLastN   int     // how many of the latest history tokens are penalised; 0 = all
	TopP          float32 // nucleus mass in (0, 1); outside it = off
	TopK          int     // keep the k most likely; <= 0 = off
	MinP          float32 // drop tokens below MinP × the top probability; <= 0 = off
	Seed          uint64  // RNG seed (run.c semantics)
}

// Validate reports parameters that make no sense.
func (p Params) Validate() error {
	switch {
	case !(p.Temperature >= 0) || math.IsInf(float64(p.Temperature), 0):
		return fmt.Errorf("sample: temperature %v must be a finite number >= 0", p.Temperature)
	case !(p.RepeatPenalty >= 0) || math.IsInf(float64(p.RepeatPenalty), 0):
		return fmt.Errorf("sample: repeat penalty %v must be a finite number >= 0", p.RepeatPenalty)
	case p.RepeatLastN < 0:
		return fmt.Errorf("sample: repeat-last-n %d must be >= 0", p.RepeatLastN)
	case math.IsNaN(float64(p.TopP)):
		return fmt.Errorf("sample: top-p is NaN")
	case !(p.MinP < 1) || math.IsNaN(float64(p.MinP)):
		return fmt.Errorf("sample: min-p %v must be < 1", p.MinP)
	}
	return nil
}

func (p Params) topP() bool    { return p.TopP > 0 && p.TopP < 1 }
func (p Params) penalty() bool { return p.RepeatPenalty != 0 && p.RepeatPenalty != 1 }

// candidate is run.c's ProbIndex.
type candidate struct {
	prob float32
	id   int32
}

// Sampler draws tokens; it owns its buffers so Sample allocates nothing.
// Not safe for concurrent use.
type Sampler struct {
	p     Params
	rng   *RNG
	cands []candidate
	seen  []uint32 // per-token stamp: penalised in the current call
	stamp uint32

	fullSort bool // tests: sort every candidate instead of selecting top-k first
}

// New makes a sampler for a vocabulary of vocab tokens.
func New(p Params, vocab int) (*Sampler, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if vocab <= 0 {
		return nil, fmt.Errorf("sample: vocabulary size %d", vocab)
	}
	s := &Sampler{p: p, rng: NewRNG(p.Seed), cands: make([]candidate, vocab)}
	if p.penalty() {
		s.seen = make([]uint32, vocab)
	}
	return s, nil
}

// Params returns the sampler's configuration.
func (s *Sampler) Params() Params { return s.p }

// Sample picks the next token. logits (one per vocabulary entry) are
// overwritten; history is the sequence so far, used by the repetition
// penalty only.
func (s *Sampler) Sample(logits []float32, history []int) int {
	logits = logits[:len(s.cands)]
	greedy := s.p.Temperature < GreedyBelow
	if !greedy {
		for i := range logits {
			logits[i] /= s.p.Temperature
		}
	}
	if s.p.penalty() {
		s.penalize(logits, history)
	}
	if greedy {
		return Argmax(logits)
	}
	softmax(logits)
	coin := s.rng.Float32()
	if !s.p.topP() && s.p.TopK <= 0 && s.p.MinP <= 0 {
		return sampleMult(logits, coin)
	}
	return s.truncated(logits, coin)
}

// penalize applies the CTRL / transformers repetition penalty once per
// distinct token among the last RepeatLastN of history.
func (s *Sampler) penalize(logits []float32, history []int) {
	if n := s.p.RepeatLastN; n > 0 && len(history) > n {
		history = history[len(history)-n:]
	}
	s.stamp++
	if s.stamp == 0 { // wrapped: old stamps could collide
		clear(s.seen)
		s.stamp = 1
	}
	pen := s.p.RepeatPenalty
	for _, id := range history {
		if id < 0 || id >= len(logits) || s.seen[id] == s.stamp {
			continue
		}
		s.seen[id] = s.stamp
		if logits[id] > 0 {
			logits[id] /= pen
		} else {
			logits[id] *= pen
		}
	}
}

// truncated is run.c's sample_topp extended with top-k and min-p cuts
// after the nucleus.
func (s *Sampler) truncated(probs []float32, coin float32) int {
	n := len(probs)
	c := s.cands[:0]
	if s.p.topP() && n > 1 {
		// Tokens below this cutoff cannot be in the nucleus; run.c drops
		// them before sorting.
		cutoff := (1 - s.p.TopP) / float32(n-1)
		for i, p := range probs {
			if p >= cutoff {
				c = append(c, candidate{p, int32(i)})
			}
		}
	} else {
		for i, p := range probs {
			c = append(c, candidate{p, int32(i)})
		}
	}
	if len(c) == 0 { // top-p so small that even the best token is under the cutoff
		best := Argmax(probs)
		c = append(c, candidate{probs[best], int32(best)})
	}
	c = s.sortPrefix(c)
	last := len(c) - 1
	if s.p.topP() {
		var cum float32
		for i := range c {
			cum += c[i].prob
			if cum > s.p.TopP {
				last = i
				break
			}
		}
	}
	if k := s.p.TopK; k > 0 && last >= k {
		last = k - 1
	}
	if s.p.MinP > 0 {
		floor := s.p.MinP * c[0].prob
		for i := 1; i <= last; i++ {
			if c[i].prob < floor {
				last = i - 1
				break
			}
		}
	}
	var total float32
	for _, x := range c[:last+1] {
		total += x.prob
	}
	r := coin * total
	var cdf float32
	for _, x := range c[:last+1] {
		cdf += x.prob
		if r < cdf {
			return int(x.id)
		}
	}
	return int(c[last].id)
}

// sortPrefix sorts as much of c as the cuts can keep. The nucleus and the
// top-k cut are both prefixes of the sorted order, so only the k best need
// sorting, and without top-k a prefix whose mass exceeds top-p: grown until
// it does. The result is what a full sort would give.
func (s *Sampler) sortPrefix(c []candidate) []candidate {
	if s.fullSort {
		sortCandidates(c)
		return c
	}
	if k := s.p.TopK; k > 0 && k < len(c) {
		selectBest(c, k)
		c = c[:k]
	}
	if !s.p.topP() {
		sortCandidates(c)
		return c
	}
	for m := 64; ; m *= 8 {
		if 2*m >= len(c) {
			sortCandidates(c)
			return c
		}
		selectBest(c, m)
		sortCandidates(c[:m])
		var cum float32
		for _, x := range c[:m] {
			cum += x.prob
			if cum > s.p.TopP {
				return c[:m]
			}
		}
	}
}

func sortCandidates(c []candidate) {
	slices.SortFunc(c, func(a, b candidate) int {
		if a.prob != b.prob {
			return cmp.Compare(b.prob, a.prob)
		}
		return cmp.Compare(a.id, b.id)
	})
}

// better orders candidates: higher probability first, then lower id.
func better(a, b candidate) bool { return a.prob > b.prob || a.prob == b.prob && a.id < b.id }

// selectBest moves the k best candidates into c[:k] (in no order) with a
// min-heap of size k: O(n log k) and no allocation.
func selectBest(c []candidate, k int) {
	h := c[:k]
	for i := k/2 - 1; i >= 0; i-- {
		siftDown(h, i)
	}
	for i := k; i < len(c); i++ {
		if better(c[i], h[0]) {
			h[0], c[i] = c[i], h[0]
			siftDown(h, 0)
		}
	}
}

// siftDown restores the heap (worst candidate at the root) below i.
func siftDown(h []candidate, i int) {
	for {
		w := i
		if l := 2*i + 1; l < len(h) && better(h[w], h[l]) {
			w = l
		}
		if r := 2*i + 2; r < len(h) && better(h[w], h[r]) {
			w = r
		}
		if w == i {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}

// Argmax returns the index of the largest value, the lowest on ties.
func Argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// sampleMult is run.c's sample_mult: inverse CDF over probabilities in
// vocabulary order.
func sampleMult(probs []float32, coin float32) int {
	var cdf float32
	for i, p := range probs {
		cdf += p
		if coin < cdf {
			return i
		}
	}
	return len(probs) - 1
}

// softmax is run.c's float32 softmax.
func softmax(x []float32) {
	maxv := x[0]
	for _, v := range x[1:] {
		if v > maxv {
			maxv = v
		}
	}
	var sum float32
	for i, v := range x {
		e := float32(math.Exp(float64(v - maxv)))
		x[i] = e
		sum += e
	}
	for i := range x {
		x[i] /= sum
	}
}
