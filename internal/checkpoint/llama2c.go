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
	w, err := h.read(name, data)
	if err != nil {
		return cfg, nil, err
	}
	if err := w.Check(&cfg); err != nil {
		return cfg, nil, fmt.Errorf("llama2c %s: %w", name, err)
	}
	return cfg, w, nil
}

// l2cTensor is one array of a llama2.c file: layer is -1 for global ones.
type l2cTensor struct {
	name       string
	layer      int
	rows, cols int
}

func (t l2cTensor) String() string {
	if t.layer < 0 {
		return t.name
	}
	return fmt.Sprintf("%s[%d]", t.name, t.layer)
}

// each calls fn for every array after the token embeddings, in run.c's
// memory_map_weights order: each kind of tensor for all layers before the
// next kind.
func (h Llama2CHeader) each(fn func(t l2cTensor) error) error {
	dim, hid := h.Dim, h.HiddenDim
	hs := dim / h.NHeads
	kvd := h.NKVHeads * hs
	for _, t := range []l2cTensor{
		{"rms_att_weight", 0, 1, dim}, {"wq", 0, dim, dim}, {"wk", 0, kvd, dim}, {"wv", 0, kvd, dim},
		{"wo", 0, dim, dim}, {"rms_ffn_weight", 0, 1, dim}, {"w1", 0, hid, dim}, {"w2", 0, dim, hid}, {"w3", 0, hid, dim},
	} {
		for l := 0; l < h.NLayers; l++ {
			t.layer = l
			if err := fn(t); err != nil {
				return err
			}
		}
	}
	// Legacy exports still carry RoPE tables that run.c skips.
	ts := []l2cTensor{{"rms_final_weight", -1, 1, dim},
		{"freq_cis_real", -1, 1, h.SeqLen * hs / 2}, {"freq_cis_imag", -1, 1, h.SeqLen * hs / 2}}
	if !h.Shared {
		ts = append(ts, l2cTensor{"wcls", -1, h.VocabSize, dim})
	}
	for _, t := range ts {
		if err := fn(t); err != nil {
			return err
		}
	}
	return nil
}

// read maps the weights. A first pass only checks that every array fits,
// so nothing sized by a corrupt header is allocated before the file is
// known to hold it.
func (h Llama2CHeader) read(name string, data []byte) (*llama.Weights, error) {
	r := &f32Reader{name: name, data: data, off: llama2cHeaderSize}
	emb, err := r.take("token_embedding_table", h.VocabSize, h.Dim)
	if err != nil {
		return nil, err
	}
	start := r.off
	if err := h.each(func(t l2cTensor) error { _, err := r.take(t.String(), t.rows, t.cols); return err }); err != nil {
		return nil, err
	}
	if r.off != len(data) {
		return nil, fmt.Errorf("llama2c %s: %d unexpected bytes after the weights at offset %d (header: dim %d, hidden_dim %d, n_layers %d, n_heads %d, n_kv_heads %d, vocab_size %d, seq_len %d)",
			name, len(data)-r.off, r.off, h.Dim, h.HiddenDim, h.NLayers, h.NHeads, h.NKVHeads, h.VocabSize, h.SeqLen)
	}
	w := &llama.Weights{TokenEmbd: llama.F32Mat(h.VocabSize, h.Dim, emb), Layers: make([]llama.Layer, h.NLayers)}
	w.Output = w.TokenEmbd
	r.off = start
	err = h.each(func(t l2cTensor) error {
		v, err := r.take(t.String(), t.rows, t.cols)
		if err != nil {
			return err
		}
		setL2C(w, t, v)
		return nil
	})
	return w, err
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

// setL2C puts one array of a llama2.c file in its place in w.
func setL2C(w *llama.Weights, t l2cTensor, v []float32) {
	m := llama.F32Mat(t.rows, t.cols, v)
	if t.layer < 0 {
		switch t.name {
		case "rms_final_weight":
			w.OutputNorm = v
		case "wcls":
			w.Output = m
		}
		return
	}
	l := &w.Layers[t.layer]
	switch t.name {
	case "rms_att_weight":
		l.AttnNorm = v
	case "wq":
		l.Wq = m
	case "wk":
		l.Wk = m
	case "wv":
		l.Wv = m
	case "wo":
		l.Wo = m
	case "rms_ffn_weight":
		l.FFNNorm = v
	case "w1":
		l.Gate = m
	case "w2":
		l.Down = m
	case "w3":
		l.Up = m
	}
}

// f32view reinterprets 4-byte aligned little-endian data as float32s.
func f32view(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}
