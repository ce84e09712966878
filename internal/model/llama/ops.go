package llama

import (
	"encoding/binary"
	"fmt"

	"github.com/bayling-go/bayling/internal/kernels"
	"github.com/bayling-go/bayling/internal/tensor"
)

// embedTypes are the token-embedding types embedRow can read a row of.
func embedSupported(t tensor.DType) bool {
	return t == tensor.F32 || t == tensor.F16 || t == tensor.BF16
}

func checkEmbedding(m Mat, name string, rows, cols int) error {
	if !embedSupported(m.Type) {
		return fmt.Errorf("llama: %s: %v token embeddings not supported", name, m.Type)
	}
	if m.Rows != rows || m.Cols != cols {
		return fmt.Errorf("llama: %s: shape %dx%d, want %dx%d", name, m.Rows, m.Cols, rows, cols)
	}
	rb, _ := m.Type.RowBytes(cols)
	if len(m.Data) != rb*rows {
		return fmt.Errorf("llama: %s: %v %dx%d needs %d bytes, have %d", name, m.Type, rows, cols, rb*rows, len(m.Data))
	}
	return nil
}

// embedRow writes row id of the embedding table to dst as float32.
func embedRow(dst []float32, m Mat, id int) {
	switch m.Type {
	case tensor.F32:
		copy(dst, f32(m)[id*m.Cols:(id+1)*m.Cols])
	case tensor.F16, tensor.BF16:
		row := m.Data[2*id*m.Cols : 2*(id+1)*m.Cols]
		for i := range dst {
			h := binary.LittleEndian.Uint16(row[2*i:])
			if m.Type == tensor.F16 {
				dst[i] = kernels.F16ToF32(h)
			} else {
				dst[i] = kernels.BF16ToF32(h)
			}
		}
	default:
		panic(fmt.Sprintf("llama: embedRow of %v", m.Type)) // excluded by checkEmbedding
	}
}

func add(dst, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += x[i]
	}
}
