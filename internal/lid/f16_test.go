package lid

import (
	"math"
	"testing"
)

func TestF16(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := f16ToF32(uint16(h))
		if math.IsNaN(float64(f)) {
			continue
		}
		if got := f32ToF16(f); got != uint16(h) {
			t.Fatalf("half %#04x -> %g -> %#04x", h, f, got)
		}
	}
	cases := []struct {
		f    float32
		want uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {1e6, 0x7c00}, {5.960464477539063e-08, 0x0001},
		{1 + 1.0/2048, 0x3c00},           // halfway, rounds to even
		{1 + 3.0/2048, 0x3c02},           // halfway, rounds to even (up)
		{1 + 1.0/2048 + 1e-7, 0x3c01},    // just above halfway
		{2.9802322387695312e-08, 0x0000}, // half the smallest subnormal: ties to even (0)
	}
	for _, c := range cases {
		if got := f32ToF16(c.f); got != c.want {
			t.Errorf("f32ToF16(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
}
