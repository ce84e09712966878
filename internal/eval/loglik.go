package eval

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

// Scorer computes log-likelihoods of continuations as lm-evaluation-harness
// does for loglikelihood requests. It keeps one sequence and reuses the
// cached prefix shared with the previous request, so the choices of one
// document cost little more than their own tokens. Not safe for concurrent use.
type Scorer struct {
	m      *llama.Model
	tok    tokenizer.Tokenizer
	addBOS bool
	st     *llama.State
	prev   []int // tokens in st's cache
	logits []float32
}

// NewScorer scores with m and tok. addBOS prepends BOS to every encoding,
// like the harness's add_bos_token=True; the harness default is false, and
// an empty context is then replaced by BOS (prefix_token_id).
func NewScorer(m *llama.Model, tok tokenizer.Tokenizer, addBOS bool) (*Scorer, error) {
	st, err := m.NewState(m.Config().MaxPositionEmbeddings)
	if err != nil {
		return nil, err
	}
	return &Scorer{m: m, tok: tok, addBOS: addBOS, st: st}, nil
}

// Split is the harness's _encode_pair: trailing whitespace of the context
// moves to the continuation, the pair is encoded whole and the
// continuation's tokens are what follows the encoded context.
func (s *Scorer) Split(ctxText, cont string) (ctxIDs, contIDs []int) {
	trimmed := strings.TrimRightFunc(ctxText, isPySpace)
	if n := len(ctxText) - len(trimmed); n > 0 {
		cont = ctxText[len(trimmed):] + cont
		ctxText = trimmed
	}
	opt := tokenizer.EncodeOptions{AddBOS: s.addBOS}
	if ctxText == "" {
		bos := s.tok.BOS()
		if bos < 0 {
			bos = s.tok.EOS()
		}
		return []int{bos}, s.tok.Encode(cont, tokenizer.EncodeOptions{})
	}
	whole := s.tok.Encode(ctxText+cont, opt)
	ctxIDs = s.tok.Encode(ctxText, opt)
	if len(ctxIDs) > len(whole) {
		return whole, nil
	}
	return whole[:len(ctxIDs)], whole[len(ctxIDs):]
}

// LogLikelihood is sum log p(continuation tokens | context) and whether
// every continuation token is the argmax (the harness's is_greedy). Input
// longer than the model's context is cut on the left as the harness does;
// a continuation longer than the context loses its first tokens.
func (s *Scorer) LogLikelihood(ctx context.Context, ctxText, cont string) (float64, bool, error) {
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	ctxIDs, contIDs := s.Split(ctxText, cont)
	if len(contIDs) == 0 {
		return 0, false, fmt.Errorf("loglikelihood: continuation %q encodes to no tokens after context %q", cont, ctxText)
	}
	maxLen := s.st.Context()
	whole := append(append(make([]int, 0, len(ctxIDs)+len(contIDs)), ctxIDs...), contIDs...)
	if len(whole) > maxLen+1 {
		whole = whole[len(whole)-maxLen-1:]
	}
	if len(contIDs) > len(whole)-1 {
		// The continuation alone overflows the window (the harness's
		// slicing breaks here): score its last tokens that have a
		// predicting position inside the window.
		contIDs = contIDs[len(contIDs)-(len(whole)-1):]
	}
	inp := whole[:len(whole)-1]
	start := len(inp) - len(contIDs) // first position whose logits are needed
	keep := min(commonPrefix(s.prev, inp), start)
	if err := s.st.Truncate(keep); err != nil {
		return 0, false, err
	}
	s.prev = s.prev[:keep]
	if keep < start {
		if _, err := s.st.Forward(inp[keep:start]); err != nil {
			return 0, false, err
		}
	}
	var err error
	if s.logits, err = s.st.ForwardAll(inp[start:], s.logits[:0]); err != nil {
		return 0, false, err
	}
	s.prev = append(s.prev[:0], inp...)
	vocab := s.m.Config().VocabSize
	ll, greedy := 0.0, true
	for i, id := range contIDs {
		row := s.logits[i*vocab : (i+1)*vocab]
		lp, arg := logSoftmax64(row, id)
		ll += lp
		greedy = greedy && arg == id
	}
	return ll, greedy, nil
}

// logSoftmax64 is log softmax(row)[id] in float64 (torch's log_softmax on
// float32 logits differs from it by float32 rounding) and the argmax.
func logSoftmax64(row []float32, id int) (float64, int) {
	arg := 0
	for i, v := range row {
		if v > row[arg] {
			arg = i
		}
	}
	mx := float64(row[arg])
	var sum float64
	for _, v := range row {
		sum += math.Exp(float64(v) - mx)
	}
	return float64(row[id]) - mx - math.Log(sum), arg
}

func commonPrefix(a, b []int) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
