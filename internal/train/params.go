// Package train fine-tunes Llama-family models on the CPU: forward and
// backward passes over packed batches in float32, AdamW, full or LoRA
// fine-tuning, resumable checkpoints and exports to GGUF and Hugging Face
// safetensors.
//
// The forward pass matches internal/model/llama (adjacent-pair RoPE, the
// same RMSNorm, SwiGLU and grouped-query attention); matrix products run on
// internal/kernels' F32 GEMM through a fixed-size worker pool, and every
// reduction has a fixed order, so a run is bit-reproducible for a given
// thread count.
package train

import (
	"fmt"

	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/tensor"
)

// Tensor is one trainable parameter with its gradient, named as in GGUF.
// Vectors have Rows 1.
type Tensor struct {
	Name       string
	Rows, Cols int
	W, G       []float32
	Decay      bool // AdamW weight decay applies (matrices, not norms)
}

func newTensor(name string, rows, cols int, decay bool) *Tensor {
	return &Tensor{Name: name, Rows: rows, Cols: cols, W: make([]float32, rows*cols), G: make([]float32, rows*cols), Decay: decay}
}

// Layer is one transformer block's parameters.
type Layer struct {
	AttnNorm, Wq, Wk, Wv, Wo *Tensor
	FFNNorm, Gate, Up, Down  *Tensor
}

// Params is a model's float32 master weights. With tied embeddings Output
// is Embd, so both uses add into one gradient.
type Params struct {
	Cfg     llama.Config
	Embd    *Tensor
	Layers  []Layer
	OutNorm *Tensor
	Output  *Tensor
	List    []*Tensor // every distinct tensor, in GGUF order
}

// NewParams allocates zeroed parameters for c.
func NewParams(c llama.Config) (*Params, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	dim, qd, kvd, hid := c.HiddenSize, c.QDim(), c.KVDim(), c.IntermediateSize
	p := &Params{Cfg: c}
	add := func(t *Tensor) *Tensor { p.List = append(p.List, t); return t }
	p.Embd = add(newTensor("token_embd.weight", c.VocabSize, dim, true))
	p.Layers = make([]Layer, c.NumHiddenLayers)
	for i := range p.Layers {
		n := func(s string) string { return fmt.Sprintf("blk.%d.%s.weight", i, s) }
		p.Layers[i] = Layer{
			AttnNorm: add(newTensor(n("attn_norm"), 1, dim, false)),
			Wq:       add(newTensor(n("attn_q"), qd, dim, true)),
			Wk:       add(newTensor(n("attn_k"), kvd, dim, true)),
			Wv:       add(newTensor(n("attn_v"), kvd, dim, true)),
			Wo:       add(newTensor(n("attn_output"), dim, qd, true)),
			FFNNorm:  add(newTensor(n("ffn_norm"), 1, dim, false)),
			Gate:     add(newTensor(n("ffn_gate"), hid, dim, true)),
			Up:       add(newTensor(n("ffn_up"), hid, dim, true)),
			Down:     add(newTensor(n("ffn_down"), dim, hid, true)),
		}
	}
	p.OutNorm = add(newTensor("output_norm.weight", 1, dim, false))
	p.Output = p.Embd
	if !c.TieWordEmbeddings {
		p.Output = add(newTensor("output.weight", c.VocabSize, dim, true))
	}
	return p, nil
}

// FromWeights copies (dequantizing if needed) a loaded model into float32
// master weights. RoPE frequency factors are not supported in training.
func FromWeights(c llama.Config, w *llama.Weights) (*Params, error) {
	if w.RopeFactors != nil {
		return nil, fmt.Errorf("train: models with rope_freqs (Llama 3.1 scaling) are not supported")
	}
	if c.RopeScaling.Kind() != "" && c.RopeScaling.Kind() != "default" {
		return nil, fmt.Errorf("train: rope_scaling %q is not supported", c.RopeScaling.Kind())
	}
	tied := c.TieWordEmbeddings || sameMat(w.Output, w.TokenEmbd)
	c.TieWordEmbeddings = tied
	p, err := NewParams(c)
	if err != nil {
		return nil, err
	}
	if err := w.Check(&c); err != nil {
		return nil, err
	}
	if err := dequant(p.Embd, w.TokenEmbd); err != nil {
		return nil, err
	}
	for i, l := range w.Layers {
		pl := &p.Layers[i]
		copy(pl.AttnNorm.W, l.AttnNorm)
		copy(pl.FFNNorm.W, l.FFNNorm)
		for _, m := range []struct {
			t *Tensor
			m llama.Mat
		}{{pl.Wq, l.Wq}, {pl.Wk, l.Wk}, {pl.Wv, l.Wv}, {pl.Wo, l.Wo}, {pl.Gate, l.Gate}, {pl.Up, l.Up}, {pl.Down, l.Down}} {
			if err := dequant(m.t, m.m); err != nil {
				return nil, err
			}
		}
	}
	copy(p.OutNorm.W, w.OutputNorm)
	if !tied {
		if err := dequant(p.Output, w.Output); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func sameMat(a, b llama.Mat) bool {
	return len(a.Data) > 0 && len(b.Data) == len(a.Data) && &a.Data[0] == &b.Data[0]
}

func dequant(t *Tensor, m llama.Mat) error {
	if m.Rows != t.Rows || m.Cols != t.Cols {
		return fmt.Errorf("train: %s: shape %dx%d, want %dx%d", t.Name, m.Rows, m.Cols, t.Rows, t.Cols)
	}
	if err := tensor.Dequantize(t.W, m.Data, m.Type); err != nil {
		return fmt.Errorf("train: %s: %w", t.Name, err)
	}
	return nil
}

// Weights returns llama.Weights viewing p's float32 values (no copy), for
// running the trained model with the inference code.
func (p *Params) Weights() *llama.Weights {
	m := func(t *Tensor) llama.Mat { return llama.F32Mat(t.Rows, t.Cols, t.W) }
	w := &llama.Weights{TokenEmbd: m(p.Embd), OutputNorm: p.OutNorm.W, Output: m(p.Output)}
	for _, l := range p.Layers {
		w.Layers = append(w.Layers, llama.Layer{
			AttnNorm: l.AttnNorm.W, Wq: m(l.Wq), Wk: m(l.Wk), Wv: m(l.Wv), Wo: m(l.Wo),
			FFNNorm: l.FFNNorm.W, Gate: m(l.Gate), Up: m(l.Up), Down: m(l.Down),
		})
	}
	return w
}

// ZeroGrad clears every gradient.
func (p *Params) ZeroGrad() {
	for _, t := range p.List {
		clear(t.G)
	}
}

// NumParams counts the distinct parameters.
func (p *Params) NumParams() int {
	n := 0
	for _, t := range p.List {
		n += len(t.W)
	}
	return n
}

// InitRandom fills p the way tools/torch_train_reference.py does: matrices
// uniform in ±scale from one SplitMix64 stream in List order, norms 1 plus
// a small uniform perturbation so their gradients are exercised.
func (p *Params) InitRandom(seed uint64, scale float32) {
	r := NewRNG(seed)
	for _, t := range p.List {
		for i := range t.W {
			u := r.Uniform()
			if t.Decay {
				t.W[i] = scale * u
			} else {
				t.W[i] = 1 + 0.1*u
			}
		}
	}
}
