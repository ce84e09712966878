package llama

import "math"

// ropeFreqs returns the inverse frequency of each rotated pair of a head,
// theta^(-2i/d), computed in float32 as run.c and transformers do, then
// adjusted by the config's rope_scaling.
func ropeFreqs(c *Config) []float32 {
	hs := c.HeadSize()
	theta := float32(c.Theta())
	f := make([]float32, hs/2)
	for i := range f {
		e := float32(2*i) / float32(hs)
		f[i] = 1 / float32(math.Pow(float64(theta), float64(e)))
	}
	switch c.RopeScaling.Kind() {
	case "llama3":
		llama3Scale(f, c.RopeScaling)
	case "linear":
		for i := range f {
			f[i] /= float32(c.RopeScaling.Factor)
		}
	}
	return f
}

// llama3Scale is Llama 3.1's frequency adjustment (Meta's apply_scaling,
// transformers' _compute_llama3_parameters): long wavelengths are divided by
// factor, short ones kept, the band between interpolated smoothly.
func llama3Scale(f []float32, r *RopeScaling) {
	old := float64(r.OriginalMaxPositionEmbeddings)
	lowWave := old / r.LowFreqFactor
	highWave := old / r.HighFreqFactor
	for i, fr := range f {
		freq := float64(fr)
		wave := 2 * math.Pi / freq
		switch {
		case wave < highWave:
		case wave > lowWave:
			freq /= r.Factor
		default:
			smooth := (old/wave - r.LowFreqFactor) / (r.HighFreqFactor - r.LowFreqFactor)
			freq = (1-smooth)*freq/r.Factor + smooth*freq
		}
		f[i] = float32(freq)
	}
}

// ropeTable fills cs with (cos, sin) of pos*freq for every pair.
func ropeTable(cs []float32, freqs []float32, pos int) {
	for i, f := range freqs {
		a := float64(float32(pos) * f)
		cs[2*i] = float32(math.Cos(a))
		cs[2*i+1] = float32(math.Sin(a))
	}
}
