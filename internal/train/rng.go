package train

// RNG is SplitMix64: tiny, seedable and easy to reimplement in the PyTorch
// reference, and its whole state is one word, so checkpoints save it.
type RNG struct{ State uint64 }

// NewRNG seeds a generator.
func NewRNG(seed uint64) *RNG { return &RNG{State: seed} }

// Uint64 returns the next 64 random bits.
func (r *RNG) Uint64() uint64 {
	r.State += 0x9e3779b97f4a7c15
	z := r.State
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Uniform returns a float32 in [-1, 1) from the top 24 bits, exactly
// representable so both implementations agree bit for bit.
func (r *RNG) Uniform() float32 {
	return float32(int64(r.Uint64()>>40)-(1<<23)) / (1 << 23)
}

// Float64 returns a value in [0, 1).
func (r *RNG) Float64() float64 { return float64(r.Uint64()>>11) / (1 << 53) }

// Intn returns a value in [0, n).
func (r *RNG) Intn(n int) int { return int(r.Uint64() % uint64(n)) }
