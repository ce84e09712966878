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
	}
	n := src.pos * s.m.cfg.KVDim()
	for l := range s.k {
		copy(s.k[l][:n], src.k[l][:n])
		copy(s.v[l][:n], src.v[l][:n])
	}
	copy(s.logits, src.logits)
	s.pos = src.pos
	return nil
}
