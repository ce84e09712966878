package checkpoint

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/bayling-go/bayling/internal/gguf"
	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/tensor"
)

// GGUFWeights reads the config and weights of a llama-architecture GGUF.
// Matrices alias the file's mapping (quantized ones stay quantized), so f
// must stay open while the weights are used.
func GGUFWeights(f *gguf.File) (llama.Config, *llama.Weights, error) {
	cfg, err := ggufConfig(f)
	if err != nil {
		return cfg, nil, err
	}
	w, err := ggufTensors(f, &cfg)
	if err != nil {
		return cfg, nil, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, fmt.Errorf("gguf %s: %w", f.Path, err)
	}
	if dims, err := f.Uint("llama.rope.dimension_count"); err == nil && int(dims) != cfg.HeadSize() {
		return cfg, nil, fmt.Errorf("gguf %s: llama.rope.dimension_count %d: partial rotary embeddings (head size %d) not supported", f.Path, dims, cfg.HeadSize())
	}
	if err := w.Check(&cfg); err != nil {
		return cfg, nil, fmt.Errorf("gguf %s: %w", f.Path, err)
	}
	return cfg, w, nil
}

func ggufConfig(f *gguf.File) (llama.Config, error) {
	var c llama.Config
	arch := f.Arch()
	if arch != "llama" {
		return c, fmt.Errorf("gguf %s: general.architecture %q: only llama is supported", f.Path, arch)
	}
	ints := []struct {
		key      string
		dst      *int
		optional bool
	}{
		{"llama.embedding_length", &c.HiddenSize, false},
		{"llama.feed_forward_length", &c.IntermediateSize, false},
		{"llama.block_count", &c.NumHiddenLayers, false},
		{"llama.attention.head_count", &c.NumAttentionHeads, false},
		{"llama.attention.head_count_kv", &c.NumKeyValueHeads, true},
		{"llama.attention.key_length", &c.HeadDim, true},
		{"llama.context_length", &c.MaxPositionEmbeddings, false},
		{"tokenizer.ggml.bos_token_id", &c.BOSTokenID, true},
	}
	for _, k := range ints {
		v, err := f.Uint(k.key)
		if k.optional && errors.Is(err, gguf.ErrNotFound) {
			continue
		}
		if err != nil {
			return c, err
		}
		if v > 1<<31 {
			return c, fmt.Errorf("gguf %s: key %q: %d out of range", f.Path, k.key, v)
		}
		*k.dst = int(v)
	}
	if eos, err := f.Uint("tokenizer.ggml.eos_token_id"); err == nil && eos < 1<<31 {
		c.EOSTokenID = llama.TokenIDs{int(eos)}
	}
	var err error
	if c.RMSNormEps, err = f.Float("llama.attention.layer_norm_rms_epsilon"); err != nil {
		return c, err
	}
	c.RopeTheta = 10000
	if v, err := f.Float("llama.rope.freq_base"); err == nil {
		c.RopeTheta = v
	} else if !errors.Is(err, gguf.ErrNotFound) {
		return c, err
	}
	if typ, err := f.String("llama.rope.scaling.type"); err == nil && typ != "none" {
		factor, _ := f.Float("llama.rope.scaling.factor")
		if typ != "linear" {
			return c, fmt.Errorf("gguf %s: llama.rope.scaling.type %q not supported", f.Path, typ)
		}
		c.RopeScaling = &llama.RopeScaling{RopeType: "linear", Factor: factor}
	}
	return c, nil
}

func ggufTensors(f *gguf.File, c *llama.Config) (*llama.Weights, error) {
	emb, err := ggufMat(f, "token_embd.weight")
	if err != nil {
		return nil, err
	}
	c.VocabSize = emb.Rows
	// Nine tensors per block: a corrupt block_count must not size memory.
	if c.NumHiddenLayers > len(f.Tensors)/9 {
		return nil, fmt.Errorf("gguf %s: llama.block_count %d but the file has only %d tensors", f.Path, c.NumHiddenLayers, len(f.Tensors))
	}
	w := &llama.Weights{TokenEmbd: emb, Layers: make([]llama.Layer, c.NumHiddenLayers)}
	for i := range w.Layers {
		l := &w.Layers[i]
		mats := []struct {
			name string
			dst  *llama.Mat
		}{
			{"attn_q", &l.Wq}, {"attn_k", &l.Wk}, {"attn_v", &l.Wv}, {"attn_output", &l.Wo},
			{"ffn_gate", &l.Gate}, {"ffn_down", &l.Down}, {"ffn_up", &l.Up},
		}
		for _, m := range mats {
			if *m.dst, err = ggufMat(f, fmt.Sprintf("blk.%d.%s.weight", i, m.name)); err != nil {
				return nil, err
			}
		}
		if l.AttnNorm, err = ggufVector(f, fmt.Sprintf("blk.%d.attn_norm.weight", i)); err != nil {
			return nil, err
		}
		if l.FFNNorm, err = ggufVector(f, fmt.Sprintf("blk.%d.ffn_norm.weight", i)); err != nil {
			return nil, err
		}
	}
	if w.OutputNorm, err = ggufVector(f, "output_norm.weight"); err != nil {
		return nil, err
	}
	w.Output = w.TokenEmbd
	c.TieWordEmbeddings = true
	if _, ok := f.TensorInfo("output.weight"); ok {
		if w.Output, err = ggufMat(f, "output.weight"); err != nil {
			return nil, err
		}
		c.TieWordEmbeddings = false
	}
	if _, ok := f.TensorInfo("rope_freqs.weight"); ok {
		if w.RopeFactors, err = ggufVector(f, "rope_freqs.weight"); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// ggufMat returns a 2-D tensor as a matrix aliasing the file.
func ggufMat(f *gguf.File, name string) (llama.Mat, error) {
	t, err := f.Tensor(name)
	if err != nil {
		return llama.Mat{}, err
	}
	if len(t.Shape) != 2 {
		return llama.Mat{}, fmt.Errorf("gguf %s: tensor %q: shape %v, want a matrix", f.Path, name, t.Shape)
	}
	if t.Type == tensor.F32 && len(t.Data) > 0 && uintptr(unsafe.Pointer(&t.Data[0]))%4 != 0 {
		return llama.Mat{}, fmt.Errorf("gguf %s: tensor %q: F32 data not 4-byte aligned", f.Path, name)
	}
	return llama.Mat{Type: t.Type, Rows: t.Shape[0], Cols: t.Shape[1], Data: t.Data}, nil
}

// ggufVector returns a 1-D tensor converted to float32.
func ggufVector(f *gguf.File, name string) ([]float32, error) {
	t, err := f.Tensor(name)
	if err != nil {
		return nil, err
	}
	if len(t.Shape) != 1 {
		return nil, fmt.Errorf("gguf %s: tensor %q: shape %v, want a vector", f.Path, name, t.Shape)
	}
	v, err := t.Float32()
	if err != nil {
		return nil, fmt.Errorf("gguf %s: %w", f.Path, err)
	}
	return v, nil
}
