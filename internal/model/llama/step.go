package llama

import "fmt"

// Stepper runs serving steps: any number of tokens for each of several
// sequences in shared forward passes, so a step can prefill new prompts
// and decode running sequences together, reading the weights once for all
// of them. It is not safe for concurrent use.
type Stepper struct {
	m      *Model
	buf    scratch
	logits []float32
	rows   []row
	toks   []int
	last   []bool // rows[i] is its sequence's last of the step
	order  []int
	ptoks  []int
}

// NewStepper returns a stepper for m.
func (m *Model) NewStepper() *Stepper { return &Stepper{m: m} }

// Step feeds tokens[i] (one or more) to states[i] at its next positions;
// afterwards states[i].Logits() holds the logits after its last token. Each
// state must belong to the stepper's model and appear once. On error no
// state is changed.
func (b *Stepper) Step(states []*State, tokens [][]int) error {
	if len(states) != len(tokens) {
		return fmt.Errorf("llama: step of %d states and %d token lists", len(states), len(tokens))
	}
	ctx := 0
	for i, s := range states {
		if err := b.m.checkTokens(tokens[i]); err != nil {
			return fmt.Errorf("llama: step state %d: %w", i, err)
		}
		switch {
		case len(tokens[i]) == 0:
			return fmt.Errorf("llama: step state %d: no tokens", i)
		case s.m != b.m:
			return fmt.Errorf("llama: step state %d belongs to another model", i)
		case s.pos+len(tokens[i]) > s.ctx:
			return fmt.Errorf("llama: step state %d: position %d exceeds context length %d", i, s.pos+len(tokens[i]), s.ctx)
		}
		for j := range i {
			if states[j] == s {
				return fmt.Errorf("llama: step states %d and %d are the same sequence", j, i)
			}
		}
		ctx = max(ctx, s.ctx)
	}
	b.rows, b.toks, b.last = b.rows[:0], b.toks[:0], b.last[:0]
	for i, s := range states {
		ts := tokens[i]
		for j, id := range ts {
			if len(b.rows) == DefaultBatch {
				b.pass(ctx)
				b.rows, b.toks, b.last = b.rows[:0], b.toks[:0], b.last[:0]
			}
			b.rows = append(b.rows, row{s, s.pos + j})
			b.toks = append(b.toks, id)
			b.last = append(b.last, j == len(ts)-1)
		}
	}
	b.pass(ctx)
	for i, s := range states {
		s.pos += len(tokens[i])
	}
	return nil
}

// pass runs one forward pass over b.rows (at most DefaultBatch). The order
// of rows in a pass is free (every row's key and value are cached before
// any row attends), so the sequences' last rows go at the end and their
// logits come from one output product.
func (b *Stepper) pass(ctx int) {
	n := len(b.rows)
	if n == 0 {
		return
	}
	b.order = b.order[:0]
	for _, want := range []bool{false, true} {
		for t := range b.rows {
			if b.last[t] == want {
				b.order = append(b.order, t)
			}
		}
	}
	b.buf.grow(b.m, n, ctx)
	b.buf.rows = b.buf.rows[:0]
	b.ptoks = b.ptoks[:0]
	k := 0
	for _, t := range b.order {
		b.buf.rows = append(b.buf.rows, b.rows[t])
		b.ptoks = append(b.ptoks, b.toks[t])
		if b.last[t] {
			k++
		}
	}
	b.m.forward(&b.buf, b.ptoks)
	if k == 0 {
		return
	}
	vocab := b.m.cfg.VocabSize
	if len(b.logits) < k*vocab {
		b.logits = make([]float32, k*vocab)
	}
	b.m.output(&b.buf, b.logits, n-k, k)
	for t, r := range b.buf.rows[n-k:] {
		copy(r.s.logits, b.logits[t*vocab:(t+1)*vocab])
	}
}
