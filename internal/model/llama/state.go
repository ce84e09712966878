package llama

import (
	"fmt"
	"slices"
)

// State is one sequence being run through a Model: its position and KV
// cache, plus scratch buffers sized on first use so that decoding one token
// at a time allocates nothing. A State is not safe for concurrent use.
type State struct {
	m        *Model
	ctx      int // positions the cache holds
	pos      int // positions filled
	maxBatch int
	k, v     [][]float32 // per layer, ctx rows of KVDim
	buf      scratch
	logits   []float32
}

// scratch holds the activations of up to n rows.
type scratch struct {
	n                     int
	x, xb, q, ao, hb, hb2 []float32
	cs                    []float32 // RoPE cos/sin per row
	att                   []float32 // attention scores of one head
}

// Pos is the number of positions already in the cache, i.e. the position
// the next token will take.
func (s *State) Pos() int { return s.pos }

// Context is the number of positions the state can hold.
func (s *State) Context() int { return s.ctx }

// Reset empties the sequence; the cache memory is kept.
func (s *State) Reset() { s.pos = 0 }

// Truncate drops every position from n on, so a shared prompt prefix can be
// kept while the continuation is redone.
func (s *State) Truncate(n int) error {
	if n < 0 || n > s.pos {
		return fmt.Errorf("llama: truncate to %d: state holds %d positions", n, s.pos)
	}
	s.pos = n
	return nil
}

// SetMaxBatch sets how many tokens one internal step processes (default
// DefaultBatch); larger batches reuse weights better but need more scratch.
func (s *State) SetMaxBatch(n int) {
	if n < 1 {
		n = 1
	}
	s.maxBatch = n
}

// Forward runs tokens at positions Pos()..Pos()+len(tokens)-1 and returns
// the logits after the last one. The slice is owned by s and overwritten by
// the next call. On error the state is unchanged.
func (s *State) Forward(tokens []int) ([]float32, error) {
	if err := s.check(tokens); err != nil {
		return nil, err
	}
	for len(tokens) > 0 {
		n := min(len(tokens), s.maxBatch)
		s.step(tokens[:n])
		last := len(tokens) == n
		if last {
			s.output(s.logits, n-1, 1)
		}
		tokens = tokens[n:]
	}
	return s.logits, nil
}

// ForwardAll is Forward that also returns the logits after every token:
// row t of the result (VocabSize floats) predicts the token after
// tokens[t]. They are appended to dst, which may be nil.
func (s *State) ForwardAll(tokens []int, dst []float32) ([]float32, error) {
	if err := s.check(tokens); err != nil {
		return dst, err
	}
	vocab := s.m.cfg.VocabSize
	base := len(dst)
	dst = slices.Grow(dst, len(tokens)*vocab)[:base+len(tokens)*vocab]
	out := dst[base:]
	for len(tokens) > 0 {
		n := min(len(tokens), s.maxBatch)
		s.step(tokens[:n])
		s.output(out, 0, n)
		if len(tokens) == n {
			copy(s.logits, out[(n-1)*vocab:])
		}
		out = out[n*vocab:]
		tokens = tokens[n:]
	}
	return dst, nil
}

func (s *State) check(tokens []int) error {
	if len(tokens) == 0 {
		return fmt.Errorf("llama: forward of no tokens")
	}
	if end := s.pos + len(tokens); end > s.ctx {
		return fmt.Errorf("llama: position %d exceeds context length %d", end, s.ctx)
	}
	for i, t := range tokens {
		if t < 0 || t >= s.m.cfg.VocabSize {
			return fmt.Errorf("llama: token %d at index %d outside vocabulary of %d", t, i, s.m.cfg.VocabSize)
		}
	}
	return nil
}

// grow sizes the scratch buffers for n rows.
func (s *State) grow(n int) {
	b := &s.buf
	if b.n >= n {
		return
	}
	c := &s.m.cfg
	dim, qd, hid := c.HiddenSize, c.QDim(), c.IntermediateSize
	b.n = n
	b.x = make([]float32, n*dim)
	b.xb = make([]float32, n*max(dim, qd))
	b.q = make([]float32, n*qd)
	b.ao = make([]float32, n*qd)
	b.hb = make([]float32, n*hid)
	b.hb2 = make([]float32, n*hid)
	b.cs = make([]float32, n*c.HeadSize())
	if b.att == nil {
		b.att = make([]float32, c.NumAttentionHeads*s.ctx)
	}
}
