package eval

import (
	"context"
	"fmt"
	"math"
	"unicode/utf8"
)

// Doc is one multiple-choice question after the task's templates:
// doc_to_text, doc_to_choice and doc_to_target.
type Doc struct {
	Text    string
	Choices []string
	Gold    int
}

// Sampler names how few-shot examples are drawn (the harness's
// fewshot_config.sampler).
const (
	SamplerRandom = "default" // rnd.sample(fewshot_docs, n), one Random(seed) per task
	SamplerFirstN = "first_n" // fewshot_docs[:n]
)

// Subset is one scored unit of a task (a language of XCOPA, a subject of
// MMLU): its test documents and where few-shot examples come from.
type Subset struct {
	Name    string
	Docs    []Doc
	FewShot []Doc // the few-shot split (training, else validation, else test)
	// DrawExtra means FewShot is the evaluated split, so one extra example
	// is drawn and the document itself is dropped from its examples.
	DrawExtra bool
	Sampler   string
}

// MCOptions configure RunMC.
type MCOptions struct {
	Shots int
	Seed  uint32 // few-shot seed; the harness's default is 1234
	Limit int    // first N documents per subset; 0 = all
	// Doc, if set, is called after each document.
	Doc func(subset string, done, total int)
}

// MCResult is acc and acc_norm of one subset.
type MCResult struct {
	Name    string  `json:"name"`
	N       int     `json:"n"`
	Acc     float64 `json:"acc"`
	AccNorm float64 `json:"acc_norm"`
	AccErr  float64 `json:"acc_stderr"`
}

// Target delimiter and few-shot delimiter of every task here (the harness's
// defaults).
const (
	targetDelimiter  = " "
	fewshotDelimiter = "\n\n"
)

// FewShotContext is the harness's few-shot prefix for doc: the examples'
// text, " ", their gold choice and "\n\n" each, followed by doc.Text.
func FewShotContext(doc Doc, examples []Doc) string {
	s := ""
	for _, e := range examples {
		s += e.Text + targetDelimiter + e.Choices[e.Gold] + fewshotDelimiter
	}
	return s + doc.Text
}

// pickShots draws the examples for doc as ContextSampler.get_context does.
func pickShots(sub *Subset, doc Doc, rnd *PyRandom, shots int) ([]Doc, error) {
	if shots == 0 {
		return nil, nil
	}
	n := shots
	if sub.DrawExtra {
		n++
	}
	if n > len(sub.FewShot) {
		return nil, fmt.Errorf("%s: %d few-shot examples wanted, %d available", sub.Name, n, len(sub.FewShot))
	}
	var idx []int
	if sub.Sampler == SamplerFirstN {
		for i := range n {
			idx = append(idx, i)
		}
	} else {
		idx = rnd.Sample(len(sub.FewShot), n)
	}
	var out []Doc
	for _, i := range idx {
		e := sub.FewShot[i]
		if sub.DrawExtra && sameDoc(e, doc) {
			continue
		}
		out = append(out, e)
	}
	return out[:min(shots, len(out))], nil
}

func sameDoc(a, b Doc) bool {
	if a.Text != b.Text || a.Gold != b.Gold || len(a.Choices) != len(b.Choices) {
		return false
	}
	for i := range a.Choices {
		if a.Choices[i] != b.Choices[i] {
			return false
		}
	}
	return true
}

// ScoreDoc returns the log-likelihood of each choice, scored as the
// continuation " "+choice of ctxText.
func ScoreDoc(ctx context.Context, s *Scorer, ctxText string, doc Doc) ([]float64, error) {
	lls := make([]float64, len(doc.Choices))
	for i, c := range doc.Choices {
		ll, _, err := s.LogLikelihood(ctx, ctxText, targetDelimiter+c)
		if err != nil {
			return nil, fmt.Errorf("choice %d: %w", i, err)
		}
		lls[i] = ll
	}
	return lls, nil
}

// Predict is the harness's acc / acc_norm choice: argmax of the
// log-likelihoods, and of the log-likelihoods divided by the choice's
// length in characters; ties go to the first choice.
func Predict(lls []float64, choices []string) (pred, predNorm int) {
	for i := range lls {
		if lls[i] > lls[pred] {
			pred = i
		}
		if lls[i]/float64(utf8.RuneCountInString(choices[i])) > lls[predNorm]/float64(utf8.RuneCountInString(choices[predNorm])) {
			predNorm = i
		}
	}
	return pred, predNorm
}

// RunMC scores every subset: 0- or n-shot contexts, one log-likelihood per
// choice, acc and acc_norm with the harness's sample standard error.
func RunMC(ctx context.Context, s *Scorer, subsets []Subset, opt MCOptions) ([]MCResult, error) {
	var out []MCResult
	for si := range subsets {
		sub := &subsets[si]
		rnd := NewPyRandom(opt.Seed)
		docs := sub.Docs
		if opt.Limit > 0 && opt.Limit < len(docs) {
			docs = docs[:opt.Limit]
		}
		var acc, accNorm int
		for di, d := range docs {
			shots, err := pickShots(sub, d, rnd, opt.Shots)
			if err != nil {
				return nil, err
			}
			lls, err := ScoreDoc(ctx, s, FewShotContext(d, shots), d)
			if err != nil {
				return nil, fmt.Errorf("%s: doc %d: %w", sub.Name, di, err)
			}
			p, pn := Predict(lls, d.Choices)
			if p == d.Gold {
				acc++
			}
			if pn == d.Gold {
				accNorm++
			}
			if opt.Doc != nil {
				opt.Doc(sub.Name, di+1, len(docs))
			}
		}
		r := MCResult{Name: sub.Name, N: len(docs)}
		if r.N > 0 {
			r.Acc = float64(acc) / float64(r.N)
			r.AccNorm = float64(accNorm) / float64(r.N)
			r.AccErr = stderrMean(r.Acc, r.N)
		}
		out = append(out, r)
	}
	return out, nil
}

// stderrMean is the harness's mean_stderr for 0/1 values: the sample
// standard deviation over sqrt(n).
func stderrMean(p float64, n int) float64 {
	if n < 2 {
		return 0
	}
	v := p * (1 - p) * float64(n) / float64(n-1)
	return math.Sqrt(v / float64(n))
}
