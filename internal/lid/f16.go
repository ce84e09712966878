package lid

import "math"

// The embedding table is stored as IEEE half floats: it halves the model
// file, and n-gram embeddings need nowhere near float32's precision. Train
// rounds the table to half precision in memory too, so a saved and reloaded
// model predicts exactly as the one that was trained.

// f32ToF16 rounds to the nearest half float, ties to even; out-of-range
// values become ±Inf (Load rejects them).
func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	e := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if e == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	exp := e - 127 + 15
	if exp >= 0x1f {
		return sign | 0x7c00
	}
	if exp <= 0 { // half subnormal (or zero)
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint(14 - exp)
		r := mant >> shift
		rem, half := mant&(1<<shift-1), uint32(1)<<(shift-1)
		if rem > half || rem == half && r&1 == 1 {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(exp)<<10 | mant>>13
	if rem := mant & 0x1fff; rem > 0x1000 || rem == 0x1000 && r&1 == 1 {
		r++ // a carry into the exponent is the correct rounding
	}
	return sign | uint16(r)
}

func f16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	e := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case e == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case e == 0 && mant == 0:
		return math.Float32frombits(sign)
	case e == 0: // subnormal: normalise
		e = 1
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		mant &= 0x3ff
	}
	return math.Float32frombits(sign | (e+127-15)<<23 | mant<<13)
}

// roundF16 rounds every value of v to half precision in place.
func roundF16(v []float32) {
	for i, x := range v {
		v[i] = f16ToF32(f32ToF16(x))
	}
}
