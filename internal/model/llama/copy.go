package llama

import "fmt"

// CopyFrom makes s the same sequence as src: its positions, KV cache and
// last logits. Beam search uses it to fork a hypothesis. Both states must
// belong to the same model and s must hold at least src.Pos() positions.
func (s *State) CopyFrom(src *State) error {
	switch {
	case s == src:
		return nil
	case s.m != src.m:
		return fmt.Errorf("llama: copy between states of different models")
	case src.pos > s.ctx:
		return fmt.Errorf("llama: copy of %d positions into a state of context %d", src.pos, s.ctx)
	case s.k[0].typ() != src.k[0].typ():
		return fmt.Errorf("llama: copy between %v and %v KV caches", src.k[0].typ(), s.k[0].typ())
	}
	n := src.pos * s.m.cfg.KVDim()
	for l := range s.k {
		s.k[l].copyFrom(src.k[l], n)
		s.v[l].copyFrom(src.v[l], n)
	}
	copy(s.logits, src.logits)
	s.pos = src.pos
	return nil
}
