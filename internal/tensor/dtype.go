// Package tensor defines element types, their block layouts, and conversion
// between quantized blocks and float32. It knows nothing about files or models.
package tensor

import "fmt"

// DType is an element type. Values equal GGML's ggml_type ids so GGUF files
// map onto it without a table.
type DType uint32

const (
	F32  DType = 0
	F16  DType = 1
	Q4_0 DType = 2
	Q4_1 DType = 3
	Q5_0 DType = 6
	Q5_1 DType = 7
	Q8_0 DType = 8
	Q8_1 DType = 9
	Q2_K DType = 10
	Q3_K DType = 11
	Q4_K DType = 12
	Q5_K DType = 13
	Q6_K DType = 14
	Q8_K DType = 15
	I8   DType = 24
	I16  DType = 25
	I32  DType = 26
	I64  DType = 27
	F64  DType = 28
	BF16 DType = 30
)

// QK_K is the super-block size of the K-quants.
const QK_K = 256

type layout struct {
	name       string
	blockElems int // elements per block
	blockBytes int // bytes per block
}

// layouts is indexed by DType (an array: kernels ask for block sizes on
// every matrix product, and a map lookup showed in decode profiles).
var layouts = [...]layout{
	F32:  {"F32", 1, 4},
	F16:  {"F16", 1, 2},
	BF16: {"BF16", 1, 2},
	F64:  {"F64", 1, 8},
	I8:   {"I8", 1, 1},
	I16:  {"I16", 1, 2},
	I32:  {"I32", 1, 4},
	I64:  {"I64", 1, 8},
	Q4_0: {"Q4_0", 32, 2 + 16},
	Q4_1: {"Q4_1", 32, 2 + 2 + 16},
	Q5_0: {"Q5_0", 32, 2 + 4 + 16},
	Q5_1: {"Q5_1", 32, 2 + 2 + 4 + 16},
	Q8_0: {"Q8_0", 32, 2 + 32},
	Q8_1: {"Q8_1", 32, 2 + 2 + 32}, // half d, half s (= d*sum), int8 qs[32]
	Q2_K: {"Q2_K", QK_K, QK_K/16 + QK_K/4 + 2 + 2},
	Q3_K: {"Q3_K", QK_K, QK_K/8 + QK_K/4 + 12 + 2},
	Q4_K: {"Q4_K", QK_K, 2 + 2 + 12 + QK_K/2},
	Q5_K: {"Q5_K", QK_K, 2 + 2 + 12 + QK_K/8 + QK_K/2},
	Q6_K: {"Q6_K", QK_K, QK_K/2 + QK_K/4 + QK_K/16 + 2},
	Q8_K: {"Q8_K", QK_K, 4 + QK_K + QK_K/16*2},
}

func lookup(d DType) (layout, bool) {
	if int(d) >= len(layouts) || layouts[d].name == "" {
		return layout{}, false
	}
	return layouts[d], true
}

// Known reports whether d is a type this package can describe.
func (d DType) Known() bool { _, ok := lookup(d); return ok }

func (d DType) String() string {
	if l, ok := lookup(d); ok {
		return l.name
	}
	return fmt.Sprintf("DType(%d)", uint32(d))
}

// BlockElems is the number of elements in one block (1 for plain types).
func (d DType) BlockElems() int { l, _ := lookup(d); return l.blockElems }

// BlockBytes is the size in bytes of one block.
func (d DType) BlockBytes() int { l, _ := lookup(d); return l.blockBytes }

// Quantized reports whether d is a block-quantized type.
func (d DType) Quantized() bool { l, _ := lookup(d); return l.blockElems > 1 }

// RowBytes is the byte size of n consecutive elements of type d. n must be a
// multiple of the block size.
func (d DType) RowBytes(n int) (int, error) {
	l, ok := lookup(d)
	if !ok {
		return 0, fmt.Errorf("unknown dtype %d", uint32(d))
	}
	if n < 0 || n%l.blockElems != 0 {
		return 0, fmt.Errorf("%s: %d elements is not a multiple of the block size %d", l.name, n, l.blockElems)
	}
	return n / l.blockElems * l.blockBytes, nil
}

// ParseDType maps a name such as "q4_k" or "BF16" to its DType.
func ParseDType(s string) (DType, error) {
	for d, l := range layouts {
		if l.name != "" && equalFold(l.name, s) {
			return DType(d), nil
		}
	}
	return 0, fmt.Errorf("unknown dtype %q", s)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
