package llama

import (
	"math"
	"testing"
)

func TestRopeFreqsDefault(t *testing.T) {
	c := &Config{HiddenSize: 64, NumAttentionHeads: 8}
	f := ropeFreqs(c)
	want := []float32{1, 0.1, 0.01, 0.001} // 10000^(-2i/8)
	for i := range want {
		if f[i] != want[i] {
			t.Errorf("freq %d = %v, want %v", i, f[i], want[i])
		}
	}
}

// Llama 3.1 (theta 500000, head 128, factor 8, low 1, high 4, original 8192):
// wavelengths under 2048 keep their frequency, those over 8192 are divided
// by 8, and the band between is interpolated so the result is continuous
// and decreasing.
func TestRopeFreqsLlama3(t *testing.T) {
	c := &Config{HiddenSize: 4096, NumAttentionHeads: 32, RopeTheta: 500000,
		RopeScaling: &RopeScaling{RopeType: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 8192}}
	base := &Config{HiddenSize: 4096, NumAttentionHeads: 32, RopeTheta: 500000}
	got, plain := ropeFreqs(c), ropeFreqs(base)
	kept, divided, mixed := 0, 0, 0
	for i := range got {
		wave := 2 * math.Pi / float64(plain[i])
		switch {
		case wave < 2048:
			kept++
			if got[i] != plain[i] {
				t.Errorf("pair %d (wavelength %.0f) changed: %v -> %v", i, wave, plain[i], got[i])
			}
		case wave > 8192:
			divided++
			if got[i] != plain[i]/8 {
				t.Errorf("pair %d (wavelength %.0f): %v, want %v/8", i, wave, got[i], plain[i])
			}
		default:
			mixed++
			if !(got[i] < plain[i] && got[i] > plain[i]/8) {
				t.Errorf("pair %d (wavelength %.0f): %v not between %v/8 and %v", i, wave, got[i], plain[i], plain[i])
			}
		}
		if i > 0 && !(got[i] < got[i-1]) {
			t.Errorf("frequencies not decreasing at %d", i)
		}
	}
	// 2π·500000^(i/64) < 2048 for i <= 28 and > 8192 for i >= 35.
	if kept != 29 || mixed != 6 || divided != 29 {
		t.Errorf("kept %d, interpolated %d, divided %d; want 29, 6, 29", kept, mixed, divided)
	}
}

func TestRopeFreqsLinear(t *testing.T) {
	c := &Config{HiddenSize: 64, NumAttentionHeads: 8, RopeScaling: &RopeScaling{Type: "linear", Factor: 4}}
	f := ropeFreqs(c)
	if f[0] != 0.25 || f[1] != 0.025 {
		t.Fatalf("linear scaling: %v", f)
	}
}
