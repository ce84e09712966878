package llama

import (
	"fmt"

	"github.com/bayling-go/bayling/internal/kernels"
	"github.com/bayling-go/bayling/internal/tensor"
)

// Model is an immutable, validated config and weights; any number of States
// (sequences) can run on one Model at once.
type Model struct {
	cfg   Config
	w     *Weights
	freqs []float32 // RoPE inverse frequency per pair of a head
	eps   float32
	pool  *kernels.Pool // nil: kernels run on the calling goroutine
}

// New validates c and checks w against it, then repacks w's Q4_0, Q8_0 and Q4_K matrices
// in place for the many-row kernel when the CPU's kernels use it (see
// kernels.Pack): from then on w is for this package's forward pass
// only, and its data must be writable (heap or gguf's private mapping).
func New(c Config, w *Weights) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := w.Check(&c); err != nil {
		return nil, err
	}
	if err := w.pack(); err != nil {
		return nil, err
	}
	freqs := ropeFreqs(&c)
	for i, f := range w.RopeFactors {
		freqs[i] /= f
	}
	return &Model{cfg: c, w: w, freqs: freqs, eps: float32(c.RMSNormEps)}, nil
}

// SetPool makes the forward pass split its matrix products and attention
// over p's threads. The caller owns p and must keep it open while the model
// is used. Calls from several States are serialised by the pool.
func (m *Model) SetPool(p *kernels.Pool) { m.pool = p }

func (m *Model) matmul(dst []float32, w Mat, x []float32, n int) {
	if m.pool != nil {
		m.pool.MatMul(dst, w, x, n)
		return
	}
	kernels.MatMul(dst, w, x, n)
}

func (m *Model) attend(out, q []float32, kv, vv kernels.KV, nPos int, scores []float32) {
	c := &m.cfg
	shape := kernels.AttnShape{Heads: c.NumAttentionHeads, KVHeads: c.KVHeads(), HeadDim: c.HeadSize()}
	if m.pool != nil {
		m.pool.Attention(out, q, kv, vv, nPos, shape, scores)
		return
	}
	kernels.Attention(out, q, kv, vv, nPos, shape, scores)
}

func (m *Model) checkTokens(tokens []int) error {
	for i, t := range tokens {
		if t < 0 || t >= m.cfg.VocabSize {
			return fmt.Errorf("llama: token %d at index %d outside vocabulary of %d", t, i, m.cfg.VocabSize)
		}
	}
	return nil
}

// Config returns the model's hyperparameters.
func (m *Model) Config() Config { return m.cfg }

// Weights returns the model's weights; callers must not modify them.
func (m *Model) Weights() *Weights { return m.w }

// DefaultBatch is the most tokens one forward step handles; longer inputs
// are split into steps of this size so scratch memory stays bounded.
const DefaultBatch = 64

// StateOptions configure a sequence.
type StateOptions struct {
	Context int          // positions it can hold; 0 = max_position_embeddings
	KVType  tensor.DType // element type of the KV cache: F32 (default) or F16
}

// NewState makes a sequence with room for ctxLen positions (0 means the
// model's max_position_embeddings) and an F32 KV cache.
func (m *Model) NewState(ctxLen int) (*State, error) {
	return m.NewStateWith(StateOptions{Context: ctxLen})
}

// NewStateWith makes a sequence; its KV cache is allocated up front. An F16
// cache halves the memory (llama.cpp's default) at a small cost in accuracy.
func (m *Model) NewStateWith(o StateOptions) (*State, error) {
	ctxLen := o.Context
	if ctxLen == 0 {
		ctxLen = m.cfg.MaxPositionEmbeddings
	}
	if ctxLen < 0 || ctxLen > m.cfg.MaxPositionEmbeddings {
		return nil, fmt.Errorf("llama: context length %d outside 1..%d", ctxLen, m.cfg.MaxPositionEmbeddings)
	}
	if o.KVType != tensor.F32 && o.KVType != tensor.F16 {
		return nil, fmt.Errorf("llama: KV cache type %v not supported (want F32 or F16)", o.KVType)
	}
	s := &State{m: m, ctx: ctxLen, maxBatch: DefaultBatch}
	n := ctxLen * m.cfg.KVDim()
	s.k = make([]kvCache, m.cfg.NumHiddenLayers)
	s.v = make([]kvCache, m.cfg.NumHiddenLayers)
	for l := range s.k {
		s.k[l] = newKVCache(o.KVType, n)
		s.v[l] = newKVCache(o.KVType, n)
	}
	s.logits = make([]float32, m.cfg.VocabSize)
	return s, nil
}
