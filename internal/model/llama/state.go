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
	k, v     []kvCache // per layer, ctx rows of KVDim
	buf      scratch
	logits   []float32
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

// Logits returns the logits after the last token fed (by Forward,
// ForwardAll or a Batch). The slice is overwritten by the next call.
func (s *State) Logits() []float32 { return s.logits }

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
		if n == len(tokens) {
			s.m.output(&s.buf, s.logits, n-1, 1)
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
		s.m.output(&s.buf, out, 0, n)
		if n == len(tokens) {
			copy(s.logits, out[(n-1)*vocab:])
		}
		out = out[n*vocab:]
		tokens = tokens[n:]
	}
	return dst, nil
}

// step runs tokens (at most maxBatch) at the next positions of s.
func (s *State) step(tokens []int) {
	b := &s.buf
	b.grow(s.m, len(tokens), s.ctx)
	b.rows = b.rows[:0]
	for t := range tokens {
		b.rows = append(b.rows, row{s, s.pos + t})
	}
	s.m.forward(b, tokens)
	s.pos += len(tokens)
}

func (s *State) check(tokens []int) error {
	if len(tokens) == 0 {
		return fmt.Errorf("llama: forward of no tokens")
	}
	if end := s.pos + len(tokens); end > s.ctx {
		return fmt.Errorf("llama: position %d exceeds context length %d", end, s.ctx)
	}
	return s.m.checkTokens(tokens)
}
