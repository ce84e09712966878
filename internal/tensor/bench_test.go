package tensor

import (
	"math/rand/v2"
	"testing"
)

func benchData(n int) []float32 {
	r := rand.New(rand.NewPCG(5, 6))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 0.02)
	}
	return x
}

// One 4096x4096 layer would be 64x this; bytes/s are reported per float32 input.
func BenchmarkQuantize(b *testing.B) {
	x := benchData(1 << 16)
	for _, typ := range []DType{F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, Q2_K, Q3_K} {
		b.Run(typ.String(), func(b *testing.B) {
			n, _ := typ.RowBytes(len(x))
			dst := make([]byte, n)
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				Quantize(dst, x, typ)
			}
		})
	}
}

func BenchmarkDequantize(b *testing.B) {
	x := benchData(1 << 16)
	for _, typ := range []DType{F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, Q2_K, Q3_K} {
		b.Run(typ.String(), func(b *testing.B) {
			n, _ := typ.RowBytes(len(x))
			q := make([]byte, n)
			Quantize(q, x, typ)
			y := make([]float32, len(x))
			b.SetBytes(int64(4 * len(x)))
			b.ReportAllocs()
			for b.Loop() {
				Dequantize(y, q, typ)
			}
		})
	}
}
