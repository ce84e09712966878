package llama_test

import (
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/sample"
	"github.com/bayling-go/bayling/internal/tensor"
)

// An F16 cache stays close to run.c's logits and keeps its greedy ids.
func TestF16Cache(t *testing.T) {
	m := loadStories(t)
	tokens, want := readLogits(t, "stories260K_t0_n64_once.logits16.txt")
	s, err := m.NewStateWith(llama.StateOptions{KVType: tensor.F16})
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.ForwardAll(tokens, nil)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for p := range tokens {
		worst = max(worst, maxDiff(all[p*512:(p+1)*512], want[p]))
	}
	t.Logf("F16 KV cache: max |logit diff| vs run.c = %g", worst)
	if worst > 0.05 || worst < 1e-6 {
		t.Fatalf("F16 KV cache: max |logit diff| %g, want in (1e-6, 0.05]", worst)
	}
	g := readGolden(t, "stories260K_t0_n64_once.ids.json")
	s.Reset()
	logits, _ := s.Forward(g.PromptIDs)
	ids := append([]int(nil), g.PromptIDs...)
	for s.Pos() < 64 {
		next := sample.Argmax(logits)
		ids = append(ids, next)
		logits, _ = s.Forward([]int{next})
	}
	ids = append(ids, sample.Argmax(logits))
	if !equalInts(ids, g.IDs) {
		t.Fatalf("F16 cache greedy ids differ at %d", firstDiff(ids, g.IDs))
	}
	if _, err := m.NewStateWith(llama.StateOptions{KVType: tensor.Q8_0}); err == nil || !strings.Contains(err.Error(), "KV cache type Q8_0 not supported") {
		t.Fatalf("got %v", err)
	}
	f32, _ := m.NewState(0)
	if err := f32.CopyFrom(s); err == nil {
		t.Fatal("copy between F16 and F32 caches accepted")
	}
}
