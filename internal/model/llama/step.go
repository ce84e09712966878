package llama

import "fmt"

// Stepper runs serving steps: any number of tokens for each of several
// sequences in shared forward passes, so a step can prefill new prompts
// and decode running sequences together, reading the weights once for all
// of them. It is the engine's name for Batch.Forward. It is not safe for
// concurrent use.
type Stepper struct{ b *Batch }

// NewStepper returns a stepper for m.
func (m *Model) NewStepper() *Stepper { return &Stepper{m.NewBatch()} }

// Step feeds tokens[i] (one or more) to states[i] at its next positions;
// afterwards states[i].Logits() holds the logits after its last token. Each
// state must belong to the stepper's model and appear once. On error no
// state is changed.
func (s *Stepper) Step(states []*State, tokens [][]int) error {
	if len(states) != len(tokens) {
		return fmt.Errorf("llama: step of %d states and %d token lists", len(states), len(tokens))
	}
	return s.b.Forward(states, tokens)
}
