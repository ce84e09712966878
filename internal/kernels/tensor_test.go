package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bayling-go/bayling/internal/tensor"
)

// TestAgainstTensorPackage quantizes realistic weights with the ggml-exact
// quantizers of internal/tensor (not random bytes) and checks every kernel set
// against tensor.Dequantize followed by a float64 dot — the formats layer's
// reference, written independently of these kernels.
func TestAgainstTensorPackage(t *testing.T) {
	rng := rand.New(rand.NewPCG(40, 41))
	const rows, cols = 19, 1024
	w := make([]float32, rows*cols)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.05)
	}
	x := randVec(rng, 3*cols)
	for _, typ := range allTypes {
		if !tensor.CanQuantize(typ) && typ != tensor.F32 {
			t.Fatalf("tensor cannot quantize %v", typ)
		}
		rb, _ := typ.RowBytes(cols)
		data := make([]byte, rows*rb)
		if err := tensor.Quantize(data, w, typ); err != nil {
			t.Fatalf("%v: %v", typ, err)
		}
		deq := make([]float32, rows*cols)
		if err := tensor.Dequantize(deq, data, typ); err != nil {
			t.Fatalf("%v: %v", typ, err)
		}
		m := Mat{Type: typ, Rows: rows, Cols: cols, Data: data}
		for r := 0; r < rows; r++ {
			mine := refDequant(m, r)
			for i, v := range mine {
				if v != deq[r*cols+i] {
					t.Fatalf("%v row %d [%d]: test reference %g, tensor.Dequantize %g", typ, r, i, v, deq[r*cols+i])
				}
			}
		}
		for _, ks := range sets() {
			got := make([]float32, 3*rows)
			var s scratch
			s.prepare(m, x, 3)
			ks.rows(got, m, x, 3, s.acts, 0, rows)
			for j := 0; j < 3; j++ {
				xq := actDequant(typ, x[j*cols:(j+1)*cols])
				for r := 0; r < rows; r++ {
					var want, mag float64
					for i := 0; i < cols; i++ {
						p := float64(deq[r*cols+i]) * float64(xq[i])
						want += p
						mag += math.Abs(p)
					}
					if d := math.Abs(float64(got[j*rows+r]) - want); d > 2e-5*mag+1e-6 {
						t.Fatalf("%s %v in %d row %d: %g want %g", ks.name, typ, j, r, got[j*rows+r], want)
					}
				}
			}
		}
	}
}
