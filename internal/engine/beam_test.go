package engine

import (
	"math"
	"slices"
	"sort"
	"testing"
)

func TestTopK(t *testing.T) {
	x := []float64{0.1, 5, 3, 5, -1, 4}
	if got := topK(x, 3); !slices.Equal(got, []int{1, 3, 5}) {
		t.Fatalf("topK = %v", got)
	}
	if got := topK(x, 10); len(got) != 6 || got[5] != 4 {
		t.Fatalf("topK all = %v", got)
	}
}

// One beam is greedy decoding, prompt by prompt identical to decoding alone.
func TestBeamOneIsGreedy(t *testing.T) {
	l := loadStories(t)
	var ps [][]int
	for _, p := range prompts {
		ps = append(ps, encode(l, p))
	}
	got, err := BeamSearch(t.Context(), l.Model, ps, BeamOptions{Beams: 1, MaxTokens: 30, StopIDs: l.Checkpoint.Stop})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		if text, want := l.Checkpoint.Tokenizer.Decode(got[i]), greedyAlone(t, l, p, 30); text != want {
			t.Errorf("prompt %d: beam-1 %q, greedy %q", i, text, want)
		}
	}
}

// refBeam is a plain beam search that recomputes every hypothesis from
// scratch on a fresh state: no batching, no forking of caches.
func refBeam(t *testing.T, l *Loaded, prompt []int, k, maxTokens int) ([]int, float64) {
	t.Helper()
	stops := l.Checkpoint.Stop
	type b struct {
		toks  []int
		score float64
	}
	type h struct {
		toks  []int
		score float64
	}
	live := []b{{}}
	var fin []h
	for length := 1; ; length++ {
		type c struct {
			parent, tok int
			score       float64
		}
		var cs []c
		for i, bm := range live {
			st, _ := l.Model.NewState(0)
			logits, err := st.Forward(append(slices.Clone(prompt), bm.toks...))
			if err != nil {
				t.Fatal(err)
			}
			mx := math.Inf(-1)
			for _, v := range logits {
				mx = max(mx, float64(v))
			}
			var sum float64
			for _, v := range logits {
				sum += math.Exp(float64(v) - mx)
			}
			for tok, v := range logits {
				cs = append(cs, c{i, tok, bm.score + float64(v) - mx - math.Log(sum)})
			}
		}
		sort.SliceStable(cs, func(i, j int) bool { return cs[i].score > cs[j].score })
		var next []b
		for rank, cd := range cs {
			toks := append(slices.Clone(live[cd.parent].toks), cd.tok)
			if slices.Contains(stops, cd.tok) {
				if rank < k {
					fin = append(fin, h{toks, cd.score / float64(length)})
				}
				continue
			}
			next = append(next, b{toks, cd.score})
			if len(next) == k {
				break
			}
		}
		if length >= maxTokens {
			for _, n := range next {
				fin = append(fin, h{n.toks, n.score / float64(length)})
			}
		}
		sort.SliceStable(fin, func(i, j int) bool { return fin[i].score > fin[j].score })
		if len(fin) > k {
			fin = fin[:k]
		}
		if length >= maxTokens || (len(fin) == k && fin[k-1].score >= next[0].score/float64(length)) {
			best := fin[0].toks
			if slices.Contains(stops, best[len(best)-1]) {
				best = best[:len(best)-1]
			}
			return best, fin[0].score
		}
		live = next
	}
}

// Batched beam search with forked caches finds what the from-scratch
// search finds, for several prompts searched together.
func TestBeamMatchesReference(t *testing.T) {
	l := loadStories(t)
	ps := [][]int{encode(l, "Once upon a time"), encode(l, "The cat"), encode(l, "Tom had a big red ball")}
	const k, n = 4, 16
	got, err := BeamSearch(t.Context(), l.Model, ps, BeamOptions{Beams: k, MaxTokens: n, StopIDs: l.Checkpoint.Stop})
	if err != nil {
		t.Fatal(err)
	}
	differs := false
	for i, p := range ps {
		want, _ := refBeam(t, l, p, k, n)
		if !slices.Equal(got[i], want) {
			t.Errorf("prompt %d: beam %v, reference %v", i, got[i], want)
		}
		greedy := greedyAlone(t, l, p, n)
		if l.Checkpoint.Tokenizer.Decode(got[i]) != greedy {
			differs = true
		}
	}
	if !differs {
		t.Log("beam search chose the greedy text for every prompt")
	}
}

// A prompt whose most likely first token is a stop token finishes at once,
// with nothing generated, whatever the beam count.
func TestBeamStopsOnFirstToken(t *testing.T) {
	l := loadStories(t)
	p := encode(l, prompts[0])
	st, err := l.Model.NewState(0)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := st.Forward(p)
	if err != nil {
		t.Fatal(err)
	}
	first := topK(toF64(logits), 1)[0]
	for _, beams := range []int{1, 3} {
		got, err := BeamSearch(t.Context(), l.Model, [][]int{p}, BeamOptions{Beams: beams, MaxTokens: 10, StopIDs: []int{first}})
		if err != nil {
			t.Fatal(err)
		}
		if beams == 1 && len(got[0]) != 0 {
			t.Errorf("beams %d: got %v, want nothing", beams, got[0])
		}
	}
}

func toF64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}
