package llama

import (
	"github.com/bayling-go/bayling/internal/kernels"
	"github.com/bayling-go/bayling/internal/tensor"
)

// kvCache is one layer's keys or values: rows of KVDim per position, in
// F32 or F16 (exactly one slice is set), the form kernels.Attention reads.
type kvCache kernels.KV

func newKVCache(t tensor.DType, n int) kvCache {
	if t == tensor.F16 {
		return kvCache{F16: make([]uint16, n)}
	}
	return kvCache{F32: make([]float32, n)}
}

func (c kvCache) typ() tensor.DType {
	if c.F16 != nil {
		return tensor.F16
	}
	return tensor.F32
}

// put stores x at element offset off.
func (c kvCache) put(off int, x []float32) {
	if c.F16 == nil {
		copy(c.F32[off:off+len(x)], x)
		return
	}
	dst := c.F16[off : off+len(x)]
	for i, v := range x {
		dst[i] = kernels.F32ToF16(v)
	}
}

// prefix is the first n elements, for attention over the filled positions.
func (c kvCache) prefix(n int) kernels.KV {
	if c.F16 != nil {
		return kernels.KV{F16: c.F16[:n]}
	}
	return kernels.KV{F32: c.F32[:n]}
}

func (c kvCache) copyFrom(src kvCache, n int) {
	if c.F16 != nil {
		copy(c.F16[:n], src.F16[:n])
		return
	}
	copy(c.F32[:n], src.F32[:n])
}
