package llama_test

import (
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/sample"
)

// Three sequences of different lengths decoded together give the same
// greedy continuations and (nearly) the same logits as each run alone.
func TestBatchDecodeMatchesSingle(t *testing.T) {
	m := loadStories(t)
	prompts := [][]int{{1, 403, 407, 261, 378}, {1}, {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298}}
	const steps = 20
	// Alone.
	want, _ := greedyAlone(t, m, prompts, steps)
	// Together.
	b := m.NewBatch()
	states := make([]*llama.State, len(prompts))
	got := make([][]int, len(prompts))
	for i, p := range prompts {
		states[i], _ = m.NewState(0)
		if _, err := states[i].Forward(p); err != nil {
			t.Fatal(err)
		}
	}
	tokens := make([]int, len(prompts))
	for range steps {
		for i, s := range states {
			tokens[i] = sample.Argmax(s.Logits())
			got[i] = append(got[i], tokens[i])
		}
		if err := b.Decode(states, tokens); err != nil {
			t.Fatal(err)
		}
	}
	for i := range prompts {
		if !equalInts(got[i], want[i]) {
			t.Errorf("sequence %d: batched %v, alone %v", i, got[i], want[i])
		}
		if states[i].Pos() != len(prompts[i])+steps {
			t.Errorf("sequence %d at position %d", i, states[i].Pos())
		}
	}
	// And the logits agree closely after the last step.
	for i, p := range prompts {
		s, _ := m.NewState(0)
		l, _ := s.Forward(append(append([]int(nil), p...), got[i]...))
		if d := maxDiff(l, states[i].Logits()); d > 1e-5 {
			t.Errorf("sequence %d: logits differ by %g", i, d)
		}
	}
	if raceEnabled {
		return // allocation counts are not meaningful under -race
	}
	if allocs := testing.AllocsPerRun(10, func() {
		for _, s := range states {
			s.Truncate(s.Pos() - 1)
		}
		b.Decode(states, tokens)
	}); allocs != 0 {
		t.Errorf("%v allocations per batched decode", allocs)
	}
}

func TestBatchDecodeErrors(t *testing.T) {
	m := loadStories(t)
	a, _ := m.NewState(4)
	c, _ := m.NewState(0)
	b := m.NewBatch()
	other := loadStories(t)
	o, _ := other.NewState(0)
	a.Forward([]int{1, 2, 3, 4})
	cases := []struct {
		states []*llama.State
		tokens []int
		want   string
	}{
		{[]*llama.State{c}, []int{1, 2}, "batch of 1 states and 2 tokens"},
		{[]*llama.State{c, c}, []int{1, 2}, "batch states 0 and 1 are the same sequence"},
		{[]*llama.State{c, a}, []int{1, 2}, "batch state 1: position 5 exceeds context length 4"},
		{[]*llama.State{c, o}, []int{1, 2}, "batch state 1 belongs to another model"},
		{[]*llama.State{c}, []int{999}, "token 999 at index 0 outside vocabulary of 512"},
	}
	for _, k := range cases {
		err := b.Decode(k.states, k.tokens)
		if err == nil || !strings.Contains(err.Error(), k.want) {
			t.Errorf("got %v, want %q", err, k.want)
		}
	}
	if c.Pos() != 0 {
		t.Fatalf("failed batches moved a state to %d", c.Pos())
	}
}

// Prefill and decode rows mixed in one batch, with one prompt longer than
// a step, match each sequence run alone.
func TestBatchForwardMixed(t *testing.T) {
	m := loadStories(t)
	long := make([]int, 150)
	for i := range long {
		long[i] = 3 + (i*37)%500
	}
	history := [][]int{nil, {1, 403, 407}, nil, {1}}
	feed := [][]int{{1, 403, 407, 261, 378}, {261}, long, {403}}
	b := m.NewBatch()
	states := make([]*llama.State, len(feed))
	for i := range feed {
		states[i], _ = m.NewState(0)
		if history[i] != nil {
			states[i].Forward(history[i])
		}
	}
	if err := b.Forward(states, feed); err != nil {
		t.Fatal(err)
	}
	for i := range feed {
		alone, _ := m.NewState(0)
		want, _ := alone.Forward(append(append([]int(nil), history[i]...), feed[i]...))
		if d := maxDiff(states[i].Logits(), want); d > 1e-4 {
			t.Errorf("sequence %d: logits differ by %g", i, d)
		}
		if states[i].Pos() != len(history[i])+len(feed[i]) {
			t.Errorf("sequence %d at position %d", i, states[i].Pos())
		}
	}
	if err := b.Forward(states[:1], [][]int{{}}); err == nil || !strings.Contains(err.Error(), "no tokens") {
		t.Errorf("empty token list: %v", err)
	}
	small, _ := m.NewState(4)
	if err := b.Forward([]*llama.State{small}, [][]int{{1, 2, 3, 4, 5}}); err == nil || !strings.Contains(err.Error(), "position 5 exceeds context length 4") {
		t.Errorf("overlong prefill: %v", err)
	}
}

// greedyAlone decodes each prompt on its own State for steps greedy tokens,
// returning the tokens and the logits after the last one.
func greedyAlone(t *testing.T, m *llama.Model, prompts [][]int, steps int) ([][]int, [][]float32) {
	t.Helper()
	want := make([][]int, len(prompts))
	last := make([][]float32, len(prompts))
	for i, p := range prompts {
		s, _ := m.NewState(0)
		logits, err := s.Forward(p)
		if err != nil {
			t.Fatal(err)
		}
		for range steps {
			next := sample.Argmax(logits)
			want[i] = append(want[i], next)
			logits, _ = s.Forward([]int{next})
		}
		last[i] = append([]float32(nil), logits...)
	}
	return want, last
}
