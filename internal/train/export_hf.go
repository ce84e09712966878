package train

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/bayling-go/bayling/internal/atomicfile"
	"github.com/bayling-go/bayling/internal/safetensors"
	"github.com/bayling-go/bayling/internal/tensor"
)

// HF export. internal/checkpoint has no Hugging Face writer yet, so it
// lives here; the Q/K permutation below is the inverse of llama.cpp
// convert_hf_to_gguf.py `permute`, which maps HF's rotate-half rows to the
// adjacent-pair rows our forward pass uses.

// hfName maps a GGUF tensor name to its transformers LlamaForCausalLM name.
func hfName(name string) string {
	var l int
	var mod string
	if _, err := fmt.Sscanf(name, "blk.%d.%s", &l, &mod); err == nil {
		mod = mod[:len(mod)-len(".weight")]
		switch mod {
		case "attn_norm":
			return fmt.Sprintf("model.layers.%d.input_layernorm.weight", l)
		case "ffn_norm":
			return fmt.Sprintf("model.layers.%d.post_attention_layernorm.weight", l)
		}
		return fmt.Sprintf("model.layers.%d.%s.weight", l, hfModule[mod])
	}
	switch name {
	case "token_embd.weight":
		return "model.embed_tokens.weight"
	case "output_norm.weight":
		return "model.norm.weight"
	case "output.weight":
		return "lm_head.weight"
	}
	return name
}

// unpermuteRows converts rows of a Q or K projection (heads × hs rows) from
// adjacent-pair order to HF's rotate-half order:
// hf[h*hs + j*hs/2 + i] = ours[h*hs + 2i + j].
func unpermuteRows(w []float32, heads, hs, cols int) []float32 {
	out := make([]float32, len(w))
	half := hs / 2
	for h := 0; h < heads; h++ {
		for i := 0; i < half; i++ {
			for j := 0; j < 2; j++ {
				src := (h*hs + 2*i + j) * cols
				dst := (h*hs + j*half + i) * cols
				copy(out[dst:dst+cols], w[src:src+cols])
			}
		}
	}
	return out
}

// permuteRows is the inverse of unpermuteRows (llama.cpp's permute).
func permuteRows(w []float32, heads, hs, cols int) []float32 {
	out := make([]float32, len(w))
	half := hs / 2
	for h := 0; h < heads; h++ {
		for i := 0; i < half; i++ {
			for j := 0; j < 2; j++ {
				src := (h*hs + j*half + i) * cols
				dst := (h*hs + 2*i + j) * cols
				copy(out[dst:dst+cols], w[src:src+cols])
			}
		}
	}
	return out
}

// hfValues returns a tensor's values in HF layout.
func (p *Params) hfValues(t *Tensor) []float32 {
	c := &p.Cfg
	for _, l := range p.Layers {
		switch t {
		case l.Wq:
			return unpermuteRows(t.W, c.NumAttentionHeads, c.HeadSize(), t.Cols)
		case l.Wk:
			return unpermuteRows(t.W, c.KVHeads(), c.HeadSize(), t.Cols)
		}
	}
	return t.W
}

// ExportHF writes dir/model.safetensors (F32, HF names and layout) and
// dir/config.json for transformers' LlamaForCausalLM.
func ExportHF(dir string, p *Params) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	var entries []safetensors.Entry
	for _, t := range p.List {
		shape := []int{t.Rows, t.Cols}
		if t.Rows == 1 {
			shape = []int{t.Cols}
		}
		entries = append(entries, safetensors.Entry{Name: hfName(t.Name), Type: tensor.F32, Shape: shape})
	}
	err := safetensors.WriteFile(filepath.Join(dir, safetensors.SingleName), map[string]string{"format": "pt"}, entries,
		func(i int, out io.Writer) error { return writeF32(out, p.hfValues(p.List[i])) })
	if err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, "config.json"), hfConfig(p))
}

func hfConfig(p *Params) map[string]any {
	c := &p.Cfg
	eos := any(nil)
	if len(c.EOSTokenID) == 1 {
		eos = c.EOSTokenID[0]
	} else if len(c.EOSTokenID) > 1 {
		eos = []int(c.EOSTokenID)
	}
	return map[string]any{
		"architectures":           []string{"LlamaForCausalLM"},
		"model_type":              "llama",
		"hidden_size":             c.HiddenSize,
		"intermediate_size":       c.IntermediateSize,
		"num_hidden_layers":       c.NumHiddenLayers,
		"num_attention_heads":     c.NumAttentionHeads,
		"num_key_value_heads":     c.KVHeads(),
		"head_dim":                c.HeadSize(),
		"rms_norm_eps":            c.RMSNormEps,
		"rope_theta":              c.Theta(),
		"vocab_size":              c.VocabSize,
		"max_position_embeddings": c.MaxPositionEmbeddings,
		"tie_word_embeddings":     c.TieWordEmbeddings,
		"bos_token_id":            c.BOSTokenID,
		"eos_token_id":            eos,
		"hidden_act":              "silu",
		"attention_bias":          false,
		"mlp_bias":                false,
		"torch_dtype":             "float32",
	}
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}
