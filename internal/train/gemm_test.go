package train

import (
	"testing"

	"github.com/bayling-go/bayling/internal/kernels"
)

func TestTranspose(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	g := gemm{pool: pool}
	for _, sh := range [][2]int{{1, 1}, {3, 5}, {8, 8}, {17, 130}, {130, 17}, {64, 64}, {9, 200}} {
		rows, cols := sh[0], sh[1]
		src := make([]float32, rows*cols)
		for i := range src {
			src[i] = float32(i)
		}
		dst := make([]float32, rows*cols)
		g.transpose(dst, src, rows, cols)
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				if dst[c*rows+r] != src[r*cols+c] {
					t.Fatalf("%dx%d: dst[%d][%d] = %v, want %v", rows, cols, c, r, dst[c*rows+r], src[r*cols+c])
				}
			}
		}
	}
}
