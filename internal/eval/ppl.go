package eval

import (
	"context"
	"fmt"
	"math"

	"github.com/bayling-go/bayling/internal/model/llama"
)

// PerplexityOptions configure Perplexity.
type PerplexityOptions struct {
	Ctx int // chunk length (llama-perplexity -c)
	// BOS, when >= 0, replaces the first token of every chunk, as
	// llama-perplexity does for models that add BOS.
	BOS    int
	Chunks int // chunks to score at most; 0 = all
	// Chunk, if set, is called after each chunk with its 1-based number
	// and the running perplexity (llama-perplexity's "[i]ppl," line).
	Chunk func(i int, ppl float64)
}

// PerplexityResult is the final estimate over all scored tokens.
type PerplexityResult struct {
	PPL    float64 // exp(mean negative log-likelihood)
	Err    float64 // llama.cpp's ± : PPL × standard error of the mean NLL
	Chunks int
	Count  int     // tokens scored
	NLL    float64 // mean negative log-likelihood
}

// Perplexity scores tokens (the whole text, tokenized with BOS when the
// model adds one) the way llama.cpp's llama-perplexity does: the tokens are
// cut into len/Ctx chunks of Ctx tokens (the tail is dropped); each chunk is
// run from an empty cache with its first token replaced by BOS; only the
// second half is scored — the logits at positions Ctx/2 .. Ctx-2 predict
// tokens Ctx/2+1 .. Ctx-1 — so every scored token has at least Ctx/2
// tokens of context.
func Perplexity(ctx context.Context, m *llama.Model, tokens []int, opt PerplexityOptions) (PerplexityResult, error) {
	n := opt.Ctx
	if n < 4 {
		return PerplexityResult{}, fmt.Errorf("perplexity: context %d too small", n)
	}
	if len(tokens) < 2*n {
		return PerplexityResult{}, fmt.Errorf("perplexity: text has %d tokens; a context of %d needs at least %d", len(tokens), n, 2*n)
	}
	chunks := len(tokens) / n
	if opt.Chunks > 0 {
		chunks = min(chunks, opt.Chunks)
	}
	st, err := m.NewState(n)
	if err != nil {
		return PerplexityResult{}, fmt.Errorf("perplexity: %w", err)
	}
	vocab := m.Config().VocabSize
	first := n / 2
	chunk := make([]int, n)
	var logits []float32
	var nll, nll2 float64
	count := 0
	for c := range chunks {
		if err := ctx.Err(); err != nil {
			return PerplexityResult{}, err
		}
		copy(chunk, tokens[c*n:(c+1)*n])
		if opt.BOS >= 0 {
			chunk[0] = opt.BOS
		}
		st.Reset()
		// The first half only fills the cache; logits are needed from
		// position first on.
		if _, err := st.Forward(chunk[:first]); err != nil {
			return PerplexityResult{}, fmt.Errorf("perplexity: chunk %d: %w", c+1, err)
		}
		if logits, err = st.ForwardAll(chunk[first:n-1], logits[:0]); err != nil {
			return PerplexityResult{}, fmt.Errorf("perplexity: chunk %d: %w", c+1, err)
		}
		// The BOS replacement is only the model's input: the scored
		// targets are the original tokens (never position 0 anyway).
		for i := 0; i < n-1-first; i++ {
			v := -logSoftmaxAt(logits[i*vocab:(i+1)*vocab], tokens[c*n+first+i+1])
			nll += v
			nll2 += v * v
		}
		count += n - 1 - first
		if opt.Chunk != nil {
			opt.Chunk(c+1, math.Exp(nll/float64(count)))
		}
	}
	r := PerplexityResult{Chunks: chunks, Count: count}
	r.NLL = nll / float64(count)
	r.PPL = math.Exp(r.NLL)
	if v := nll2/float64(count) - r.NLL*r.NLL; v > 0 && count > 1 {
		r.Err = math.Sqrt(v/float64(count-1)) * r.PPL
	}
	return r, nil
}

// logSoftmaxAt is log softmax(logits)[tok] computed as llama.cpp's
// perplexity tool does: float32 max and differences, float32 exp, double sum.
func logSoftmaxAt(logits []float32, tok int) float64 {
	mx := logits[0]
	for _, v := range logits[1:] {
		mx = max(mx, v)
	}
	var sum float64
	for _, v := range logits {
		sum += float64(float32(math.Exp(float64(v - mx))))
	}
	return float64(logits[tok]-mx) - math.Log(sum)
}
