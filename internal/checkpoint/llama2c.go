// Package checkpoint turns a path into a runnable model: config, weights and
// tokenizer, from a llama2.c .bin, a GGUF file or (later) a Hugging Face
// directory.
package checkpoint

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"os"
	"unsafe"

	"github.com/bayling-go/bayling/internal/model/llama"
)

// Llama2CHeader is the seven int32 header of a llama2.c (legacy, version 0)
// checkpoint as run.c reads it.
type Llama2CHeader struct {
	Dim, HiddenDim, NLayers, NHeads, NKVHeads, VocabSize, SeqLen int
	// Shared is true when the classifier reuses the token embedding; the
	// file marks an unshared classifier with a negative vocab_size.
	Shared bool
}

const llama2cHeaderSize = 7 * 4

// llama2c version-1/2 exports start with this magic ("ak42" little-endian).
const llama2cMagic = 0x616b3432

// LoadLlama2C reads a llama2.c .bin checkpoint. The file is read into memory
// once; the returned weights point into that buffer.
func LoadLlama2C(path string) (llama.Config, *llama.Weights, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return llama.Config{}, nil, fmt.Errorf("llama2c: %w", err)
	}
	return ParseLlama2C(path, alignF32(data))
}

// alignF32 returns data at a 4-byte aligned address (it always is from
// os.ReadFile; a copy is made otherwise).
func alignF32(data []byte) []byte {
	if len(data) == 0 || uintptr(unsafe.Pointer(&data[0]))%4 == 0 {
		return data
	}
	return append(make([]byte, 0, len(data)+4), data...)
}

// ParseLlama2CHeader decodes and checks the header; name is used in errors.
func ParseLlama2CHeader(name string, data []byte) (Llama2CHeader, error) {
	if len(data) < llama2cHeaderSize {
		return Llama2CHeader{}, fmt.Errorf("llama2c %s: file is %d bytes, shorter than the %d-byte header", name, len(data), llama2cHeaderSize)
	}
	var f [7]int
	for i := range f {
		f[i] = int(int32(binary.LittleEndian.Uint32(data[4*i:])))
	}
	if uint32(f[0]) == llama2cMagic {
		return Llama2CHeader{}, fmt.Errorf("llama2c %s: offset 0: version-%d export (magic \"ak42\") not supported; export with llama2.c's legacy (version 0) format", name, f[1])
	}
	h := Llama2CHeader{Dim: f[0], HiddenDim: f[1], NLayers: f[2], NHeads: f[3], NKVHeads: f[4], VocabSize: f[5], SeqLen: f[6], Shared: f[5] > 0}
	if h.VocabSize < 0 {
		h.VocabSize = -h.VocabSize
	}
	fields := []string{"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"}
	for i, v := range []int{h.Dim, h.HiddenDim, h.NLayers, h.NHeads, h.NKVHeads, h.VocabSize, h.SeqLen} {
		if v <= 0 {
			return h, fmt.Errorf("llama2c %s: offset %d: %s %d must be positive", name, 4*i, fields[i], f[i])
		}
	}
	if h.Dim%h.NHeads != 0 {
		return h, fmt.Errorf("llama2c %s: offset 12: n_heads %d does not divide dim %d", name, h.NHeads, h.Dim)
	}
	if h.NHeads%h.NKVHeads != 0 {
		return h, fmt.Errorf("llama2c %s: offset 16: n_kv_heads %d does not divide n_heads %d", name, h.NKVHeads, h.NHeads)
	}
	if (h.Dim/h.NHeads)%2 != 0 {
		return h, fmt.Errorf("llama2c %s: offset 12: head size %d (dim/n_heads) must be even for RoPE", name, h.Dim/h.NHeads)
	}
	return h, nil
}

// Config is the model config the header describes; llama2.c models use
// eps 1e-5, theta 10000, BOS 1 and EOS 2.
func (h Llama2CHeader) Config() llama.Config {
	return llama.Config{
		HiddenSize:            h.Dim,
		IntermediateSize:      h.HiddenDim,
		NumHiddenLayers:       h.NLayers,
		NumAttentionHeads:     h.NHeads,
		NumKeyValueHeads:      h.NKVHeads,
		RMSNormEps:            1e-5,
		RopeTheta:             10000,
		VocabSize:             h.VocabSize,
		MaxPositionEmbeddings: h.SeqLen,
		TieWordEmbeddings:     h.Shared,
		BOSTokenID:            1,
		EOSTokenID:            llama.TokenIDs{2},
	}
}

// ParseLlama2C decodes a whole llama2.c checkpoint held in data (4-byte
// aligned). The size must match the header exactly.
func ParseLlama2C(name string, data []byte) (llama.Config, *llama.Weights, error) {
	h, err := ParseLlama2CHeader(name, data)
	if err != nil {
		return llama.Config{}, nil, err
	}
	cfg := h.Config()
	if err := cfg.Validate(); err != nil {
		return cfg, nil, fmt.Errorf("llama2c %s: %w", name, err)
	}
	r := &f32Reader{name: name, data: data, off: llama2cHeaderSize}
	w, err := h.read(r)
	if err != nil {
		return cfg, nil, err
	}
	if r.off != len(data) {
		return cfg, nil, fmt.Errorf("llama2c %s: %d unexpected bytes after the weights at offset %d (header: dim %d, hidden_dim %d, n_layers %d, n_heads %d, n_kv_heads %d, vocab_size %d, seq_len %d)",
			name, len(data)-r.off, r.off, h.Dim, h.HiddenDim, h.NLayers, h.NHeads, h.NKVHeads, h.VocabSize, h.SeqLen)
	}
	if err := w.Check(&cfg); err != nil {
		return cfg, nil, fmt.Errorf("llama2c %s: %w", name, err)
	}
	return cfg, w, nil
}

// read walks the weights in run.c's memory_map_weights order: each kind of
// tensor for all layers before the next kind.
func (h Llama2CHeader) read(r *f32Reader) (*llama.Weights, error) {
	L, dim, hid := h.NLayers, h.Dim, h.HiddenDim
	hs := dim / h.NHeads
	kvd := h.NKVHeads * hs
	w := &llama.Weights{Layers: make([]llama.Layer, L)}
	emb, err := r.take("token_embedding_table", h.VocabSize, dim)
	if err != nil {
		return nil, err
	}
	w.TokenEmbd = llama.F32Mat(h.VocabSize, dim, emb)
	steps := []struct {
		name       string
		rows, cols int
		set        func(l *llama.Layer, v []float32, rows, cols int)
	}{
		{"rms_att_weight", 1, dim, func(l *llama.Layer, v []float32, _, _ int) { l.AttnNorm = v }},
		{"wq", dim, dim, func(l *llama.Layer, v []float32, r, c int) { l.Wq = llama.F32Mat(r, c, v) }},
		{"wk", kvd, dim, func(l *llama.Layer, v []float32, r, c int) { l.Wk = llama.F32Mat(r, c, v) }},
		{"wv", kvd, dim, func(l *llama.Layer, v []float32, r, c int) { l.Wv = llama.F32Mat(r, c, v) }},
		{"wo", dim, dim, func(l *llama.Layer, v []float32, r, c int) { l.Wo = llama.F32Mat(r, c, v) }},
		{"rms_ffn_weight", 1, dim, func(l *llama.Layer, v []float32, _, _ int) { l.FFNNorm = v }},
		{"w1", hid, dim, func(l *llama.Layer, v []float32, r, c int) { l.Gate = llama.F32Mat(r, c, v) }},
		{"w2", dim, hid, func(l *llama.Layer, v []float32, r, c int) { l.Down = llama.F32Mat(r, c, v) }},
		{"w3", hid, dim, func(l *llama.Layer, v []float32, r, c int) { l.Up = llama.F32Mat(r, c, v) }},
	}
	for _, st := range steps {
		for l := range w.Layers {
			v, err := r.take(fmt.Sprintf("%s[%d]", st.name, l), st.rows, st.cols)
			if err != nil {
				return nil, err
			}
			st.set(&w.Layers[l], v, st.rows, st.cols)
		}
	}
	if w.OutputNorm, err = r.take("rms_final_weight", 1, dim); err != nil {
		return nil, err
	}
	// Legacy exports still carry RoPE tables that run.c skips.
	for _, n := range []string{"freq_cis_real", "freq_cis_imag"} {
		if _, err := r.take(n, 1, h.SeqLen*hs/2); err != nil {
			return nil, err
		}
	}
	w.Output = w.TokenEmbd
	if !h.Shared {
		wcls, err := r.take("wcls", h.VocabSize, dim)
		if err != nil {
			return nil, err
		}
		w.Output = llama.F32Mat(h.VocabSize, dim, wcls)
	}
	return w, nil
}

// f32Reader hands out consecutive float32 arrays of a buffer.
type f32Reader struct {
	name string
	data []byte
	off  int
}

func (r *f32Reader) take(what string, rows, cols int) ([]float32, error) {
	hi, n := bits.Mul64(uint64(rows), uint64(cols))
	hi2, nb := bits.Mul64(n, 4)
	if hi != 0 || hi2 != 0 || nb > uint64(len(r.data)-r.off) {
		return nil, fmt.Errorf("llama2c %s: truncated: %s (%dx%d floats) at offset %d runs past the end of the %d-byte file", r.name, what, rows, cols, r.off, len(r.data))
	}
	if nb == 0 {
		return nil, nil
	}
	p := unsafe.Pointer(&r.data[r.off])
	r.off += int(nb)
	return unsafe.Slice((*float32)(p), int(n)), nil
}

// f32view reinterprets 4-byte aligned little-endian data as float32s.
func f32view(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}
