package train

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/bayling-go/bayling/internal/gguf"
	"github.com/bayling-go/bayling/internal/tensor"
)

// TokenizerKVs returns the tokenizer.* metadata of a GGUF, to copy into an
// export so the exported model carries its vocabulary.
func TokenizerKVs(f *gguf.File) []gguf.KV {
	var kvs []gguf.KV
	for _, kv := range f.KV {
		if strings.HasPrefix(kv.Key, "tokenizer.") {
			kvs = append(kvs, kv)
		}
	}
	return kvs
}

// ExportGGUF writes p as an all-F32 llama GGUF with the metadata keys
// internal/checkpoint and llama.cpp read, plus tokKVs (tokenizer.*).
// The write is atomic.
func ExportGGUF(path, name string, p *Params, tokKVs []gguf.KV) error {
	c := &p.Cfg
	w := gguf.NewWriter()
	kvs := []struct {
		k string
		v any
	}{
		{"general.architecture", "llama"},
		{"general.name", name},
		{"general.file_type", uint32(0)}, // ALL_F32
		{"llama.context_length", uint32(c.MaxPositionEmbeddings)},
		{"llama.embedding_length", uint32(c.HiddenSize)},
		{"llama.block_count", uint32(c.NumHiddenLayers)},
		{"llama.feed_forward_length", uint32(c.IntermediateSize)},
		{"llama.rope.dimension_count", uint32(c.HeadSize())},
		{"llama.attention.head_count", uint32(c.NumAttentionHeads)},
		{"llama.attention.head_count_kv", uint32(c.KVHeads())},
		{"llama.attention.key_length", uint32(c.HeadSize())},
		{"llama.attention.value_length", uint32(c.HeadSize())},
		{"llama.attention.layer_norm_rms_epsilon", float32(c.RMSNormEps)},
		{"llama.rope.freq_base", float32(c.Theta())},
		{"llama.vocab_size", uint32(c.VocabSize)},
	}
	for _, kv := range kvs {
		if err := w.AddKV(kv.k, kv.v); err != nil {
			return fmt.Errorf("gguf %s: %w", path, err)
		}
	}
	for _, kv := range tokKVs {
		if err := w.AddKV(kv.Key, kv.Value); err != nil {
			return fmt.Errorf("gguf %s: %w", path, err)
		}
	}
	for _, t := range p.List {
		shape := []int{t.Rows, t.Cols}
		if t.Rows == 1 {
			shape = []int{t.Cols}
		}
		if err := w.AddTensor(t.Name, tensor.F32, shape); err != nil {
			return fmt.Errorf("gguf %s: %w", path, err)
		}
	}
	err := w.WriteFile(path, func(i int, _ gguf.TensorInfo, out io.Writer) error {
		return writeF32(out, p.List[i].W)
	})
	if err != nil {
		return fmt.Errorf("gguf %s: %w", path, err)
	}
	return nil
}

// writeF32 writes v little-endian in chunks.
func writeF32(out io.Writer, v []float32) error {
	buf := make([]byte, 0, 64<<10)
	for len(v) > 0 {
		n := min(len(v), cap(buf)/4)
		buf = buf[:4*n]
		for i, x := range v[:n] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
		}
		if _, err := out.Write(buf); err != nil {
			return err
		}
		v = v[n:]
	}
	return nil
}
