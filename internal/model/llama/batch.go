package llama

import "fmt"

// Batch decodes one token for each of several sequences in a single
// forward step, so the weights are read once for all of them: the shape of
// continuous batching in a server. It is not safe for concurrent use.
type Batch struct {
	m      *Model
	buf    scratch
	logits []float32 // n × vocab
}

// NewBatch returns an empty batch decoder for m.
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
	ctx := 0
	for i, s := range states {
		switch {
		case s.m != b.m:
			return fmt.Errorf("llama: batch state %d belongs to another model", i)
		case s.pos >= s.ctx:
			return fmt.Errorf("llama: batch state %d: position %d exceeds context length %d", i, s.pos+1, s.ctx)
		}
		for j := range i {
			if states[j] == s {
				return fmt.Errorf("llama: batch states %d and %d are the same sequence", j, i)
			}
		}
		ctx = max(ctx, s.ctx)
	}
	for len(states) > 0 {
		n := min(len(states), DefaultBatch)
		b.step(states[:n], tokens[:n], ctx)
		states, tokens = states[n:], tokens[n:]
	}
	return nil
}

func (b *Batch) step(states []*State, tokens []int, ctx int) {
	n := len(states)
	b.buf.grow(b.m, n, ctx)
	b.buf.rows = b.buf.rows[:0]
	for _, s := range states {
		b.buf.rows = append(b.buf.rows, row{s, s.pos})
	}
	b.m.forward(&b.buf, tokens)
	vocab := b.m.cfg.VocabSize
	if len(b.logits) < n*vocab {
		b.logits = make([]float32, n*vocab)
	}
	b.m.output(&b.buf, b.logits, 0, n)
	for t, s := range states {
		copy(s.logits, b.logits[t*vocab:(t+1)*vocab])
		s.pos++
	}
}
