// Package bench measures whole-model speed the way llama.cpp's llama-bench
// does, so the two can be compared row for row: prompt processing (pp) is
// one batched prefill of P random tokens into an empty cache, text
// generation (tg) is N single-token decodes from an empty cache, each
// timed over several repetitions after one warm-up run.
package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/bayling-go/bayling/internal/model/llama"
)

// Options say what to run.
type Options struct {
	Prompt int // pp tokens; 0 skips the pp test
	Gen    int // tg tokens; 0 skips the tg test
	Reps   int // timed repetitions of each test
	// BOS, if >= 0, is the first token of every prompt and of every
	// generation run, as llama-bench does for models that add BOS.
	BOS  int
	Seed uint64
}

// Stats are the tokens/s of one test over its repetitions.
type Stats struct {
	Tokens  int       // tokens per repetition
	Samples []float64 // tokens/s of each repetition
	Mean    float64
	Stddev  float64 // sample standard deviation (n-1), 0 for one sample
}

// Result holds both tests; a skipped test has zero Stats.
type Result struct {
	PP, TG Stats
}

// Run times the pp and tg tests on st, whose context must hold
// max(Prompt, Gen) positions. Tokens are uniform random ids below vocab.
func Run(ctx context.Context, st *llama.State, vocab int, o Options) (Result, error) {
	if o.Reps < 1 {
		return Result{}, fmt.Errorf("bench: %d repetitions, want at least 1", o.Reps)
	}
	if o.Prompt < 0 || o.Gen < 0 || max(o.Prompt, o.Gen) > st.Context() {
		return Result{}, fmt.Errorf("bench: pp %d / tg %d tokens do not fit a context of %d", o.Prompt, o.Gen, st.Context())
	}
	r := &runner{st: st, vocab: vocab, bos: o.BOS, rng: rand.New(rand.NewPCG(o.Seed, 1))}
	var res Result
	var err error
	if o.Prompt > 0 {
		if res.PP, err = r.repeat(ctx, o.Reps, o.Prompt, o.Prompt, r.prompt); err != nil {
			return res, err
		}
	}
	if o.Gen > 0 {
		if res.TG, err = r.repeat(ctx, o.Reps, o.Gen, 1, r.generate); err != nil {
			return res, err
		}
	}
	return res, nil
}

type runner struct {
	st    *llama.State
	vocab int
	bos   int
	rng   *rand.Rand
	toks  []int
}

// repeat runs test over warm tokens once (llama-bench: the whole prompt
// for pp, one token for tg), then over n tokens reps times, timed, each
// from an empty cache.
func (r *runner) repeat(ctx context.Context, reps, n, warm int, test func(n int) error) (Stats, error) {
	r.st.Reset()
	if err := test(warm); err != nil {
		return Stats{}, err
	}
	s := Stats{Tokens: n}
	for range reps {
		if err := ctx.Err(); err != nil {
			return s, err
		}
		r.st.Reset()
		t0 := time.Now()
		if err := test(n); err != nil {
			return s, err
		}
		s.Samples = append(s.Samples, float64(n)/time.Since(t0).Seconds())
	}
	s.Mean, s.Stddev = MeanStddev(s.Samples)
	return s, nil
}

// prompt is one forward pass over n random tokens (BOS first if set).
func (r *runner) prompt(n int) error {
	r.toks = r.toks[:0]
	for i := range n {
		r.toks = append(r.toks, r.token(i == 0))
	}
	_, err := r.st.Forward(r.toks)
	return err
}

// generate is n forward passes of one token each; the logits of each are
// computed (as llama_decode does) but not sampled, like llama-bench.
func (r *runner) generate(n int) error {
	tok := []int{0}
	for i := range n {
		tok[0] = r.token(i == 0)
		if _, err := r.st.Forward(tok); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) token(first bool) int {
	if first && r.bos >= 0 {
		return r.bos
	}
	return r.rng.IntN(r.vocab)
}

// MeanStddev returns the mean and the sample (n-1) standard deviation,
// llama-bench's avg_ts and stddev_ts.
func MeanStddev(v []float64) (mean, sd float64) {
	if len(v) == 0 {
		return 0, 0
	}
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v)-1))
}
