package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/bayling-go/bayling/internal/atomicfile"
	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/safetensors"
	"github.com/bayling-go/bayling/internal/tensor"
)

// HFWriteOptions adjusts SaveHF.
type HFWriteOptions struct {
	// DType of the stored weights: tensor.F32 (the zero value), F16 or BF16.
	DType tensor.DType
	// ShardBytes, if positive, splits the weights into shards of about this
	// size with a model.safetensors.index.json, as transformers does.
	ShardBytes int64
}

// SaveHF writes a Hugging Face Llama checkpoint to dir (created if
// missing): config.json, generation_config.json and model.safetensors (or
// shards plus index). tensors is called once per tensor, in TensorNames
// order, with its GGUF name; it returns the values in the forward pass's
// layout: row-major, shape TensorShape(cfg, name), Q/K rows in adjacent-pair
// order. SaveHF converts them to HF order and names, one tensor at a time,
// so memory stays at about one tensor. Every file is written atomically,
// config.json last: a save that fails part-way leaves no loadable checkpoint.
func SaveHF(dir string, cfg llama.Config, opt HFWriteOptions, tensors func(name string) ([]float32, error)) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if _, err := safetensors.DTypeName(opt.DType); err != nil || (opt.DType != tensor.F32 && opt.DType != tensor.F16 && opt.DType != tensor.BF16) {
		return fmt.Errorf("checkpoint %s: HF weights must be F32, F16 or BF16, not %s", dir, opt.DType)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	names := TensorNames(&cfg)
	entries := make([]safetensors.Entry, len(names))
	sizes := make([]int64, len(names))
	for i, n := range names {
		shape, _ := TensorShape(&cfg, n)
		hf, _ := HFName(n)
		entries[i] = safetensors.Entry{Name: hf, Type: opt.DType, Shape: shape}
		sizes[i] = int64(tensor.NumElements(shape)) * int64(elemBytes(opt.DType))
	}
	shards := splitShards(sizes, opt.ShardBytes)
	write := func(i int, out io.Writer) error {
		v, err := tensors(names[i])
		if err != nil {
			return err
		}
		shape := entries[i].Shape
		if len(v) != tensor.NumElements(shape) {
			return fmt.Errorf("%s: %d values, want %v", names[i], len(v), shape)
		}
		if heads, ok := qkHeads(&cfg, names[i]); ok {
			hfv := make([]float32, len(v))
			UnpermuteF32(hfv, v, heads, cfg.HeadSize(), shape[1])
			v = hfv
		}
		return writeValues(out, v, opt.DType)
	}
	meta := map[string]string{"format": "pt"}
	if len(shards) == 1 {
		if err := safetensors.WriteFile(filepath.Join(dir, safetensors.SingleName), meta, entries, write); err != nil {
			return err
		}
	} else {
		weightMap := map[string]string{}
		var total int64
		for s, sh := range shards {
			file := fmt.Sprintf("model-%05d-of-%05d.safetensors", s+1, len(shards))
			for i := sh[0]; i < sh[1]; i++ {
				weightMap[entries[i].Name] = file
				total += sizes[i]
			}
			err := safetensors.WriteFile(filepath.Join(dir, file), meta, entries[sh[0]:sh[1]], func(i int, out io.Writer) error {
				return write(sh[0]+i, out)
			})
			if err != nil {
				return err
			}
		}
		idx := map[string]any{"metadata": map[string]any{"total_size": total}, "weight_map": weightMap}
		if err := writeJSON(filepath.Join(dir, safetensors.IndexName), idx); err != nil {
			return err
		}
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), hfConfigJSON(cfg, opt.DType)); err != nil {
		return err
	}
	gen := map[string]any{"bos_token_id": cfg.BOSTokenID, "eos_token_id": eosJSON(cfg.EOSTokenID), "_from_model_config": true}
	return writeJSON(filepath.Join(dir, "generation_config.json"), gen)
}

func elemBytes(t tensor.DType) int {
	if t == tensor.F32 {
		return 4
	}
	return 2
}

// splitShards groups consecutive tensors into shards of at most max bytes
// (a larger tensor gets a shard of its own); max <= 0 means one shard.
func splitShards(sizes []int64, max int64) [][2]int {
	if max <= 0 {
		return [][2]int{{0, len(sizes)}}
	}
	var out [][2]int
	start, cur := 0, int64(0)
	for i, s := range sizes {
		if i > start && cur+s > max {
			out = append(out, [2]int{start, i})
			start, cur = i, 0
		}
		cur += s
	}
	return append(out, [2]int{start, len(sizes)})
}

// writeValues writes v little-endian in type t, in chunks.
func writeValues(out io.Writer, v []float32, t tensor.DType) error {
	if t == tensor.F32 {
		if len(v) == 0 {
			return nil
		}
		_, err := out.Write(unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v)))
		return err
	}
	buf := make([]byte, 2*min(len(v), 1<<16))
	for len(v) > 0 {
		n := min(len(v), len(buf)/2)
		for i, x := range v[:n] {
			var h uint16
			if t == tensor.F16 {
				h = tensor.F32ToF16(x)
			} else {
				h = tensor.F32ToBF16(x)
			}
			binary.LittleEndian.PutUint16(buf[2*i:], h)
		}
		if _, err := out.Write(buf[:2*n]); err != nil {
			return err
		}
		v = v[n:]
	}
	return nil
}

// hfConfigJSON is config.json as transformers writes it for LlamaForCausalLM.
func hfConfigJSON(c llama.Config, t tensor.DType) map[string]any {
	dtype := map[tensor.DType]string{tensor.F32: "float32", tensor.F16: "float16", tensor.BF16: "bfloat16"}[t]
	m := map[string]any{
		"architectures":           []string{"LlamaForCausalLM"},
		"model_type":              "llama",
		"hidden_act":              "silu",
		"attention_bias":          false,
		"attention_dropout":       0.0,
		"mlp_bias":                false,
		"pretraining_tp":          1,
		"initializer_range":       0.02,
		"use_cache":               true,
		"torch_dtype":             dtype,
		"hidden_size":             c.HiddenSize,
		"intermediate_size":       c.IntermediateSize,
		"num_hidden_layers":       c.NumHiddenLayers,
		"num_attention_heads":     c.NumAttentionHeads,
		"num_key_value_heads":     c.KVHeads(),
		"head_dim":                c.HeadSize(),
		"rms_norm_eps":            c.RMSNormEps,
		"rope_theta":              c.Theta(),
		"rope_scaling":            c.RopeScaling,
		"vocab_size":              c.VocabSize,
		"max_position_embeddings": c.MaxPositionEmbeddings,
		"tie_word_embeddings":     c.TieWordEmbeddings,
		"bos_token_id":            c.BOSTokenID,
		"eos_token_id":            eosJSON(c.EOSTokenID),
	}
	return m
}

func eosJSON(ids llama.TokenIDs) any {
	switch len(ids) {
	case 0:
		return nil
	case 1:
		return ids[0]
	}
	return []int(ids)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	b = append(b, '\n')
	if err := atomicfile.Write(path, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return nil
}
