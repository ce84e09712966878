package tensor

import (
	"fmt"
	"math"
)

// Tensor is a named block of raw, possibly quantized, elements. Shape is
// row-major with the outermost dimension first (PyTorch/safetensors order), so
// a weight mapping in -> out has Shape {out, in}. Data may alias a memory-mapped
// file; it must not be written to.
type Tensor struct {
	Name  string
	Type  DType
	Shape []int
	Data  []byte
}

// NumElements is the product of Shape (1 for a scalar). It returns -1 if a
// dimension is negative or the product overflows int.
func (t Tensor) NumElements() int { return NumElements(t.Shape) }

// NumElements is the product of shape, or -1 on a negative dimension or overflow.
func NumElements(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return -1
		}
		if d != 0 && n > math.MaxInt/d {
			return -1
		}
		n *= d
	}
	return n
}

// Float32 returns the elements converted to float32 in a new slice.
func (t Tensor) Float32() ([]float32, error) {
	n := t.NumElements()
	if n < 0 {
		return nil, fmt.Errorf("tensor %q: invalid shape %v", t.Name, t.Shape)
	}
	want, err := t.Type.RowBytes(n)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	if len(t.Data) != want {
		return nil, fmt.Errorf("tensor %q: %s%v needs %d bytes, have %d", t.Name, t.Type, t.Shape, want, len(t.Data))
	}
	out := make([]float32, n)
	if err := Dequantize(out, t.Data, t.Type); err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	return out, nil
}
