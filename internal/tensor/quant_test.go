package tensor

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestSizeErrors(t *testing.T) {
	cases := []struct {
		typ   DType
		n     int
		bytes int
		want  string
	}{
		{Q4_0, 31, 18, "not a multiple of the block size 32"},
		{Q4_0, 32, 17, "need 18 bytes, got 17"},
		{Q6_K, 256, 211, "need 210 bytes, got 211"},
		{F32, 3, 8, "need 12 bytes"},
		{DType(99), 4, 4, "unknown dtype 99"},
	}
	for _, c := range cases {
		err := Dequantize(make([]float32, c.n), make([]byte, c.bytes), c.typ)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Dequantize %s n=%d bytes=%d: %v, want %q", c.typ, c.n, c.bytes, err, c.want)
		}
		err = Quantize(make([]byte, c.bytes), make([]float32, c.n), c.typ)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Quantize %s n=%d bytes=%d: %v, want %q", c.typ, c.n, c.bytes, err, c.want)
		}
	}
	if err := Quantize(make([]byte, 8), make([]float32, 1), I64); err == nil || !strings.Contains(err.Error(), "I64 is not supported") {
		t.Errorf("Quantize I64: %v", err)
	}
	if err := Dequantize(make([]float32, 32), make([]byte, 36), Q8_1); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("Dequantize Q8_1: %v", err)
	}
	ints := []byte{0xff, 0xfe, 0xff, 0xfd, 0xff, 0xff, 0xff}
	got := make([]float32, 4)
	Dequantize(got[:1], ints[:1], I8)
	Dequantize(got[1:2], ints[1:3], I16)
	Dequantize(got[2:3], ints[3:7], I32)
	if got[0] != -1 || got[1] != -2 || got[2] != -3 {
		t.Errorf("integer widening: %v", got)
	}
}

// Arbitrary sizes and types never panic: they convert or return an error.
func TestNoPanics(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	types := []DType{F32, F16, BF16, F64, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K, I8, I16, I32, I64, DType(5), DType(1000)}
	for i := 0; i < 2000; i++ {
		typ := types[r.IntN(len(types))]
		n, nb := r.IntN(600), r.IntN(700)
		src := make([]byte, nb)
		for j := range src {
			src[j] = byte(r.Uint32())
		}
		Dequantize(make([]float32, n), src, typ)
		x := make([]float32, n)
		for j := range x {
			x[j] = math.Float32frombits(r.Uint32()) // includes NaN and Inf
		}
		Quantize(make([]byte, nb), x, typ)
	}
}

// Round trips on N(0,1) data: RMSE within 25 % of what these formats give
// (exact parity is checked against ggml in golden_test.go).
func TestRoundTripError(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	bounds := map[DType]float64{F32: 0, F16: 0.00025, BF16: 0.002, Q8_0: 0.0065, Q6_K: 0.022, Q5_K: 0.045, Q5_1: 0.048, Q5_0: 0.053, Q4_K: 0.09, Q4_1: 0.098, Q4_0: 0.106, Q3_K: 0.19, Q2_K: 0.37}
	for typ, bound := range bounds {
		nb, _ := typ.RowBytes(len(x))
		q := make([]byte, nb)
		if err := Quantize(q, x, typ); err != nil {
			t.Fatal(err)
		}
		tt := Tensor{Name: "x", Type: typ, Shape: []int{16, 256}, Data: q}
		y, err := tt.Float32()
		if err != nil {
			t.Fatal(err)
		}
		var se float64
		for i := range x {
			d := float64(x[i] - y[i])
			se += d * d
		}
		rmse := math.Sqrt(se / float64(len(x)))
		if rmse > bound {
			t.Errorf("%s: rmse %.4g > %.4g", typ, rmse, bound)
		}
		t.Logf("%s: rmse %.4g", typ, rmse)
	}
}

func TestTensorFloat32Errors(t *testing.T) {
	if _, err := (Tensor{Name: "w", Type: Q8_0, Shape: []int{2, 32}, Data: make([]byte, 67)}).Float32(); err == nil || !strings.Contains(err.Error(), `tensor "w": Q8_0[2 32] needs 68 bytes, have 67`) {
		t.Errorf("short data: %v", err)
	}
	if _, err := (Tensor{Name: "w", Type: F32, Shape: []int{-1, 2}}).Float32(); err == nil {
		t.Error("negative shape accepted")
	}
	if n := (Tensor{Shape: []int{1 << 40, 1 << 40}}).NumElements(); n != -1 {
		t.Errorf("overflowing shape: NumElements = %d", n)
	}
	if n := (Tensor{}).NumElements(); n != 1 {
		t.Errorf("scalar NumElements = %d", n)
	}
}

func TestHalfSpecials(t *testing.T) {
	cases := []struct {
		f    float32
		h, b uint16
	}{
		{0, 0, 0}, {float32(math.Copysign(0, -1)), 0x8000, 0x8000}, {1, 0x3c00, 0x3f80}, {-2, 0xc000, 0xc000},
		{65504, 0x7bff, 0x4780}, {65520, 0x7c00, 0x4780}, {float32(math.Inf(1)), 0x7c00, 0x7f80},
		{5.960464477539063e-08, 0x0001, 0x3380}, {1e-8, 0, 0x322c},
		{float32(math.NaN()), 0x7e00, 0x7fc0},
	}
	for _, c := range cases {
		if h := F32ToF16(c.f); h != c.h {
			t.Errorf("F32ToF16(%v) = %#04x, want %#04x", c.f, h, c.h)
		}
		if b := F32ToBF16(c.f); b != c.b {
			t.Errorf("F32ToBF16(%v) = %#04x, want %#04x", c.f, b, c.b)
		}
	}
	if F16ToF32(0x3c00) != 1 || F16ToF32(0x0001) != 5.960464477539063e-08 || BF16ToF32(0x3f80) != 1 {
		t.Error("widening specials")
	}
}

// Block sizes must equal sizeof(block_*) in ggml-common.h (static_asserts there).
func TestBlockSizesMatchGGML(t *testing.T) {
	want := map[DType][2]int{
		Q4_0: {32, 18}, Q4_1: {32, 20}, Q5_0: {32, 22}, Q5_1: {32, 24}, Q8_0: {32, 34}, Q8_1: {32, 36},
		Q2_K: {256, 84}, Q3_K: {256, 110}, Q4_K: {256, 144}, Q5_K: {256, 176}, Q6_K: {256, 210}, Q8_K: {256, 292},
		F32: {1, 4}, F16: {1, 2}, BF16: {1, 2},
	}
	for d, w := range want {
		if d.BlockElems() != w[0] || d.BlockBytes() != w[1] {
			t.Errorf("%s: block %d elems / %d bytes, ggml %d / %d", d, d.BlockElems(), d.BlockBytes(), w[0], w[1])
		}
	}
}

func TestQuantizeParallelSameBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	x := make([]float32, 256*300)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	for _, typ := range []DType{Q4_K, Q8_0, F16} {
		n, _ := typ.RowBytes(len(x))
		a, b := make([]byte, n), make([]byte, n)
		if err := Quantize(a, x, typ); err != nil {
			t.Fatal(err)
		}
		for _, w := range []int{1, 2, 3, 7} {
			clear(b)
			if err := QuantizeParallel(b, x, typ, w); err != nil {
				t.Fatal(err)
			}
			if string(a) != string(b) {
				t.Errorf("%s with %d workers differs", typ, w)
			}
		}
	}
	if err := QuantizeParallel(make([]byte, 10), x, Q4_K, 2); err == nil {
		t.Error("size mismatch accepted")
	}
}
