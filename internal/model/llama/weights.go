package llama

import (
	"fmt"
	"unsafe"

	"github.com/bayling-go/bayling/internal/kernels"
	"github.com/bayling-go/bayling/internal/mmap"
	"github.com/bayling-go/bayling/internal/tensor"
)

// Mat is a row-major weight matrix kept in its file's element type so
// quantized weights are used in place: Rows rows of Cols elements, rows
// contiguous. Rows is the output dimension.
type Mat = kernels.Mat

// F32Mat wraps float32 values as a Mat without copying.
func F32Mat(rows, cols int, v []float32) Mat {
	var b []byte
	if len(v) > 0 {
		b = unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
	}
	return Mat{Type: tensor.F32, Rows: rows, Cols: cols, Data: b}
}

// f32 views the data of an F32 matrix as float32s.
func f32(m Mat) []float32 {
	if len(m.Data) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&m.Data[0])), len(m.Data)/4)
}

func checkMat(m Mat, name string, rows, cols int) error {
	if m.Rows != rows || m.Cols != cols {
		return fmt.Errorf("llama: %s: shape %dx%d, want %dx%d", name, m.Rows, m.Cols, rows, cols)
	}
	if err := m.Validate(); err != nil {
		return fmt.Errorf("llama: %s: %w", name, err)
	}
	if m.Type == tensor.F32 && uintptr(unsafe.Pointer(&m.Data[0]))%4 != 0 {
		return fmt.Errorf("llama: %s: F32 data not 4-byte aligned", name)
	}
	return nil
}

// Layer holds one transformer block. Gate, Down and Up are llama2.c's w1,
// w2 and w3.
type Layer struct {
	AttnNorm       []float32
	Wq, Wk, Wv, Wo Mat
	FFNNorm        []float32
	Gate, Down, Up Mat
}

// Weights is the whole model. With tied embeddings Output is TokenEmbd.
type Weights struct {
	TokenEmbd  Mat
	Layers     []Layer
	OutputNorm []float32
	Output     Mat
	// RopeFactors, if set, divide the RoPE frequencies pair by pair: the
	// way llama.cpp GGUFs carry Llama 3.1 scaling (rope_freqs.weight).
	RopeFactors []float32
}

// Check verifies every tensor's shape and type against c; errors use the
// GGUF tensor names.
func (w *Weights) Check(c *Config) error {
	dim, qd, kvd, hid := c.HiddenSize, c.QDim(), c.KVDim(), c.IntermediateSize
	if err := checkEmbedding(w.TokenEmbd, "token_embd", c.VocabSize, dim); err != nil {
		return err
	}
	if len(w.Layers) != c.NumHiddenLayers {
		return fmt.Errorf("llama: %d layers, config says %d", len(w.Layers), c.NumHiddenLayers)
	}
	for i := range w.Layers {
		if err := w.Layers[i].check(i, dim, qd, kvd, hid); err != nil {
			return err
		}
	}
	if len(w.OutputNorm) != dim {
		return fmt.Errorf("llama: output_norm: %d values, want %d", len(w.OutputNorm), dim)
	}
	if w.RopeFactors != nil && len(w.RopeFactors) != c.HeadSize()/2 {
		return fmt.Errorf("llama: rope_freqs: %d values, want %d (head size / 2)", len(w.RopeFactors), c.HeadSize()/2)
	}
	return checkMat(w.Output, "output", c.VocabSize, dim)
}

// pack repacks the matrices for the many-row kernels. A token embedding
// is packed only when it is also the output layer: lookups read one row of
// it (kernels.PackedRow), products all of it.
func (w *Weights) pack() error {
	mats := make([]*Mat, 0, 7*len(w.Layers)+1)
	for i := range w.Layers {
		l := &w.Layers[i]
		mats = append(mats, &l.Wq, &l.Wk, &l.Wv, &l.Wo, &l.Gate, &l.Down, &l.Up)
	}
	for _, m := range mats {
		if kernels.CanPack(*m) {
			// One batched copy-on-write call instead of a fault per page.
			mmap.PrefaultWrite(m.Data) // a hint; Pack works without it
		}
		if err := kernels.Pack(m); err != nil {
			return fmt.Errorf("llama: %w", err)
		}
	}
	tied := sameData(w.Output, w.TokenEmbd)
	if kernels.CanPack(w.Output) {
		mmap.PrefaultWrite(w.Output.Data) // a hint
	}
	if err := kernels.Pack(&w.Output); err != nil {
		return fmt.Errorf("llama: output: %w", err)
	}
	if tied {
		w.TokenEmbd = w.Output
	}
	return nil
}

func sameData(a, b Mat) bool {
	return len(a.Data) > 0 && len(b.Data) > 0 && &a.Data[0] == &b.Data[0]
}

func (l *Layer) check(i, dim, qd, kvd, hid int) error {
	mats := []struct {
		name       string
		m          Mat
		rows, cols int
	}{
		{"attn_q", l.Wq, qd, dim},
		{"attn_k", l.Wk, kvd, dim},
		{"attn_v", l.Wv, kvd, dim},
		{"attn_output", l.Wo, dim, qd},
		{"ffn_gate", l.Gate, hid, dim},
		{"ffn_down", l.Down, dim, hid},
		{"ffn_up", l.Up, hid, dim},
	}
	for _, x := range mats {
		if err := checkMat(x.m, fmt.Sprintf("blk.%d.%s", i, x.name), x.rows, x.cols); err != nil {
			return err
		}
	}
	if len(l.AttnNorm) != dim {
		return fmt.Errorf("llama: blk.%d.attn_norm: %d values, want %d", i, len(l.AttnNorm), dim)
	}
	if len(l.FFNNorm) != dim {
		return fmt.Errorf("llama: blk.%d.ffn_norm: %d values, want %d", i, len(l.FFNNorm), dim)
	}
	return nil
}
