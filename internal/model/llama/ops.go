package llama

import (
	"math"

	"github.com/bayling-go/bayling/internal/tensor"
)

// The element-wise steps below follow run.c's float32 arithmetic operation
// for operation (sequential sums, 1/sqrt, exp through float64 rounded back),
// so that on F32 weights the logits match llama2.c to the last bits.

func supported(t tensor.DType) bool { return t == tensor.F32 }

// matmul computes dst[t*m.Rows+i] = dot(row i of m, x[t*m.Cols:]) for the n
// rows of x.
func matmul(dst []float32, m Mat, x []float32, n int) {
	w := m.f32()
	rows, cols := m.Rows, m.Cols
	for i := 0; i < rows; i++ {
		wr := w[i*cols : (i+1)*cols]
		for t := 0; t < n; t++ {
			dst[t*rows+i] = dot(wr, x[t*cols:(t+1)*cols])
		}
	}
}

func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s float32
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// embedRow copies row id of the embedding table into dst.
func embedRow(dst []float32, m Mat, id int) {
	copy(dst, m.f32()[id*m.Cols:(id+1)*m.Cols])
}

// rmsnorm writes w * x / sqrt(mean(x²) + eps) to dst; dst may alias x.
func rmsnorm(dst, x, w []float32, eps float32) {
	var ss float32
	for _, v := range x {
		ss += v * v
	}
	ss /= float32(len(x))
	ss += eps
	ss = 1 / sqrt32(ss)
	for j := range x {
		dst[j] = w[j] * (ss * x[j])
	}
}

// softmax normalises x in place.
func softmax(x []float32) {
	maxv := x[0]
	for _, v := range x[1:] {
		if v > maxv {
			maxv = v
		}
	}
	var sum float32
	for i, v := range x {
		e := exp32(v - maxv)
		x[i] = e
		sum += e
	}
	for i := range x {
		x[i] /= sum
	}
}

// swiglu sets g = silu(g) * u.
func swiglu(g, u []float32) {
	u = u[:len(g)]
	for i, v := range g {
		v *= 1 / (1 + exp32(-v))
		g[i] = v * u[i]
	}
}

func add(dst, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += x[i]
	}
}

func exp32(x float32) float32  { return float32(math.Exp(float64(x))) }
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
