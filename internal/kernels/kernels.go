// Package kernels holds the hot loops of inference: matrix-vector and
// matrix-matrix products over quantized and float weights, normalisation,
// rotary embeddings, softmax, SiLU and attention, plus the worker pool that
// spreads them over cores.
//
// Every kernel has a plain-Go version (the *Generic functions, always
// compiled) and, on amd64 built with GOEXPERIMENT=simd, SIMD versions chosen
// at start-up from the CPU's features. Active reports which set is in use.
package kernels

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/bayling-go/bayling/internal/tensor"
)

// Mat is a row-major weight matrix: Rows rows of Cols elements of Type, each
// row stored as Cols/Type.BlockElems() blocks, rows contiguous.
type Mat struct {
	Type       tensor.DType
	Rows, Cols int
	Data       []byte
	packed     bool // rows interleaved by Pack
}

// Supported reports whether MatVec/MatMul handle weights of type t.
func Supported(t tensor.DType) bool {
	switch t {
	case tensor.F32, tensor.F16, tensor.BF16, tensor.Q8_0, tensor.Q4_0, tensor.Q4_K, tensor.Q6_K:
		return true
	}
	return false
}

// Validate checks that m's type is supported and Data holds exactly Rows rows.
// Loaders call it once; the kernels themselves panic on a bad Mat because that
// is a programming error by then.
func (m Mat) Validate() error {
	if !Supported(m.Type) {
		return fmt.Errorf("kernels: no matmul kernel for %v weights", m.Type)
	}
	if m.Rows <= 0 || m.Cols <= 0 {
		return fmt.Errorf("kernels: bad shape %dx%d", m.Rows, m.Cols)
	}
	rb, err := m.Type.RowBytes(m.Cols)
	if err != nil {
		return fmt.Errorf("kernels: %w", err)
	}
	if len(m.Data) != rb*m.Rows {
		return fmt.Errorf("kernels: %v %dx%d needs %d bytes, have %d", m.Type, m.Rows, m.Cols, rb*m.Rows, len(m.Data))
	}
	return nil
}

func (m Mat) rowBytes() int { return m.Cols / m.Type.BlockElems() * m.Type.BlockBytes() }

func (m Mat) check(x []float32, n int) {
	if err := m.Validate(); err != nil {
		panic(err)
	}
	if len(x) < n*m.Cols {
		panic(fmt.Sprintf("kernels: input has %d floats, need %d×%d", len(x), n, m.Cols))
	}
}

// actBlock is the block size activations are quantized to for weights of
// type t: 32 (Q8_0), 256 (Q8_K), or 0 when x is used as float32.
func actBlock(t tensor.DType) int {
	switch t {
	case tensor.Q8_0, tensor.Q4_0:
		return qk8
	case tensor.Q4_K, tensor.Q6_K:
		return qkK
	}
	return 0
}

// scratch holds the quantized activations for one call. The n inputs live
// in shared slabs at a fixed stride (all of one kind), so multi-input
// assembly kernels can address input i from one base pointer.
type scratch struct {
	acts []q8Act // one per input row, views into the slabs
	slab q8Act
}

// prepare quantizes the n input rows if m's type needs it.
func (s *scratch) prepare(m Mat, x []float32, n int) {
	if actBlock(m.Type) == 0 {
		return
	}
	s.reserve(m, n)
	s.quantRange(m, x, 0, n)
}

// reserve sizes the activation buffers for n inputs of m.Cols.
func (s *scratch) reserve(m Mat, n int) {
	if cap(s.acts) < n {
		s.acts = append(s.acts[:cap(s.acts)], make([]q8Act, n-cap(s.acts))...)
	}
	s.acts = s.acts[:n]
	blk := actBlock(m.Type)
	s.slab.resize(n*m.Cols, blk)
	c, nb, ng := m.Cols, m.Cols/blk, m.Cols/16
	for j := range s.acts {
		a := &s.acts[j]
		a.qs, a.d = s.slab.qs[j*c:(j+1)*c], s.slab.d[j*nb:(j+1)*nb]
		a.sums, a.neg8, a.bsum = nil, nil, nil
		if blk == qk8 {
			a.sums = s.slab.sums[j*nb : (j+1)*nb]
			a.neg8 = s.slab.neg8[j*nb : (j+1)*nb]
		} else {
			a.bsum = s.slab.bsum[j*ng : (j+1)*ng]
		}
	}
}

// quantRange quantizes inputs [j0,j1) into the reserved buffers.
func (s *scratch) quantRange(m Mat, x []float32, j0, j1 int) {
	for j := j0; j < j1; j++ {
		xr := x[j*m.Cols : (j+1)*m.Cols]
		if actBlock(m.Type) == qk8 {
			a := &s.acts[j]
			active.q8_0(a, xr)
			for b, v := range a.sums {
				a.neg8[b] = -8 * v
			}
		} else {
			active.q8_K(&s.acts[j], xr)
		}
	}
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// MatVec computes dst[r] = row_r(m) · x on the calling goroutine.
func MatVec(dst []float32, m Mat, x []float32) {
	MatMul(dst, m, x, 1)
}

// MatMul computes dst[j*Rows+r] = row_r(m) · x[j*Cols:(j+1)*Cols] for j < n:
// x is n×Cols and dst n×Rows, both row-major.
func MatMul(dst []float32, m Mat, x []float32, n int) {
	m.check(x, n)
	if len(dst) < n*m.Rows {
		panic(fmt.Sprintf("kernels: output has %d floats, need %d×%d", len(dst), n, m.Rows))
	}
	warnFallback()
	s := scratchPool.Get().(*scratch)
	s.prepare(m, x, n)
	active.matRows(dst, m, x, n, s.acts, 0, m.Rows)
	scratchPool.Put(s)
}

// kernelSet is one implementation of every hot loop; generic and SIMD sets
// share this shape so tests can run both in one binary.
type kernelSet struct {
	name string
	// rows computes output rows [r0,r1) of MatMul for all n inputs.
	rows func(dst []float32, m Mat, x []float32, n int, acts []q8Act, r0, r1 int)
	dot  func(a, b []float32) float32
	axpy func(y []float32, a float32, x []float32)
	// F16 KV-cache variants: a·b and y += a*x with b, x in half precision.
	dotF16  func(a []float32, b []uint16) float32
	axpyF16 func(y []float32, a float32, x []uint16)
	rmsNorm func(dst, x, w []float32, eps float32)
	softmax func(x []float32)
	siluMul func(gate, up []float32)
	// quantizers of activations to Q8_0 and Q8_K
	q8_0 func(a *q8Act, x []float32)
	q8_K func(a *q8Act, x []float32)
	// packedVNNI: the set runs packed Q4_0/Q8_0/Q4_K with packedAVX512 (see
	// pack.go); Pack repacks only when the active set does.
	packedVNNI bool
	// attnGroup128, if set, computes the query heads sharing one KV head for
	// head size 128 (see attnGroup128 in attn_amd64.go).
	attnGroup128 func(out, q, scores []float32, k, v KV, h0, group, off, stride, nPos int, scale float32)
}

var generic = kernelSet{
	name:    "go (plain)",
	rows:    rowsGeneric,
	dot:     dotGeneric,
	axpy:    axpyGeneric,
	dotF16:  dotF16sGeneric,
	axpyF16: axpyF16Generic,
	rmsNorm: rmsNormGeneric,
	softmax: softmaxGeneric,
	siluMul: siluMulGeneric,
	q8_0:    quantizeQ8_0,
	q8_K:    quantizeQ8_K,
}

// active is the set in use; the SIMD build overrides it in init.
var active = generic

// Active names the kernel set in use and the weight types it accelerates.
func Active() string { return active.name }

// fallbackReason is why the plain-Go kernels are in use ("" when SIMD is).
var fallbackReason string

var (
	warnOnce sync.Once
	warnOut  io.Writer = os.Stderr
)

// warnFallback tells the user, once per process, that inference will be slow.
func warnFallback() {
	if fallbackReason == "" {
		return
	}
	warnOnce.Do(func() {
		fmt.Fprintf(warnOut, "bayling: warning: using slow plain-Go kernels (%s)\n", fallbackReason)
	})
}

// matRows is rows for either weight layout.
func (ks *kernelSet) matRows(dst []float32, m Mat, x []float32, n int, acts []q8Act, r0, r1 int) {
	if m.packed {
		rowsPacked(ks, dst, m, n, acts, r0, r1)
		return
	}
	ks.rows(dst, m, x, n, acts, r0, r1)
}

// rowTile is how many weight rows stay cached while all n inputs visit them,
// so a prefill streams the weights from memory once, not n times.
const rowTile = 16

func rowsGeneric(dst []float32, m Mat, x []float32, n int, acts []q8Act, r0, r1 int) {
	rb := m.rowBytes()
	for t0 := r0; t0 < r1; t0 += rowTile {
		t1 := min(t0+rowTile, r1)
		for j := 0; j < n; j++ {
			for r := t0; r < t1; r++ {
				dst[j*m.Rows+r] = dotRowGeneric(m.Type, m.Data[r*rb:(r+1)*rb], x[j*m.Cols:(j+1)*m.Cols], acts, j)
			}
		}
	}
}

func dotRowGeneric(t tensor.DType, row []byte, x []float32, acts []q8Act, j int) float32 {
	switch t {
	case tensor.F32:
		return dotF32Generic(row, x)
	case tensor.F16:
		return dotF16Generic(row, x)
	case tensor.BF16:
		return dotBF16Generic(row, x)
	case tensor.Q8_0:
		return dotQ8_0Generic(row, &acts[j], len(x)/qk8)
	case tensor.Q4_0:
		return dotQ4_0Generic(row, &acts[j], len(x)/qk8)
	case tensor.Q4_K:
		return dotQ4_KGeneric(row, &acts[j], len(x)/qkK)
	case tensor.Q6_K:
		return dotQ6_KGeneric(row, &acts[j], len(x)/qkK)
	}
	panic("kernels: unsupported type " + t.String())
}
