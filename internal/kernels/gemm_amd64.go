//go:build goexperiment.simd && amd64

package kernels

// F32 GEMM for prefill: dst[j*Rows+r] = W_r · x_j. Both operands are
// contiguous along K, so the 4×4 micro-kernel reads them in place (the weight
// rows of a tile and the inputs are the packed panels); 16 zmm accumulators
// plus 8 loads fit AVX-512's 32 registers.

func gemmF32AVX512(dst []float32, m Mat, x []float32, n, r0, r1 int) {
	k := m.Cols
	w := bytesF32(m.Data)
	const tile = 64 // weight rows kept in L2 while every input passes
	for t0 := r0; t0 < r1; t0 += tile {
		t1 := min(t0+tile, r1)
		j := 0
		for ; j+4 <= n; j += 4 {
			r := t0
			for ; r+4 <= t1; r += 4 {
				var out [16]float32
				micro4x4(&out, w[r*k:(r+4)*k], x[j*k:(j+4)*k], k)
				for jj := 0; jj < 4; jj++ {
					copy(dst[(j+jj)*m.Rows+r:(j+jj)*m.Rows+r+4], out[jj*4:jj*4+4])
				}
			}
			for ; r < t1; r++ {
				for jj := j; jj < j+4; jj++ {
					dst[jj*m.Rows+r] = dotAVX2(w[r*k:(r+1)*k], x[jj*k:(jj+1)*k])
				}
			}
		}
		for ; j < n; j++ {
			for r := t0; r < t1; r++ {
				dst[j*m.Rows+r] = dotAVX2(w[r*k:(r+1)*k], x[j*k:(j+1)*k])
			}
		}
	}
}

// micro4x4 sets out[jj*4+rr] = w_rr · x_jj for 4 rows of w and 4 of x, each
// k long: the assembly tile over the multiple-of-16 prefix, then the tail.
func micro4x4(out *[16]float32, w, x []float32, k int) {
	k16 := k &^ 15
	if k16 > 0 {
		_, _ = w[4*k-1], x[4*k-1]
		micro4x4AVX512(out, &w[0], &x[0], k16, k)
	} else {
		*out = [16]float32{}
	}
	for i := k16; i < k; i++ {
		for jj := 0; jj < 4; jj++ {
			for rr := 0; rr < 4; rr++ {
				out[jj*4+rr] += w[rr*k+i] * x[jj*k+i]
			}
		}
	}
}

// Implemented in gemm_amd64.s.
//
//go:noescape
func micro4x4AVX512(out *[16]float32, w, x *float32, k, stride int)
