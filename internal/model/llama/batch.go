package llama

import "fmt"

// Batch runs several sequences through one forward pass, so the weights
// are read once for all of them: the shape of continuous batching in a
// server, where new prompts (several tokens) ride along with sequences
// decoding one token each. It is not safe for concurrent use.
type Batch struct {
	m      *Model
	buf    scratch
	rows   []row     // all rows of the call, split into steps of DefaultBatch
	toks   []int     // their tokens
	last   []int     // per state: index in rows of its last token
	out    []int     // scratch: rows of the current step that need logits
	logits []float32 // len(out) × vocab
}

// NewBatch returns an empty batch for m.
func (m *Model) NewBatch() *Batch { return &Batch{m: m} }

// Decode feeds tokens[i] to states[i] at its next position; afterwards
// states[i].Logits() holds that sequence's next-token logits. Each state
// must belong to the batch's model and appear once. On error no state is
// changed.
func (b *Batch) Decode(states []*State, tokens []int) error {
	if len(states) != len(tokens) {
		return fmt.Errorf("llama: batch of %d states and %d tokens", len(states), len(tokens))
	}
	if err := b.m.checkTokens(tokens); err != nil {
		return err
	}
	b.reset()
	for i, s := range states {
		if err := b.check(states, i, 1); err != nil {
			return err
		}
		b.add(s, tokens[i:i+1])
	}
	b.run(states)
	return nil
}

// Forward feeds tokens[i] (one or more) to states[i] at its next positions;
// afterwards states[i].Logits() holds the logits after its last token. It
// is Decode generalised to prefill: a prompt can join a decoding batch.
func (b *Batch) Forward(states []*State, tokens [][]int) error {
	if len(states) != len(tokens) {
		return fmt.Errorf("llama: batch of %d states and %d token lists", len(states), len(tokens))
	}
	b.reset()
	for i, s := range states {
		if len(tokens[i]) == 0 {
			return fmt.Errorf("llama: batch state %d: no tokens", i)
		}
		if err := b.m.checkTokens(tokens[i]); err != nil {
			return fmt.Errorf("llama: batch state %d: %w", i, err)
		}
		if err := b.check(states, i, len(tokens[i])); err != nil {
			return err
		}
		b.add(s, tokens[i])
	}
	b.run(states)
	return nil
}

func (b *Batch) reset() {
	b.rows, b.toks, b.last = b.rows[:0], b.toks[:0], b.last[:0]
}

// check validates states[i] taking n more tokens.
func (b *Batch) check(states []*State, i, n int) error {
	s := states[i]
	switch {
	case s.m != b.m:
		return fmt.Errorf("llama: batch state %d belongs to another model", i)
	case s.pos+n > s.ctx:
		return fmt.Errorf("llama: batch state %d: position %d exceeds context length %d", i, s.pos+n, s.ctx)
	}
	for j := range i {
		if states[j] == s {
			return fmt.Errorf("llama: batch states %d and %d are the same sequence", j, i)
		}
	}
	return nil
}

func (b *Batch) add(s *State, tokens []int) {
	for j, id := range tokens {
		b.rows = append(b.rows, row{s, s.pos + j})
		b.toks = append(b.toks, id)
	}
	b.last = append(b.last, len(b.rows)-1)
}

// run processes the queued rows in steps of DefaultBatch. A sequence split
// across steps is fine: each step caches its keys and values before any
// later row attends to them.
func (b *Batch) run(states []*State) {
	ctx := 0
	for _, s := range states {
		ctx = max(ctx, s.ctx)
	}
	next := 0 // first state whose last row is not done yet
	for lo := 0; lo < len(b.rows); lo += DefaultBatch {
		hi := min(lo+DefaultBatch, len(b.rows))
		b.buf.grow(b.m, hi-lo, ctx)
		b.buf.rows = append(b.buf.rows[:0], b.rows[lo:hi]...)
		b.m.forward(&b.buf, b.toks[lo:hi])
		b.out = b.out[:0]
		first := next
		for next < len(states) && b.last[next] < hi {
			b.out = append(b.out, b.last[next]-lo)
			next++
		}
		b.output(states[first:next])
	}
	for i, s := range states {
		s.pos = b.rows[b.last[i]].pos + 1
	}
}

// output computes the logits of rows b.out of the current step for states.
func (b *Batch) output(states []*State) {
	if len(b.out) == 0 {
		return
	}
	vocab := b.m.cfg.VocabSize
	if len(b.logits) < len(b.out)*vocab {
		b.logits = make([]float32, len(b.out)*vocab)
	}
	b.m.outputRows(&b.buf, b.logits, b.out)
	for j, s := range states {
		copy(s.logits, b.logits[j*vocab:(j+1)*vocab])
	}
}
