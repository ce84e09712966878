//go:build goexperiment.simd && amd64

package kernels

import (
	"encoding/binary"
	"math"
	"unsafe"

	"github.com/bayling-go/bayling/internal/tensor"
)

// Float-weight GEMM for prefill: dst[j*Rows+r] = W_r · x_j for F32, F16 and
// BF16 weights. Both operands are contiguous along K, so the 4×4 micro-kernel
// reads them in place (a tile's weight rows and the inputs are the packed
// panels); 16 zmm accumulators plus 8 loads fit AVX-512's 32 registers, and
// F16/BF16 weights are widened once per step for all four inputs.

// Implemented in gemm_amd64.s.
//
//go:noescape
func micro4x4AVX512(out *[16]float32, w, x *float32, k, stride int)

//go:noescape
func micro4x4F16AVX512(out *[16]float32, w *uint16, x *float32, k, stride int)

//go:noescape
func micro4x4BF16AVX512(out *[16]float32, w *uint16, x *float32, k, stride int)

//go:noescape
func dotBF16AVX512(x *float32, h *uint16, n int) float32

func dotBF16sAVX512(a []float32, h []uint16) float32 {
	n := len(a) &^ 31
	if n == 0 {
		return dotBF16AVX2(a, h)
	}
	s := dotBF16AVX512(unsafe.SliceData(a), unsafe.SliceData(h[:n]), n)
	if n < len(a) {
		s += dotBF16AVX2(a[n:], h[n:len(a)])
	}
	return s
}

// dotFloatRow is one weight row of a float type times x.
func dotFloatRow(t tensor.DType, row []byte, x []float32) float32 {
	switch t {
	case tensor.F32:
		return dotAVX2(bytesF32(row), x)
	case tensor.F16:
		return dotF16sAVX512(x, bytesU16(row))
	}
	return dotBF16sAVX512(x, bytesU16(row))
}

func gemmAVX512(dst []float32, m Mat, x []float32, n, r0, r1 int) {
	k, rb := m.Cols, m.rowBytes()
	const tile = 64 // weight rows kept in L2 while every input passes
	var out [16]float32
	for t0 := r0; t0 < r1; t0 += tile {
		t1 := min(t0+tile, r1)
		j := 0
		for ; j+4 <= n; j += 4 {
			r := t0
			for ; r+4 <= t1; r += 4 {
				micro4x4(&out, m.Type, m.Data[r*rb:(r+4)*rb], x[j*k:(j+4)*k], k)
				for jj := 0; jj < 4; jj++ {
					copy(dst[(j+jj)*m.Rows+r:(j+jj)*m.Rows+r+4], out[jj*4:jj*4+4])
				}
			}
			for ; r < t1; r++ {
				for jj := j; jj < j+4; jj++ {
					dst[jj*m.Rows+r] = dotFloatRow(m.Type, m.Data[r*rb:(r+1)*rb], x[jj*k:(jj+1)*k])
				}
			}
		}
		for ; j < n; j++ {
			for r := t0; r < t1; r++ {
				dst[j*m.Rows+r] = dotFloatRow(m.Type, m.Data[r*rb:(r+1)*rb], x[j*k:(j+1)*k])
			}
		}
	}
}

// micro4x4 sets out[jj*4+rr] = w_rr · x_jj for 4 weight rows (bytes of type t)
// and 4 inputs, each k long: assembly over the multiple-of-16 prefix, then the tail.
func micro4x4(out *[16]float32, t tensor.DType, w []byte, x []float32, k int) {
	k16 := k &^ 15
	*out = [16]float32{}
	if k16 > 0 {
		_ = x[4*k-1]
		switch t {
		case tensor.F32:
			micro4x4AVX512(out, &bytesF32(w)[0], &x[0], k16, k)
		case tensor.F16:
			micro4x4F16AVX512(out, &bytesU16(w)[0], &x[0], k16, k)
		default:
			micro4x4BF16AVX512(out, &bytesU16(w)[0], &x[0], k16, k)
		}
	}
	for i := k16; i < k; i++ {
		for rr := 0; rr < 4; rr++ {
			wv := floatAt(t, w, rr*k+i)
			for jj := 0; jj < 4; jj++ {
				out[jj*4+rr] += wv * x[jj*k+i]
			}
		}
	}
}

func floatAt(t tensor.DType, w []byte, i int) float32 {
	switch t {
	case tensor.F32:
		return math.Float32frombits(binary.LittleEndian.Uint32(w[4*i:]))
	case tensor.F16:
		return F16ToF32(binary.LittleEndian.Uint16(w[2*i:]))
	}
	return BF16ToF32(binary.LittleEndian.Uint16(w[2*i:]))
}
