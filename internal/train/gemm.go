package train

import (
	"github.com/bayling-go/bayling/internal/kernels"
)

// The three products of a linear layer y = x·Wᵀ and its backward pass, each
// one kernels.F32Gemm call in its own transpose form (no transposed copies,
// gradients accumulated in place):
//
//	forward   y  = x·Wᵀ     A·Bᵀ
//	backward  dx = dy·W     A·B
//	          dW += dyᵀ·x   Aᵀ·B
//
// Each output element is computed by one thread in a fixed order, so
// results do not depend on the thread count.

// gemm holds the pool, its GEMM runner and LoRA's scratch.
type gemm struct {
	pool *kernels.Pool
	f    *kernels.F32Gemm
	tb   []float32
}

func newGemm(pool *kernels.Pool) gemm { return gemm{pool: pool, f: kernels.NewF32Gemm(pool)} }

func grow(b *[]float32, n int) []float32 {
	if cap(*b) < n {
		*b = make([]float32, n)
	}
	return (*b)[:n]
}

// mulT sets dst (n×rows) = x (n×cols) · Wᵀ for W rows×cols, or adds it when
// acc is true.
func (g *gemm) mulT(dst []float32, acc bool, w []float32, rows, cols int, x []float32, n int) {
	g.f.Mul(false, true, n, rows, cols, x, cols, w, cols, acc, dst, rows)
}

// backX sets dx (n×cols) = dy (n×rows) · W, or adds it when acc is true.
func (g *gemm) backX(dx []float32, acc bool, w []float32, rows, cols int, dy []float32, n int) {
	g.f.Mul(false, false, n, cols, rows, dy, rows, w, cols, acc, dx, cols)
}

// backW adds dyᵀ (rows×n) · x (n×cols) to gw (rows×cols).
func (g *gemm) backW(gw []float32, rows, cols int, dy, x []float32, n int) {
	g.f.Mul(true, false, rows, cols, n, dy, rows, x, cols, true, gw, cols)
}

func addTo(dst, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += x[i]
	}
}
