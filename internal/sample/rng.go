package sample

// RNG is llama2.c run.c's xorshift* generator, so a seed gives the same
// draws as run.c's -s flag.
type RNG struct{ state uint64 }

// NewRNG seeds the generator. run.c uses the seed as the initial state
// unchanged; a zero state would stay zero forever, so seed 0 is mapped to
// 1 (run.c never passes 0: it replaces seeds <= 0 with the time).
func NewRNG(seed uint64) *RNG {
	if seed == 0 {
		seed = 1
	}
	return &RNG{state: seed}
}

// Uint32 is run.c's random_u32.
func (r *RNG) Uint32() uint32 {
	r.state ^= r.state >> 12
	r.state ^= r.state << 25
	r.state ^= r.state >> 27
	return uint32((r.state * 0x2545F4914F6CDD1D) >> 32)
}

// Float32 is run.c's random_f32: uniform in [0, 1) with 24 random bits.
func (r *RNG) Float32() float32 {
	return float32(r.Uint32()>>8) / 16777216.0
}
