package train

import (
	"github.com/bayling-go/bayling/internal/kernels"
	"github.com/bayling-go/bayling/internal/model/llama"
)

// The three products of a linear layer y = x·Wᵀ and its backward pass, all
// reduced to kernels' A·Bᵀ GEMM (both operands contiguous along K):
//
//	forward   y  = x·Wᵀ                 MatMul(W, x)
//	backward  dx = dy·W  = dy·(Wᵀ)ᵀ     MatMul(Wᵀ, dy)
//	          dW = dyᵀ·x                MatMul(xᵀ, dyᵀ), written as W's rows
//
// Transposes are memory-bound and cost O(size) against the GEMM's
// O(size·K); see docs/training.md. Each output element is computed by one
// thread in a fixed order, so results do not depend on scheduling.

// gemm holds the pool and the scratch of transposes and partial products.
type gemm struct {
	pool        *kernels.Pool
	ta, tb, tmp []float32
}

func grow(b *[]float32, n int) []float32 {
	if cap(*b) < n {
		*b = make([]float32, n)
	}
	return (*b)[:n]
}

// mulT sets dst (n×rows) = x (n×cols) · Wᵀ for W rows×cols.
func (g *gemm) mulT(dst, w []float32, rows, cols int, x []float32, n int) {
	g.pool.MatMul(dst[:n*rows], llama.F32Mat(rows, cols, w[:rows*cols]), x[:n*cols], n)
}

// backX sets dx (n×cols) = dy (n×rows) · W, or adds it when acc is true.
func (g *gemm) backX(dx []float32, acc bool, w []float32, rows, cols int, dy []float32, n int) {
	wt := grow(&g.ta, rows*cols)
	g.transpose(wt, w, rows, cols)
	if !acc {
		g.mulT(dx, wt, cols, rows, dy, n)
		return
	}
	tmp := grow(&g.tmp, n*cols)
	g.mulT(tmp, wt, cols, rows, dy, n)
	g.add(dx[:n*cols], tmp)
}

// backW adds dyᵀ (rows×n) · x (n×cols) to gw (rows×cols).
func (g *gemm) backW(gw []float32, rows, cols int, dy, x []float32, n int) {
	xt := grow(&g.ta, cols*n)
	g.transpose(xt, x, n, cols)
	dyt := grow(&g.tb, rows*n)
	g.transpose(dyt, dy, n, rows)
	tmp := grow(&g.tmp, rows*cols)
	g.mulT(tmp, xt, cols, n, dyt, rows)
	g.add(gw[:rows*cols], tmp)
}

// transpose writes src (rows×cols) transposed into dst (cols×rows), spread
// over the pool by column bands. Eight source rows are read together so each
// destination write is 8 contiguous floats.
func (g *gemm) transpose(dst, src []float32, rows, cols int) {
	const bs = 64
	bands := (cols + bs - 1) / bs
	g.pool.Parallel(bands, func(lo, hi int) {
		c0, c1 := lo*bs, min(hi*bs, cols)
		r := 0
		for ; r+8 <= rows; r += 8 {
			transpose8(dst, src, r, rows, cols, c0, c1)
		}
		for ; r < rows; r++ {
			s := src[r*cols : r*cols+cols]
			for c := c0; c < c1; c++ {
				dst[c*rows+r] = s[c]
			}
		}
	})
}

// transpose8 moves rows r..r+7, columns [c0,c1) of src into dst.
func transpose8(dst, src []float32, r, rows, cols, c0, c1 int) {
	s0 := src[(r+0)*cols : (r+1)*cols][c0:c1]
	s1 := src[(r+1)*cols : (r+2)*cols][c0:c1]
	s2 := src[(r+2)*cols : (r+3)*cols][c0:c1]
	s3 := src[(r+3)*cols : (r+4)*cols][c0:c1]
	s4 := src[(r+4)*cols : (r+5)*cols][c0:c1]
	s5 := src[(r+5)*cols : (r+6)*cols][c0:c1]
	s6 := src[(r+6)*cols : (r+7)*cols][c0:c1]
	s7 := src[(r+7)*cols : (r+8)*cols][c0:c1]
	for i := range s0 {
		d := dst[(c0+i)*rows+r:][:8]
		d[0], d[1], d[2], d[3] = s0[i], s1[i], s2[i], s3[i]
		d[4], d[5], d[6], d[7] = s4[i], s5[i], s6[i], s7[i]
	}
}

// add sets dst += x elementwise, split over the pool.
func (g *gemm) add(dst, x []float32) {
	const chunk = 4096
	g.pool.Parallel((len(dst)+chunk-1)/chunk, func(lo, hi int) {
		d := dst[lo*chunk : min(hi*chunk, len(dst))]
		addTo(d, x[lo*chunk:lo*chunk+len(d)])
	})
}

func addTo(dst, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += x[i]
	}
}
