//go:build goexperiment.simd && amd64

package kernels

import (
	"unsafe"

	"github.com/bayling-go/bayling/internal/tensor"
)

// Implemented in vnni_amd64.s and kquant_amd64.s.
//
//go:noescape
func dotQ8_0VNNI(row *byte, qs *int8, d *float32, nb int) float32

//go:noescape
func dotQ4_0VNNI(row *byte, qs *int8, d *float32, sums *int32, nb int) float32

//go:noescape
func dotQ4_KVNNI(row *byte, qs *int8, d *float32, bsums *int16, nb int) float32

//go:noescape
func dotQ6_KVNNI(row *byte, qs *int8, d *float32, bsums *int16, nb int) float32

//go:noescape
func dotQ4_KVNNIx4(out *[4]float32, row *byte, qs *int8, d *float32, bsums *int16, nb, qstride, dstride, bstride int)

//go:noescape
func dotQ6_KVNNIx4(out *[4]float32, row *byte, qs *int8, d *float32, bsums *int16, nb, qstride, dstride, bstride int)

//go:noescape
func dotQ8_0VNNIx4(out *[4]float32, row *byte, qs *int8, d *float32, nb, qstride, dstride int)

//go:noescape
func dotQ4_0VNNIx4(out *[4]float32, row *byte, qs *int8, d *float32, sums *int32, nb, qstride, dstride int)

//go:noescape
func q4x16VNNI(out *float32, ostride int, w *byte, qs *int8, d *float32, neg8 *int32, nb, na, qstride, dstride int)

//go:noescape
func q8x16VNNI(out *float32, ostride int, w *byte, qs *int8, d *float32, neg8 *int32, nb, na, qstride, dstride int)

//go:noescape
func q4kx16VNNI(out *float32, ostride int, w *byte, qs *int8, d *float32, bsum *int16, nb, na, qstride, dstride, bstride int)

//go:noescape
func dotF16AVX512(x *float32, h *uint16, n int) float32

//go:noescape
func axpyF16AVX512(y *float32, a float32, h *uint16, n int)

// avx512Set needs AVX-512 F/BW/VL/DQ + VNNI and F16C (every AVX-512 CPU has
// F16C).
var avx512Set = kernelSet{
	name:    "avx512+vnni (q8_0,q4_0,q4_k,q6_k via vpdpbusd/vpdpwssd; q4_0,q8_0,q4_k repacked 16 rows; f16 via vcvtph2ps; bf16; f32/f16/bf16 gemm)",
	rows:    rowsAVX512,
	dot:     dotAVX2,
	axpy:    axpyAVX2,
	dotF16:  dotF16sAVX512,
	axpyF16: axpyF16sAVX512,
	rmsNorm: rmsNormAVX2,
	softmax: softmaxAVX2,
	siluMul: siluMulAVX2,
	q8_0:    quantizeQ8_0AVX512,
	q8_K:    quantizeQ8_KAVX512,

	attnGroup128: attnGroup128,
	packedVNNI:   true,
}

func dotF16sAVX512(a []float32, h []uint16) float32 {
	n := len(a) &^ 31
	if n == 0 {
		return dotF16sAVX2(a, h)
	}
	s := dotF16AVX512(unsafe.SliceData(a), unsafe.SliceData(h[:n]), n)
	if n < len(a) {
		s += dotF16sAVX2(a[n:], h[n:len(a)])
	}
	return s
}

func axpyF16sAVX512(y []float32, a float32, h []uint16) {
	n := len(y) &^ 15
	if n > 0 {
		axpyF16AVX512(unsafe.SliceData(y), a, unsafe.SliceData(h[:n]), n)
	}
	if n < len(y) {
		axpyF16AVX2(y[n:], a, h[n:len(y)])
	}
}

func rowsAVX512(dst []float32, m Mat, x []float32, n int, acts []q8Act, r0, r1 int) {
	switch m.Type {
	case tensor.F32, tensor.F16, tensor.BF16:
		if n >= 4 {
			gemmAVX512(dst, m, x, n, r0, r1)
			return
		}
	}
	rb := m.rowBytes()
	for t0 := r0; t0 < r1; t0 += rowTile {
		t1 := min(t0+rowTile, r1)
		j := 0
		if actBlock(m.Type) != 0 {
			for ; j+4 <= n; j += 4 {
				rowsAVX512Span4(dst, m, acts, j, t0, t1, rb)
			}
		}
		for ; j < n; j++ {
			rowsAVX512Span(dst, m, x, j, acts, t0, t1, rb)
		}
	}
}

// rowsAVX512Span4 runs the four-input kernels for inputs j..j+3, whose
// activations are consecutive rows of the scratch slabs.
func rowsAVX512Span4(dst []float32, m Mat, acts []q8Act, j, r0, r1, rb int) {
	nb := m.Cols / m.Type.BlockElems()
	a := &acts[j]
	_ = acts[j+3].d[nb-1] // the four rows are in bounds of the slabs
	// The kernels are called directly, not via a func value, so go:noescape
	// keeps out on the stack.
	var out [4]float32
	for r := r0; r < r1; r++ {
		w := &m.Data[r*rb]
		switch m.Type {
		case tensor.Q8_0:
			dotQ8_0VNNIx4(&out, w, &a.qs[0], &a.d[0], nb, m.Cols, nb*4)
		case tensor.Q4_0:
			dotQ4_0VNNIx4(&out, w, &a.qs[0], &a.d[0], &a.sums[0], nb, m.Cols, nb*4)
		case tensor.Q4_K:
			dotQ4_KVNNIx4(&out, w, &a.qs[0], &a.d[0], &a.bsum[0], nb, m.Cols, nb*4, m.Cols/16*2)
		case tensor.Q6_K:
			dotQ6_KVNNIx4(&out, w, &a.qs[0], &a.d[0], &a.bsum[0], nb, m.Cols, nb*4, m.Cols/16*2)
		}
		for i, v := range out {
			dst[(j+i)*m.Rows+r] = v
		}
	}
}

func rowsAVX512Span(dst []float32, m Mat, x []float32, j int, acts []q8Act, r0, r1, rb int) {
	data := m.Data[r0*rb : r1*rb]
	out := dst[j*m.Rows+r0 : j*m.Rows+r1]
	switch m.Type {
	case tensor.F32, tensor.F16, tensor.BF16:
		xj := x[j*m.Cols : (j+1)*m.Cols]
		for i := range out {
			out[i] = dotFloatRow(m.Type, data[i*rb:(i+1)*rb], xj)
		}
		return
	}
	a := &acts[j]
	switch m.Type {
	case tensor.Q8_0:
		nb := m.Cols / qk8
		qs, d := unsafe.SliceData(a.qs[:nb*qk8]), unsafe.SliceData(a.d[:nb])
		for i := range out {
			out[i] = dotQ8_0VNNI(&data[i*rb], qs, d, nb)
		}
	case tensor.Q4_0:
		nb := m.Cols / qk8
		qs, d, sums := unsafe.SliceData(a.qs[:nb*qk8]), unsafe.SliceData(a.d[:nb]), unsafe.SliceData(a.sums[:nb])
		for i := range out {
			out[i] = dotQ4_0VNNI(&data[i*rb], qs, d, sums, nb)
		}
	case tensor.Q4_K, tensor.Q6_K:
		nb := m.Cols / qkK
		qs, d, bs := unsafe.SliceData(a.qs[:nb*qkK]), unsafe.SliceData(a.d[:nb]), unsafe.SliceData(a.bsum[:nb*16])
		dot := dotQ4_KVNNI
		if m.Type == tensor.Q6_K {
			dot = dotQ6_KVNNI
		}
		for i := range out {
			out[i] = dot(&data[i*rb], qs, d, bs, nb)
		}
	default:
		panic("kernels: unsupported type " + m.Type.String())
	}
}

// packedAVX512 runs the packed kernel of type t on one group for
// na <= packInputs(t) inputs, which must be consecutive rows of the scratch
// slabs (fixed strides).
func packedAVX512(t tensor.DType, out []float32, ostride int, grp []byte, acts []q8Act, na, nb int) {
	a := &acts[0]
	_ = out[(na-1)*ostride+packRows-1]
	_ = grp[nb*packRows*t.BlockBytes()-1]
	_ = acts[na-1].d[nb-1]
	qstride, dstride := nb*t.BlockElems(), nb*4
	_ = acts[na-1].qs[qstride-1]
	if na > 1 {
		slabNext(a.qs, acts[1].qs, qstride)
		slabNext(a.d, acts[1].d, dstride)
	}
	switch t {
	case tensor.Q4_K:
		bstride := nb * 32 // sixteen int16 sums per super-block
		_ = acts[na-1].bsum[nb*16-1]
		if na > 1 {
			slabNext(a.bsum, acts[1].bsum, bstride)
		}
		q4kx16VNNI(&out[0], ostride*4, &grp[0], &a.qs[0], &a.d[0], &a.bsum[0], nb, na, qstride, dstride, bstride)
		return
	}
	_ = acts[na-1].neg8[nb-1]
	if na > 1 {
		slabNext(a.neg8, acts[1].neg8, dstride)
	}
	if t == tensor.Q8_0 {
		q8x16VNNI(&out[0], ostride*4, &grp[0], &a.qs[0], &a.d[0], &a.neg8[0], nb, na, qstride, dstride)
		return
	}
	q4x16VNNI(&out[0], ostride*4, &grp[0], &a.qs[0], &a.d[0], &a.neg8[0], nb, na, qstride, dstride)
}

// slabNext panics unless next starts stride bytes after cur: the packed
// kernels step from one input's activations to the next by fixed strides.
func slabNext[T any](cur, next []T, stride int) {
	if unsafe.Pointer(&next[0]) != unsafe.Add(unsafe.Pointer(&cur[0]), stride) {
		panic("kernels: packed inputs are not consecutive slab rows")
	}
}
