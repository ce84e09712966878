package train

import (
	"math"
	"testing"

	"github.com/bayling-go/bayling/internal/kernels"
)

// TestGemmForms checks the three products of a linear layer against plain
// loops in float64.
func TestGemmForms(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	g := newGemm(pool)
	r := NewRNG(5)
	rnd := func(k int) []float32 {
		s := make([]float32, k)
		for i := range s {
			s[i] = float32(r.Float64()*2 - 1)
		}
		return s
	}
	for _, sh := range [][3]int{{1, 1, 1}, {13, 7, 5}, {40, 33, 100}, {300, 17, 29}} {
		n, rows, cols := sh[0], sh[1], sh[2]
		w, x, dy := rnd(rows*cols), rnd(n*cols), rnd(n*rows)
		check := func(what string, got []float32, want func(i int) float64) {
			t.Helper()
			for i, v := range got {
				if e := want(i); math.Abs(float64(v)-e) > 1e-4 {
					t.Fatalf("%v %s[%d] = %v, want %v", sh, what, i, v, e)
				}
			}
		}
		y := rnd(n * rows)
		y0 := append([]float32(nil), y...)
		g.mulT(y, true, w, rows, cols, x, n)
		check("y", y, func(i int) float64 {
			s := float64(y0[i])
			for c := 0; c < cols; c++ {
				s += float64(x[i/rows*cols+c]) * float64(w[i%rows*cols+c])
			}
			return s
		})
		dx := rnd(n * cols)
		g.backX(dx, false, w, rows, cols, dy, n)
		check("dx", dx, func(i int) float64 {
			var s float64
			for o := 0; o < rows; o++ {
				s += float64(dy[i/cols*rows+o]) * float64(w[o*cols+i%cols])
			}
			return s
		})
		gw := rnd(rows * cols)
		gw0 := append([]float32(nil), gw...)
		g.backW(gw, rows, cols, dy, x, n)
		check("gw", gw, func(i int) float64 {
			s := float64(gw0[i])
			for j := 0; j < n; j++ {
				s += float64(dy[j*rows+i/cols]) * float64(x[j*cols+i%cols])
			}
			return s
		})
	}
}
