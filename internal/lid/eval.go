package lid

import (
	"math"
	"runtime"
	"sort"
	"sync"
)

func logf(p float32) float64 { return math.Log(math.Max(float64(p), 1e-12)) }

// Report is the outcome of Evaluate.
type Report struct {
	N         int
	Correct   int
	Accuracy  float64
	MacroF1   float64           // mean F1 over the gold labels
	PerLabel  map[string]Scores // by gold or predicted label
	Confusion map[[2]string]int // (gold, predicted) → count, errors only
}

// Scores are one label's precision, recall and F1.
type Scores struct {
	Support   int // gold count
	Predicted int
	Correct   int
	Precision float64
	Recall    float64
	F1        float64
}

// PredictAll labels texts on every CPU, preserving order.
func PredictAll(p Predictor, texts []string) []string {
	out := make([]string, len(texts))
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(texts); i += workers {
				out[i], _ = p.Predict(texts[i])
			}
		}(w)
	}
	wg.Wait()
	return out
}

// Evaluate runs p over examples (in parallel) and scores it. Labels the
// model predicts that are absent from the gold data lower precision but are
// not averaged into macro-F1.
func Evaluate(p Predictor, examples []Example) Report {
	r := Report{PerLabel: map[string]Scores{}, Confusion: map[[2]string]int{}}
	texts := make([]string, len(examples))
	for i, e := range examples {
		texts[i] = e.Text
	}
	preds := PredictAll(p, texts)
	for i, e := range examples {
		got := preds[i]
		g := r.PerLabel[e.Label]
		g.Support++
		if got == e.Label {
			g.Correct++
			r.Correct++
		} else {
			r.Confusion[[2]string{e.Label, got}]++
		}
		r.PerLabel[e.Label] = g
		pr := r.PerLabel[got]
		pr.Predicted++
		r.PerLabel[got] = pr
		r.N++
	}
	var sum float64
	var gold int
	for l, s := range r.PerLabel {
		if s.Predicted > 0 {
			s.Precision = float64(s.Correct) / float64(s.Predicted)
		}
		if s.Support > 0 {
			s.Recall = float64(s.Correct) / float64(s.Support)
		}
		if s.Precision+s.Recall > 0 {
			s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
		}
		r.PerLabel[l] = s
		if s.Support > 0 {
			sum += s.F1
			gold++
		}
	}
	if r.N > 0 {
		r.Accuracy = float64(r.Correct) / float64(r.N)
	}
	if gold > 0 {
		r.MacroF1 = sum / float64(gold)
	}
	return r
}

// Confusion is one (gold, predicted) error pair.
type Confusion struct {
	Gold, Predicted string
	Count           int
}

// TopConfusions returns the n most frequent errors.
func (r Report) TopConfusions(n int) []Confusion {
	var out []Confusion
	for k, c := range r.Confusion {
		out = append(out, Confusion{k[0], k[1], c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Gold+out[i].Predicted < out[j].Gold+out[j].Predicted
	})
	return out[:min(n, len(out))]
}

// Worst returns the n gold labels with the lowest F1.
func (r Report) Worst(n int) []string {
	var ls []string
	for l, s := range r.PerLabel {
		if s.Support > 0 {
			ls = append(ls, l)
		}
	}
	sort.Slice(ls, func(i, j int) bool {
		a, b := r.PerLabel[ls[i]].F1, r.PerLabel[ls[j]].F1
		if a != b {
			return a < b
		}
		return ls[i] < ls[j]
	})
	return ls[:min(n, len(ls))]
}
