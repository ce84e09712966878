package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/safetensors"
	"github.com/bayling-go/bayling/internal/tensor"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

// FormatHF is a Hugging Face checkpoint directory: config.json and
// model.safetensors or a sharded model.safetensors.index.json.
const FormatHF Format = "hf"

// HF is an open Hugging Face Llama checkpoint. Tensors are addressed by
// their GGUF names (token_embd.weight, blk.0.attn_q.weight, ...) and come
// out in the layout the forward pass uses (Q/K rows permuted).
type HF struct {
	Dir    string
	Config llama.Config
	// TorchDType is config.json's torch_dtype, if given.
	TorchDType string
	Set        *safetensors.Set
}

// hfConfigFile is the part of config.json beyond llama.Config.
type hfConfigFile struct {
	ModelType     string   `json:"model_type"`
	Architectures []string `json:"architectures"`
	TorchDType    string   `json:"torch_dtype"`
}

// OpenHF reads dir/config.json (and generation_config.json, if present) and
// opens the safetensors weights. It checks every tensor the config implies
// exists with the right shape, so later reads cannot fail on shape.
func OpenHF(dir string) (*HF, error) {
	cfg, extra, err := readHFConfig(dir)
	if err != nil {
		return nil, err
	}
	set, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	// Nine tensors per layer: a corrupt num_hidden_layers must not size memory.
	if n := len(set.Names()); cfg.NumHiddenLayers > n/9 {
		set.Close()
		return nil, fmt.Errorf("checkpoint %s: config.json: num_hidden_layers %d but the weights hold only %d tensors", dir, cfg.NumHiddenLayers, n)
	}
	h := &HF{Dir: dir, Config: cfg, TorchDType: extra.TorchDType, Set: set}
	for _, name := range h.TensorNames() {
		if _, err := h.info(name); err != nil {
			set.Close()
			return nil, err
		}
	}
	return h, nil
}

// Close unmaps the safetensors files.
func (h *HF) Close() error { return h.Set.Close() }

func readHFConfig(dir string) (llama.Config, hfConfigFile, error) {
	var extra hfConfigFile
	p := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(p)
	if err != nil {
		return llama.Config{}, extra, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &extra); err != nil {
		return llama.Config{}, extra, fmt.Errorf("checkpoint %s: %w", p, err)
	}
	if extra.ModelType != "" && extra.ModelType != "llama" {
		return llama.Config{}, extra, fmt.Errorf("checkpoint %s: model_type %q: only llama is supported", p, extra.ModelType)
	}
	if !hasMaxPos(b) {
		return llama.Config{}, extra, fmt.Errorf("checkpoint %s: max_position_embeddings missing: the context length must be given", p)
	}
	cfg, err := llama.ParseConfig(b)
	if err != nil {
		return cfg, extra, fmt.Errorf("checkpoint %s: %w", p, err)
	}
	if err := mergeGenerationConfig(dir, &cfg); err != nil {
		return cfg, extra, err
	}
	return cfg, extra, nil
}

func hasMaxPos(b []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return true // ParseConfig reports the syntax error
	}
	_, ok := m["max_position_embeddings"]
	return ok
}

// mergeGenerationConfig takes bos_token_id from generation_config.json and
// adds its eos_token_id(s) to the config's: transformers' generate() stops
// on those (Llama 3 Instruct lists <|eot_id|> only there).
func mergeGenerationConfig(dir string, cfg *llama.Config) error {
	p := filepath.Join(dir, "generation_config.json")
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	var g struct {
		BOS *int           `json:"bos_token_id"`
		EOS llama.TokenIDs `json:"eos_token_id"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		return fmt.Errorf("checkpoint %s: %w", p, err)
	}
	if g.BOS != nil {
		if *g.BOS < 0 || *g.BOS >= cfg.VocabSize {
			return fmt.Errorf("checkpoint %s: bos_token_id %d outside vocabulary of %d", p, *g.BOS, cfg.VocabSize)
		}
		cfg.BOSTokenID = *g.BOS
	}
	for _, id := range g.EOS {
		if id < 0 || id >= cfg.VocabSize {
			return fmt.Errorf("checkpoint %s: eos_token_id %d outside vocabulary of %d", p, id, cfg.VocabSize)
		}
		if !slices.Contains(cfg.EOSTokenID, id) {
			cfg.EOSTokenID = append(cfg.EOSTokenID, id)
		}
	}
	return nil
}

// hfLayerNames maps GGUF per-layer tensor names to transformers' names.
var hfLayerNames = map[string]string{
	"attn_norm":   "input_layernorm",
	"attn_q":      "self_attn.q_proj",
	"attn_k":      "self_attn.k_proj",
	"attn_v":      "self_attn.v_proj",
	"attn_output": "self_attn.o_proj",
	"ffn_norm":    "post_attention_layernorm",
	"ffn_gate":    "mlp.gate_proj",
	"ffn_down":    "mlp.down_proj",
	"ffn_up":      "mlp.up_proj",
}

// layerTensors lists a block's tensors in llama.cpp's converter order.
var layerTensors = []string{"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_down", "ffn_up"}

// HFName maps a GGUF tensor name to its transformers LlamaForCausalLM name.
func HFName(gguf string) (string, error) {
	switch gguf {
	case "token_embd.weight":
		return "model.embed_tokens.weight", nil
	case "output_norm.weight":
		return "model.norm.weight", nil
	case "output.weight":
		return "lm_head.weight", nil
	}
	var l int
	var rest string
	if n, _ := fmt.Sscanf(gguf, "blk.%d.%s", &l, &rest); n == 2 {
		if mod, ok := strings.CutSuffix(rest, ".weight"); ok {
			if hf, ok := hfLayerNames[mod]; ok {
				return fmt.Sprintf("model.layers.%d.%s.weight", l, hf), nil
			}
		}
	}
	return "", fmt.Errorf("checkpoint: tensor %q has no Hugging Face name", gguf)
}

// TensorNames lists the GGUF names of the model's tensors in llama.cpp's
// converter order; output.weight only when the embeddings are not tied.
func TensorNames(c *llama.Config) []string {
	names := []string{"token_embd.weight"}
	for l := 0; l < c.NumHiddenLayers; l++ {
		for _, t := range layerTensors {
			names = append(names, fmt.Sprintf("blk.%d.%s.weight", l, t))
		}
	}
	names = append(names, "output_norm.weight")
	if !c.TieWordEmbeddings {
		names = append(names, "output.weight")
	}
	return names
}

// TensorNames lists the checkpoint's tensors by GGUF name.
func (h *HF) TensorNames() []string { return TensorNames(&h.Config) }

// TensorShape is the row-major shape the config implies for a GGUF name.
func TensorShape(c *llama.Config, name string) ([]int, error) {
	dim, qd, kvd, hid := c.HiddenSize, c.QDim(), c.KVDim(), c.IntermediateSize
	switch name {
	case "token_embd.weight", "output.weight":
		return []int{c.VocabSize, dim}, nil
	case "output_norm.weight":
		return []int{dim}, nil
	}
	var l int
	var rest string
	if n, _ := fmt.Sscanf(name, "blk.%d.%s", &l, &rest); n == 2 && l >= 0 && l < c.NumHiddenLayers {
		switch strings.TrimSuffix(rest, ".weight") {
		case "attn_norm", "ffn_norm":
			return []int{dim}, nil
		case "attn_q":
			return []int{qd, dim}, nil
		case "attn_k", "attn_v":
			return []int{kvd, dim}, nil
		case "attn_output":
			return []int{dim, qd}, nil
		case "ffn_gate", "ffn_up":
			return []int{hid, dim}, nil
		case "ffn_down":
			return []int{dim, hid}, nil
		}
	}
	return nil, fmt.Errorf("checkpoint: unknown tensor %q", name)
}

// qkHeads reports whether a tensor is a Q or K projection, whose rows HF
// stores in rotate-half order, and over how many heads.
func qkHeads(c *llama.Config, name string) (int, bool) {
	switch {
	case strings.HasSuffix(name, ".attn_q.weight"):
		return c.NumAttentionHeads, true
	case strings.HasSuffix(name, ".attn_k.weight"):
		return c.KVHeads(), true
	}
	return 0, false
}

// shardOf names the safetensors file holding an HF tensor, for errors.
func (h *HF) shardOf(hf string) string {
	for _, f := range h.Set.Files {
		if _, ok := f.Info(hf); ok {
			return f.Path
		}
	}
	return h.Dir
}

// info checks a tensor's presence, dtype and shape against the config.
func (h *HF) info(name string) (safetensors.TensorInfo, error) {
	hf, err := HFName(name)
	if err != nil {
		return safetensors.TensorInfo{}, err
	}
	want, err := TensorShape(&h.Config, name)
	if err != nil {
		return safetensors.TensorInfo{}, err
	}
	ti, ok := h.Set.Info(hf)
	if !ok {
		if name == "output.weight" {
			return ti, fmt.Errorf("checkpoint %s: tensor %q missing and tie_word_embeddings is false", h.Dir, hf)
		}
		return ti, fmt.Errorf("checkpoint %s: tensor %q missing", h.Dir, hf)
	}
	if !slices.Equal(ti.Shape, want) {
		return ti, fmt.Errorf("checkpoint %s: tensor %q: shape %v, config.json implies %v", h.shardOf(hf), hf, ti.Shape, want)
	}
	typ, err := ti.Type()
	if err == nil && typ != tensor.F32 && typ != tensor.F16 && typ != tensor.BF16 {
		err = fmt.Errorf("dtype %s: want F32, F16 or BF16", ti.DType)
	}
	if err != nil {
		return ti, fmt.Errorf("checkpoint %s: tensor %q: %w", h.shardOf(hf), hf, err)
	}
	return ti, nil
}

// Raw returns a tensor (by GGUF name) in its stored element type, Q/K rows
// already permuted into adjacent-pair order. The data is a fresh copy for
// Q/K and aliases the mapping otherwise.
func (h *HF) Raw(name string) (tensor.Tensor, error) {
	if _, err := h.info(name); err != nil {
		return tensor.Tensor{}, err
	}
	hf, _ := HFName(name)
	t, err := h.Set.Tensor(hf)
	if err != nil {
		return t, fmt.Errorf("checkpoint %s: %w", h.Dir, err)
	}
	t.Name = name
	if heads, ok := qkHeads(&h.Config, name); ok {
		rb, _ := t.Type.RowBytes(t.Shape[1])
		out := make([]byte, len(t.Data))
		PermuteRows(out, t.Data, heads, h.Config.HeadSize(), rb)
		t.Data = out
	}
	return t, nil
}

// float32Into is Float32 decoding into dst's storage (grown if needed), with
// Q/K rows permuted as float32 so no extra copy of the raw tensor is made.
func (h *HF) float32Into(dst []float32, name string) ([]float32, error) {
	if _, err := h.info(name); err != nil {
		return dst, err
	}
	hf, _ := HFName(name)
	t, err := h.Set.Tensor(hf)
	if err != nil {
		return dst, fmt.Errorf("checkpoint %s: %w", h.Dir, err)
	}
	n := tensor.NumElements(t.Shape)
	dst = slices.Grow(dst[:0], n)[:n]
	heads, qk := qkHeads(&h.Config, name)
	out := dst
	if qk { // decode into the spare half of a doubled buffer, permute back
		dst = slices.Grow(dst[:0], 2*n)[:2*n]
		out = dst[n:]
	}
	if err := tensor.Dequantize(out, t.Data, t.Type); err != nil {
		return dst, fmt.Errorf("checkpoint %s: tensor %q: %w", h.shardOf(hf), hf, err)
	}
	if qk {
		PermuteF32(dst[:n], out, heads, h.Config.HeadSize(), t.Shape[1])
	}
	return dst[:n], nil
}

// Float32 returns a tensor (by GGUF name) as float32 in forward layout.
func (h *HF) Float32(name string) ([]float32, []int, error) {
	t, err := h.Raw(name)
	if err != nil {
		return nil, nil, err
	}
	v, err := t.Float32()
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s: %w", h.Dir, err)
	}
	return v, t.Shape, nil
}

// Weights loads every tensor into memory. Matrices keep their stored type
// (F32, F16 or BF16) unless quant is set, in which case each is quantized
// as it is read, so peak memory is the quantized model plus one tensor.
// Norms are float32.
func (h *HF) Weights(quant *tensor.DType) (*llama.Weights, error) {
	c := &h.Config
	mat := func(name string) (llama.Mat, error) {
		if quant != nil {
			v, shape, err := h.Float32(name)
			if err != nil {
				return llama.Mat{}, err
			}
			q := *quant
			if shape[1]%q.BlockElems() != 0 {
				return llama.Mat{}, fmt.Errorf("checkpoint %s: tensor %q: %d columns not a multiple of %s's block of %d", h.Dir, name, shape[1], q, q.BlockElems())
			}
			rb, _ := q.RowBytes(shape[1])
			b := make([]byte, rb*shape[0])
			if err := tensor.QuantizeParallel(b, v, q, runtime.NumCPU()); err != nil {
				return llama.Mat{}, fmt.Errorf("checkpoint %s: tensor %q: %w", h.Dir, name, err)
			}
			return llama.Mat{Type: q, Rows: shape[0], Cols: shape[1], Data: b}, nil
		}
		t, err := h.Raw(name)
		if err != nil {
			return llama.Mat{}, err
		}
		// Copy: the mapping's F32 data need not be 4-byte aligned and
		// the weights must outlive h.
		return llama.Mat{Type: t.Type, Rows: t.Shape[0], Cols: t.Shape[1], Data: slices.Clone(t.Data)}, nil
	}
	vec := func(name string) ([]float32, error) {
		v, _, err := h.Float32(name)
		return v, err
	}
	var err error
	w := &llama.Weights{Layers: make([]llama.Layer, c.NumHiddenLayers)}
	if w.TokenEmbd, err = mat("token_embd.weight"); err != nil {
		return nil, err
	}
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
			if *m.dst, err = mat(fmt.Sprintf("blk.%d.%s.weight", i, m.name)); err != nil {
				return nil, err
			}
		}
		if l.AttnNorm, err = vec(fmt.Sprintf("blk.%d.attn_norm.weight", i)); err != nil {
			return nil, err
		}
		if l.FFNNorm, err = vec(fmt.Sprintf("blk.%d.ffn_norm.weight", i)); err != nil {
			return nil, err
		}
	}
	if w.OutputNorm, err = vec("output_norm.weight"); err != nil {
		return nil, err
	}
	w.Output = w.TokenEmbd
	if !c.TieWordEmbeddings {
		if w.Output, err = mat("output.weight"); err != nil {
			return nil, err
		}
	}
	if err := w.Check(c); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", h.Dir, err)
	}
	return w, nil
}

// LoadHF reads the config and all weights of an HF directory; see
// HF.Weights for quant.
func LoadHF(dir string, quant *tensor.DType) (llama.Config, *llama.Weights, error) {
	h, err := OpenHF(dir)
	if err != nil {
		return llama.Config{}, nil, err
	}
	defer h.Close()
	w, err := h.Weights(quant)
	if err != nil {
		return h.Config, nil, err
	}
	return h.Config, w, nil
}

// loadHF loads an HF directory for Load: weights, and the tokenizer from
// tokenizer.json / tokenizer.model in the directory unless opt names one.
func loadHF(dir string, opt Options) (*Model, error) {
	var quant *tensor.DType
	if opt.Quantize != "" {
		q, err := ParseQuantType(opt.Quantize)
		if err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
		}
		quant = &q
	}
	cfg, w, err := LoadHF(dir, quant)
	if err != nil {
		return nil, err
	}
	tp := opt.Tokenizer
	if tp == "" {
		tp = dir
	}
	tok, err := tokenizer.Load(tp)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	return &Model{Path: dir, Format: FormatHF, Config: cfg, Weights: w, Tokenizer: tok, Stop: stopIDs(cfg, tok)}, nil
}

// ParseQuantType parses a weight type for quantize-on-load: one with a
// matmul kernel (q8_0, q4_0, q4_k, q6_k, f16, bf16, f32).
func ParseQuantType(s string) (tensor.DType, error) {
	t, err := tensor.ParseDType(s)
	if err != nil {
		return 0, err
	}
	switch t {
	case tensor.F32, tensor.F16, tensor.BF16, tensor.Q8_0, tensor.Q4_0, tensor.Q4_K, tensor.Q6_K:
		return t, nil
	}
	return 0, fmt.Errorf("type %s: no matmul kernel for it; use q8_0, q4_0, q4_k, q6_k, f16, bf16 or f32", t)
}

// HFChatTemplate returns tokenizer_config.json's chat_template for an HF
// directory ("" and no error when there is none): what engine-level code
// reads from tokenizer.chat_template for a GGUF. A list of named templates
// yields the one named "default".
func HFChatTemplate(dir string) (string, error) {
	cfg, path, err := readTokenizerConfig(dir)
	if err != nil || cfg == nil {
		return "", err
	}
	raw, ok := cfg["chat_template"]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var named []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(raw, &named); err != nil {
		return "", fmt.Errorf("checkpoint %s: chat_template: want a string or a list of {name, template}", path)
	}
	for _, n := range named {
		if n.Name == "default" {
			return n.Template, nil
		}
	}
	return "", nil
}
