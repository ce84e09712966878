package sample

import (
	"fmt"
	"math"
	"testing"
)

func logitsOf(probs ...float64) []float32 {
	l := make([]float32, len(probs))
	for i, p := range probs {
		l[i] = float32(math.Log(p))
	}
	return l
}

// draw samples n times from fresh copies of logits and counts the ids.
func draw(t *testing.T, p Params, logits []float32, n int) []int {
	t.Helper()
	s, err := New(p, len(logits))
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]int, len(logits))
	buf := make([]float32, len(logits))
	for range n {
		copy(buf, logits)
		counts[s.Sample(buf, nil)]++
	}
	return counts
}

func TestArgmaxTiesToLowest(t *testing.T) {
	if got := Argmax([]float32{1, 3, 2, 3}); got != 1 {
		t.Fatalf("argmax = %d, want 1", got)
	}
	counts := draw(t, Params{Temperature: 0}, []float32{0, 5, 5, 1}, 10)
	if counts[1] != 10 {
		t.Fatalf("greedy counts %v", counts)
	}
	counts = draw(t, Params{Temperature: 1e-6, TopP: 0.5, Seed: 3}, []float32{0, 5, 5, 1}, 10)
	if counts[1] != 10 {
		t.Fatalf("temperature 1e-6 is not greedy: %v", counts)
	}
}

// The RNG is run.c's xorshift*: state 1 after one step is
// 1 ^ 1<<25 ^ (that>>27) = 0x2000001 (the >>12 step is a no-op on 1).
func TestRNG(t *testing.T) {
	r := NewRNG(1)
	st := uint64(0x2000001)
	want := uint32((st * 0x2545F4914F6CDD1D) >> 32)
	if got := r.Uint32(); got != want {
		t.Fatalf("first draw %#x, want %#x", got, want)
	}
	a, b := NewRNG(42), NewRNG(42)
	for range 100 {
		x := a.Float32()
		if x != b.Float32() || x < 0 || x >= 1 {
			t.Fatalf("draw %v", x)
		}
	}
	if NewRNG(0).Uint32() != NewRNG(1).Uint32() {
		t.Fatal("seed 0 should behave as seed 1")
	}
}

func TestTopP(t *testing.T) {
	// Nucleus of 0.7 over (0.5, 0.3, 0.2) keeps the first two: once the
	// running sum 0.8 exceeds 0.7. Token 0 wins with probability 0.5/0.8.
	counts := draw(t, Params{Temperature: 1, TopP: 0.7, Seed: 7}, logitsOf(0.5, 0.3, 0.2), 20000)
	if counts[2] != 0 {
		t.Fatalf("token outside the nucleus sampled %d times", counts[2])
	}
	if f := float64(counts[0]) / 20000; math.Abs(f-0.625) > 0.015 {
		t.Fatalf("token 0 frequency %.3f, want 0.625", f)
	}
	// Without truncation every token appears in proportion.
	counts = draw(t, Params{Temperature: 1, Seed: 7}, logitsOf(0.5, 0.3, 0.2), 20000)
	if f := float64(counts[2]) / 20000; math.Abs(f-0.2) > 0.015 {
		t.Fatalf("token 2 frequency %.3f, want 0.2", f)
	}
}

func TestTopKAndMinP(t *testing.T) {
	probs := logitsOf(0.1, 0.4, 0.05, 0.3, 0.15)
	counts := draw(t, Params{Temperature: 1, TopK: 2, Seed: 9}, probs, 20000)
	if counts[0]+counts[2]+counts[4] != 0 {
		t.Fatalf("top-k 2 sampled outside {1,3}: %v", counts)
	}
	if f := float64(counts[1]) / 20000; math.Abs(f-0.4/0.7) > 0.015 {
		t.Fatalf("top-k renormalisation: token 1 frequency %.3f", f)
	}
	if c := draw(t, Params{Temperature: 1, TopK: 1, Seed: 9}, probs, 500); c[1] != 500 {
		t.Fatalf("top-k 1 is not greedy: %v", c)
	}
	// min-p 0.3 drops everything under 0.3*0.4 = 0.12: tokens 0 and 2.
	counts = draw(t, Params{Temperature: 1, MinP: 0.3, Seed: 9}, probs, 20000)
	if counts[0]+counts[2] != 0 || counts[4] == 0 {
		t.Fatalf("min-p 0.3: %v", counts)
	}
	// top-p 0.9 then top-k 3: the nucleus is {1,3,4,0}, top-k cuts it to {1,3,4}.
	counts = draw(t, Params{Temperature: 1, TopP: 0.9, TopK: 3, Seed: 9}, probs, 20000)
	if counts[0]+counts[2] != 0 || counts[4] == 0 {
		t.Fatalf("top-p then top-k: %v", counts)
	}
}

func TestTemperatureDivides(t *testing.T) {
	// At temperature 2 probabilities (0.8, 0.2) become √0.8:√0.2 = 2:1.
	counts := draw(t, Params{Temperature: 2, Seed: 5}, logitsOf(0.8, 0.2), 30000)
	if f := float64(counts[0]) / 30000; math.Abs(f-2.0/3) > 0.015 {
		t.Fatalf("token 0 frequency %.3f at T=2, want 0.667", f)
	}
}

func TestRepetitionPenalty(t *testing.T) {
	s, err := New(Params{Temperature: 0, RepeatPenalty: 2}, 4)
	if err != nil {
		t.Fatal(err)
	}
	logits := []float32{2, 1, -1, 1.5}
	s.penalize(logits, []int{0, 2, 2, 0})
	want := []float32{1, 1, -2, 1.5} // once per distinct token, sign-aware
	for i := range want {
		if logits[i] != want[i] {
			t.Fatalf("penalised %v, want %v", logits, want)
		}
	}
	// Greedy with the penalty: token 0 (2 -> 1) loses to token 3.
	if got := s.Sample([]float32{2, 1, -1, 1.5}, []int{0}); got != 3 {
		t.Fatalf("greedy with penalty picked %d", got)
	}
	// Only the last RepeatLastN tokens count.
	s, _ = New(Params{RepeatPenalty: 2, RepeatLastN: 1}, 4)
	if got := s.Sample([]float32{2, 1, -1, 1.5}, []int{3, 0, 1}); got != 0 {
		t.Fatalf("window 1 picked %d", got)
	}
}

func TestParamsValidate(t *testing.T) {
	bad := []Params{
		{Temperature: -1},
		{Temperature: float32(math.Inf(1))},
		{RepeatPenalty: -0.5},
		{RepeatLastN: -1},
		{TopP: float32(math.NaN())},
		{MinP: 1},
	}
	for _, p := range bad {
		if _, err := New(p, 10); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
	if _, err := New(Params{}, 0); err == nil {
		t.Error("vocabulary 0 accepted")
	}
}

func TestTinyTopPNeverPanics(t *testing.T) {
	uniform := make([]float32, 512)
	if c := draw(t, Params{Temperature: 1, TopP: 0.001, Seed: 1}, uniform, 10); c[0] != 10 {
		t.Fatalf("uniform with tiny top-p: %v", c[:4])
	}
}

func TestSampleAllocs(t *testing.T) {
	logits := make([]float32, 512)
	buf := make([]float32, 512)
	for i := range logits {
		logits[i] = float32(i%17) / 3
	}
	hist := []int{1, 2, 3, 4, 5}
	for _, p := range []Params{
		{Temperature: 1, TopP: 0.9, Seed: 1},
		{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1.1, Seed: 1},
	} {
		s, _ := New(p, 512)
		if n := testing.AllocsPerRun(100, func() { copy(buf, logits); s.Sample(buf, hist) }); n != 0 {
			t.Errorf("%+v: %v allocs per sample", p, n)
		}
	}
}

// Top-k selection before sorting must not change which token is drawn.
func TestTopKSelectionEquivalent(t *testing.T) {
	const n = 3000
	logits := make([]float32, n)
	for i := range logits {
		logits[i] = float32((i*7919)%1000) / 97 // many exact ties
	}
	for _, p := range []Params{
		{Temperature: 0.9, TopK: 40, TopP: 0.95, Seed: 11},
		{Temperature: 1.3, TopK: 5, TopP: 0.5, Seed: 12},
		{Temperature: 1, TopK: 100, MinP: 0.1, Seed: 13},
		{Temperature: 2, TopK: 2999, TopP: 0.99, Seed: 14},
		{Temperature: 1, TopP: 0.9, Seed: 15},
		{Temperature: 0.3, TopP: 0.6, Seed: 16},
		{Temperature: 5, TopP: 0.999, MinP: 0.01, Seed: 17},
	} {
		fast, _ := New(p, n)
		slow, _ := New(p, n)
		slow.fullSort = true
		a, b := make([]float32, n), make([]float32, n)
		for i := range 300 {
			copy(a, logits)
			copy(b, logits)
			if x, y := fast.Sample(a, nil), slow.Sample(b, nil); x != y {
				t.Fatalf("%+v draw %d: selected %d, full sort %d", p, i, x, y)
			}
		}
	}
}

func BenchmarkSampleLlama3Vocab(b *testing.B) {
	const n = 128256
	logits := make([]float32, n)
	buf := make([]float32, n)
	// Zipf-like (p ~ rank^-1.2), roughly the shape of an LM's next-token
	// distribution, over a shuffled vocabulary.
	for i := range logits {
		rank := 1 + (i*7919)%n
		logits[i] = -1.2 * float32(math.Log(float64(rank)))
	}
	for _, p := range []Params{
		{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, Seed: 1},
		{Temperature: 0.8, TopP: 0.95, Seed: 1},
	} {
		for _, full := range []bool{false, true} {
			b.Run(fmt.Sprintf("topk%d/fullsort=%v", p.TopK, full), func(b *testing.B) {
				s, _ := New(p, n)
				s.fullSort = full
				for b.Loop() {
					copy(buf, logits)
					s.Sample(buf, nil)
				}
			})
		}
	}
}
