package llama_test

import (
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/sample"
)

// Prefills and decodes mixed in shared passes (one prompt longer than a
// pass) give the logits and greedy tokens of each sequence run alone.
func TestStepperMatchesAlone(t *testing.T) {
	m := loadStories(t)
	long := make([]int, 100)
	long[0] = 1
	for i := 1; i < len(long); i++ {
		long[i] = 260 + (i*37)%240
	}
	prompts := [][]int{{1, 403, 407, 261, 378}, long, {1}, {1, 403, 407}}
	const steps = 12
	want, wantLogits := greedyAlone(t, m, prompts, steps)
	// Sequence i joins at step i: its whole prompt goes into a step where
	// the earlier ones decode one token each.
	st := m.NewStepper()
	states := make([]*llama.State, len(prompts))
	got := make([][]int, len(prompts))
	for step := 0; ; step++ {
		var ss []*llama.State
		var ts [][]int
		for i := range prompts {
			switch {
			case i == step:
				states[i], _ = m.NewState(0)
				ss, ts = append(ss, states[i]), append(ts, prompts[i])
			case i < step && len(got[i]) < steps:
				next := sample.Argmax(states[i].Logits())
				got[i] = append(got[i], next)
				ss, ts = append(ss, states[i]), append(ts, []int{next})
			}
		}
		if len(ss) == 0 {
			break
		}
		if err := st.Step(ss, ts); err != nil {
			t.Fatal(err)
		}
	}
	for i := range prompts {
		if !equalInts(got[i], want[i]) {
			t.Errorf("sequence %d: stepped %v, alone %v", i, got[i], want[i])
		}
		if d := maxDiff(states[i].Logits(), wantLogits[i]); d > 1e-4 {
			t.Errorf("sequence %d: logits differ by %g", i, d)
		}
		if states[i].Pos() != len(prompts[i])+steps {
			t.Errorf("sequence %d at %d", i, states[i].Pos())
		}
	}
}

func TestStepperErrors(t *testing.T) {
	m := loadStories(t)
	a, _ := m.NewState(4)
	c, _ := m.NewState(0)
	st := m.NewStepper()
	cases := []struct {
		states []*llama.State
		tokens [][]int
		want   string
	}{
		{[]*llama.State{c}, [][]int{{1}, {2}}, "step of 1 states and 2 token lists"},
		{[]*llama.State{c}, [][]int{{}}, "no tokens"},
		{[]*llama.State{c, c}, [][]int{{1}, {2}}, "same sequence"},
		{[]*llama.State{a}, [][]int{{1, 2, 3, 4, 5}}, "position 5 exceeds context length 4"},
		{[]*llama.State{c}, [][]int{{999}}, "outside vocabulary"},
	}
	for _, k := range cases {
		if err := st.Step(k.states, k.tokens); err == nil || !strings.Contains(err.Error(), k.want) {
			t.Errorf("got %v, want %q", err, k.want)
		}
	}
	if a.Pos() != 0 || c.Pos() != 0 {
		t.Fatal("a failed step moved a state")
	}
}
