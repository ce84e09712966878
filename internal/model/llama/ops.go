package llama

import (
	"fmt"

	"github.com/bayling-go/bayling/internal/kernels"
	"github.com/bayling-go/bayling/internal/tensor"
)

// checkEmbedding checks the token embedding table; any type tensor can
// dequantize works, since only one row per token is read.
func checkEmbedding(m Mat, name string, rows, cols int) error {
	if m.Rows != rows || m.Cols != cols {
		return fmt.Errorf("llama: %s: shape %dx%d, want %dx%d", name, m.Rows, m.Cols, rows, cols)
	}
	rb, err := m.Type.RowBytes(cols)
	if err != nil {
		return fmt.Errorf("llama: %s: %w", name, err)
	}
	if len(m.Data) != rb*rows {
		return fmt.Errorf("llama: %s: %v %dx%d needs %d bytes, have %d", name, m.Type, rows, cols, rb*rows, len(m.Data))
	}
	if err := tensor.Dequantize(make([]float32, cols), m.Data[:rb], m.Type); err != nil {
		return fmt.Errorf("llama: %s: %w", name, err)
	}
	return nil
}

// embedRow writes row id of the embedding table to dst as float32.
func embedRow(dst []float32, m Mat, id int) {
	if m.Type == tensor.F32 {
		copy(dst, f32(m)[id*m.Cols:(id+1)*m.Cols])
		return
	}
	if m.Packed() { // a table tied to the output layer
		kernels.PackedRow(dst, m, id)
		return
	}
	rb := len(m.Data) / m.Rows
	if err := tensor.Dequantize(dst, m.Data[id*rb:(id+1)*rb], m.Type); err != nil {
		panic(err) // excluded by checkEmbedding
	}
}
