package lid

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The dispatched loops (AVX2 when available) must match the plain-Go twins.
func TestVecMatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 64, 100} {
		a, b := make([]float32, n), make([]float32, n)
		for i := range a {
			a[i], b[i] = r.Float32()-0.5, r.Float32()-0.5
		}
		if got, want := dot(a, b), dotGeneric(a, b); math.Abs(float64(got-want)) > 1e-5 {
			t.Errorf("n=%d: dot %g, generic %g", n, got, want)
		}
		x, y := append([]float32(nil), a...), append([]float32(nil), a...)
		axpy(x, 0.3, b)
		axpyGeneric(y, 0.3, b)
		addTo(x, b)
		addToGeneric(y, b)
		for i := range x {
			if math.Abs(float64(x[i]-y[i])) > 1e-6 {
				t.Fatalf("n=%d: axpy/addTo differ at %d: %g vs %g", n, i, x[i], y[i])
			}
		}
	}
}
