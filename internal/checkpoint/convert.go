package checkpoint

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/bayling-go/bayling/internal/gguf"
	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/tensor"
)

// ConvertOptions adjusts ConvertHF.
type ConvertOptions struct {
	Type FileType // the zero value means f16, llama.cpp's default
	Name string   // general.name; default: the directory's base name
}

// ConvertHF converts a Hugging Face Llama directory to a GGUF file laid out
// as llama.cpp's convert_hf_to_gguf.py writes it (arch llama, the same
// metadata keys, Q/K rows permuted, rope_freqs.weight for llama3 scaling,
// the tokenizer.ggml.* vocabulary), optionally quantized with the per-tensor
// rules of llama-quantize. It streams: one tensor is in memory at a time.
// It returns the tensor plan written.
func ConvertHF(dst, dir string, opt ConvertOptions) (QuantPlan, error) {
	ft := opt.Type
	if ft.Name == "" {
		ft, _ = ParseFileType("f16")
	}
	h, err := OpenHF(dir)
	if err != nil {
		return QuantPlan{}, err
	}
	defer h.Close()
	c := &h.Config
	vocab, err := readVocab(dir, c.VocabSize)
	if err != nil {
		return QuantPlan{}, err
	}
	name := opt.Name
	if name == "" {
		abs, _ := filepath.Abs(dir)
		name = filepath.Base(abs)
	}
	w := gguf.NewWriter()
	for _, e := range ggufParams(c, ft, name) {
		if err := w.AddKV(e.key, e.val); err != nil {
			return QuantPlan{}, err
		}
	}
	for _, e := range vocab.kvs() {
		if err := w.AddKV(e.key, e.val); err != nil {
			return QuantPlan{}, fmt.Errorf("checkpoint %s: %w", dir, err)
		}
	}

	var ropeFactors []float32
	var infos []gguf.TensorInfo
	if c.RopeScaling.Kind() == "llama3" {
		ropeFactors = llama3RopeFactors(c)
		infos = append(infos, gguf.TensorInfo{Name: "rope_freqs.weight", Dims: []uint64{uint64(len(ropeFactors))}, Type: tensor.F32})
	}
	for _, n := range h.TensorNames() {
		shape, _ := TensorShape(c, n)
		dims := make([]uint64, len(shape))
		for i, s := range shape {
			dims[len(shape)-1-i] = uint64(s)
		}
		infos = append(infos, gguf.TensorInfo{Name: n, Dims: dims, Type: tensor.F32})
	}
	plan, err := convertPlan(infos, c.NumHiddenLayers, ft)
	if err != nil {
		return plan, fmt.Errorf("checkpoint %s: %s: %w", dir, ft.Name, err)
	}
	for i, n := range plan.Names {
		shape, err := TensorShape(c, n)
		if n == "rope_freqs.weight" {
			shape, err = []int{len(ropeFactors)}, nil
		}
		if err != nil {
			return plan, err
		}
		if err := w.AddTensor(n, plan.Types[i], shape); err != nil {
			return plan, err
		}
	}
	// One float32 buffer and one output buffer, reused for every tensor,
	// keep the heap at about two copies of the largest tensor.
	var buf []byte
	var vals []float32
	err = w.WriteFile(dst, func(i int, info gguf.TensorInfo, out io.Writer) error {
		v := ropeFactors
		if info.Name != "rope_freqs.weight" {
			if vals, err = h.float32Into(vals, info.Name); err != nil {
				return err
			}
			v = vals
		}
		if buf, err = encode(buf, v, info.Type); err != nil {
			return fmt.Errorf("tensor %q: %w", info.Name, err)
		}
		_, err = out.Write(buf)
		return err
	})
	return plan, err
}

// ggufParams is the model metadata in convert_hf_to_gguf.py's order.
func ggufParams(c *llama.Config, ft FileType, name string) []kv {
	p := []kv{
		{"general.architecture", "llama"},
		{"general.type", "model"},
		{"general.name", name},
		{"llama.block_count", uint32(c.NumHiddenLayers)},
		{"llama.context_length", uint32(c.MaxPositionEmbeddings)},
		{"llama.embedding_length", uint32(c.HiddenSize)},
		{"llama.feed_forward_length", uint32(c.IntermediateSize)},
		{"llama.attention.head_count", uint32(c.NumAttentionHeads)},
		{"llama.attention.head_count_kv", uint32(c.KVHeads())},
		{"llama.rope.freq_base", float32(c.Theta())},
		{"llama.attention.layer_norm_rms_epsilon", float32(c.RMSNormEps)},
	}
	if c.HeadDim != 0 {
		p = append(p, kv{"llama.attention.key_length", uint32(c.HeadDim)}, kv{"llama.attention.value_length", uint32(c.HeadDim)})
	}
	p = append(p,
		kv{"general.file_type", ft.ID},
		kv{"llama.vocab_size", uint32(c.VocabSize)},
		kv{"llama.rope.dimension_count", uint32(c.HeadSize())},
	)
	if c.RopeScaling.Kind() == "linear" {
		p = append(p, kv{"llama.rope.scaling.type", "linear"}, kv{"llama.rope.scaling.factor", float32(c.RopeScaling.Factor)})
	}
	return append(p, kv{"general.quantization_version", uint32(2)})
}

// llama3RopeFactors is the rope_freqs.weight llama.cpp's converter writes
// for rope_type llama3: per rotated pair, the divisor of its frequency
// (1 for short wavelengths, factor for long ones, interpolated between),
// computed in float32 as the converter's torch code does. The converter
// reads original_max_position_embeddings from the top level of config.json
// (default 8192); we take it from rope_scaling, where transformers reads
// it — the two agree for Llama 3.1/3.2/3.3 (8192).
func llama3RopeFactors(c *llama.Config) []float32 {
	r := c.RopeScaling
	hs := c.HeadSize()
	base := float32(c.Theta())
	old := float32(r.OriginalMaxPositionEmbeddings)
	lowWave := old / float32(r.LowFreqFactor)
	highWave := old / float32(r.HighFreqFactor)
	factor := float32(r.Factor)
	out := make([]float32, hs/2)
	for i := range out {
		freq := 1 / float32(math.Pow(float64(base), float64(float32(2*i)/float32(hs))))
		wave := float32(2*math.Pi) / freq
		switch {
		case wave < highWave:
			out[i] = 1
		case wave > lowWave:
			out[i] = factor
		default:
			smooth := (old/wave - float32(r.LowFreqFactor)) / (float32(r.HighFreqFactor) - float32(r.LowFreqFactor))
			out[i] = 1 / ((1-smooth)/factor + smooth)
		}
	}
	return out
}

// convertPlan picks tensor types. For the types convert_hf_to_gguf.py
// offers (f32, f16, bf16, q8_0) it follows the converter: every matrix gets
// the type, falling back to F16 when its rows do not fill whole blocks; 1-D
// tensors are F32. Other types follow llama-quantize, so converting with
// them equals converting to f32 and running llama-quantize.
func convertPlan(infos []gguf.TensorInfo, nLayer int, ft FileType) (QuantPlan, error) {
	switch ft.Name {
	case "f32", "f16", "bf16", "q8_0":
	default:
		return PlanQuantize(infos, nLayer, ft)
	}
	var p QuantPlan
	for _, t := range infos {
		typ := tensor.F32
		if len(t.Dims) >= 2 && !strings.HasSuffix(t.Name, "_norm.weight") {
			typ = ft.Base
			if int(t.Dims[0])%typ.BlockElems() != 0 {
				typ = tensor.F16
			}
		}
		p.Names = append(p.Names, t.Name)
		p.Types = append(p.Types, typ)
	}
	return p, nil
}
