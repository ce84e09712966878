package kernels

import (
	"encoding/binary"
	"math"
)

// Activations are quantized on the fly the way llama.cpp does it: to Q8_0
// (32 int8 + an f16 scale) for Q8_0/Q4_0 weights and to Q8_K (256 int8, an f32
// scale and sums of 16) for the K-quants. They are kept unpacked (separate
// arrays) because nothing outside this package ever sees them.

const (
	qk8   = 32  // Q8_0/Q4_0 block size
	qkK   = 256 // K-quant super-block size
	q80Sz = 34  // bytes per Q8_0 block
	q40Sz = 18
	q4KSz = 144
	q6KSz = 210
)

// q8Act is a vector quantized to Q8_0 (blocks of 32) or Q8_K (blocks of 256).
type q8Act struct {
	qs   []int8
	d    []float32 // one scale per block (Q8_0: already rounded through f16)
	sums []int32   // Q8_0: sum of qs per block (for Q4_0's -8 offset)
	neg8 []int32   // Q8_0: -8·sums, the packed Q4_0 kernel's start value
	bsum []int16   // Q8_K: sum of qs per 16 elements
}

func (a *q8Act) resize(n, block int) {
	nb := n / block
	a.qs = grow(a.qs, n)
	a.d = grow(a.d, nb)
	if block == qk8 {
		a.sums = grow(a.sums, nb)
		a.neg8 = grow(a.neg8, nb)
	} else {
		a.bsum = grow(a.bsum, n/16)
	}
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// roundAway is C's roundf: halfway cases away from zero.
func roundAway(x float32) int32 { return int32(math.Round(float64(x))) }

// quantizeQ8_0 follows ggml's quantize_row_q8_0_ref.
func quantizeQ8_0(a *q8Act, x []float32) {
	nb := len(x) / qk8
	for b := 0; b < nb; b++ {
		xb := x[b*qk8 : b*qk8+qk8]
		var amax float32
		for _, v := range xb {
			amax = max(amax, abs32(v))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		a.d[b] = F16ToF32(F32ToF16(d))
		qs := a.qs[b*qk8 : b*qk8+qk8]
		var s int32
		for i, v := range xb {
			q := roundAway(v * id)
			qs[i] = int8(q)
			s += q
		}
		a.sums[b] = s
	}
}

// nearestInt is ggml's nearest_int: round half to even via the 1.5*2^23 trick.
func nearestInt(f float32) int32 {
	v := f + 12582912
	return int32(math.Float32bits(v)&0x007fffff) - 0x00400000
}

// quantizeQ8_K follows ggml's quantize_row_q8_K_ref.
func quantizeQ8_K(a *q8Act, x []float32) {
	nb := len(x) / qkK
	for b := 0; b < nb; b++ {
		xb := x[b*qkK : b*qkK+qkK]
		qs := a.qs[b*qkK : b*qkK+qkK]
		var amax, mx float32
		for _, v := range xb {
			if av := abs32(v); av > amax {
				amax, mx = av, v
			}
		}
		if amax == 0 {
			a.d[b] = 0
			clear(qs)
			clear(a.bsum[b*16 : b*16+16])
			continue
		}
		iscale := -127 / mx
		for i, v := range xb {
			qs[i] = int8(min(127, nearestInt(iscale*v)))
		}
		for j := 0; j < 16; j++ {
			var s int32
			for _, q := range qs[j*16 : j*16+16] {
				s += int32(q)
			}
			a.bsum[b*16+j] = int16(s)
		}
		a.d[b] = 1 / iscale
	}
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// f16At reads the little-endian half at b[off:] as float32. It is small
// enough to inline into the SIMD loops (a call there spills every vector
// register): the magnitude bits moved into float32 position and rescaled by
// 2^112 are exact for every finite half, subnormals included, and Inf/NaN get
// their all-ones exponent OR'ed back without a branch.
func f16At(b []byte, off int) float32 {
	h := uint32(b[off]) | uint32(b[off+1])<<8
	m := h & 0x7fff
	f := math.Float32bits(math.Float32frombits(m<<13) * 0x1p112)
	f |= (h & 0x8000) << 16
	f |= -((m + 0x400) >> 15) & 0x7f800000 // exponent 31: Inf/NaN
	return math.Float32frombits(f)
}

// The dot products below follow ggml's generic ggml_vec_dot_*_q8_* code: exact
// integer sums inside a block, float accumulation across blocks.

func dotQ8_0Generic(row []byte, a *q8Act, nb int) float32 {
	var sum float32
	for b := 0; b < nb; b++ {
		blk := row[b*q80Sz : b*q80Sz+q80Sz]
		qx := a.qs[b*qk8 : b*qk8+qk8]
		var s int32
		for i := 0; i < qk8; i++ {
			s += int32(int8(blk[2+i])) * int32(qx[i])
		}
		sum += float32(s) * (f16At(blk, 0) * a.d[b])
	}
	return sum
}

func dotQ4_0Generic(row []byte, a *q8Act, nb int) float32 {
	var sum float32
	for b := 0; b < nb; b++ {
		blk := row[b*q40Sz : b*q40Sz+q40Sz]
		qx := a.qs[b*qk8 : b*qk8+qk8]
		var s int32
		for i := 0; i < 16; i++ {
			q := blk[2+i]
			s += (int32(q&0xf)-8)*int32(qx[i]) + (int32(q>>4)-8)*int32(qx[i+16])
		}
		sum += float32(s) * (f16At(blk, 0) * a.d[b])
	}
	return sum
}

// scaleMinK4 unpacks the eight 6-bit scales and mins of a Q4_K/Q5_K block
// (ggml's get_scale_min_k4).
func scaleMinK4(q []byte, sc, mn *[8]uint8) {
	for j := 0; j < 4; j++ {
		sc[j] = q[j] & 63
		mn[j] = q[j+4] & 63
	}
	for j := 4; j < 8; j++ {
		sc[j] = q[j+4]&0xf | (q[j-4]>>6)<<4
		mn[j] = q[j+4]>>4 | (q[j]>>6)<<4
	}
}

func dotQ4_KGeneric(row []byte, a *q8Act, nb int) float32 {
	var sum float32
	var sc, mn [8]uint8
	for b := 0; b < nb; b++ {
		blk := row[b*q4KSz : b*q4KSz+q4KSz]
		d := f16At(blk, 0) * a.d[b]
		dmin := f16At(blk, 2) * a.d[b]
		scaleMinK4(blk[4:16], &sc, &mn)
		qs := blk[16:]
		qx := a.qs[b*qkK : b*qkK+qkK]
		bs := a.bsum[b*16 : b*16+16]
		var isum, msum int32
		for j := 0; j < 4; j++ {
			var lo, hi int32
			for l := 0; l < 32; l++ {
				q := qs[j*32+l]
				lo += int32(q&0xf) * int32(qx[j*64+l])
				hi += int32(q>>4) * int32(qx[j*64+32+l])
			}
			isum += int32(sc[2*j])*lo + int32(sc[2*j+1])*hi
			msum += int32(mn[2*j])*(int32(bs[4*j])+int32(bs[4*j+1])) +
				int32(mn[2*j+1])*(int32(bs[4*j+2])+int32(bs[4*j+3]))
		}
		sum += d*float32(isum) - dmin*float32(msum)
	}
	return sum
}

func dotQ6_KGeneric(row []byte, a *q8Act, nb int) float32 {
	var sum float32
	for b := 0; b < nb; b++ {
		blk := row[b*q6KSz : b*q6KSz+q6KSz]
		ql, qh, sc := blk[0:128], blk[128:192], blk[192:208]
		d := f16At(blk, 208) * a.d[b]
		qx := a.qs[b*qkK : b*qkK+qkK]
		var isum int32
		for n := 0; n < 2; n++ { // two halves of 128 elements
			l8, h8, s8, x8 := ql[n*64:], qh[n*32:], sc[n*8:], qx[n*128:]
			var acc [8]int32 // per 16-element group
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int32(l8[l]&0xf|(h8[l]>>0&3)<<4) - 32
				q2 := int32(l8[l+32]&0xf|(h8[l]>>2&3)<<4) - 32
				q3 := int32(l8[l]>>4|(h8[l]>>4&3)<<4) - 32
				q4 := int32(l8[l+32]>>4|(h8[l]>>6&3)<<4) - 32
				acc[is+0] += q1 * int32(x8[l])
				acc[is+2] += q2 * int32(x8[l+32])
				acc[is+4] += q3 * int32(x8[l+64])
				acc[is+6] += q4 * int32(x8[l+96])
			}
			for g := 0; g < 8; g++ {
				isum += int32(int8(s8[g])) * acc[g]
			}
		}
		sum += d * float32(isum)
	}
	return sum
}

func dotF16Generic(row []byte, x []float32) float32 {
	var s float32
	for i, v := range x {
		s += F16ToF32(binary.LittleEndian.Uint16(row[2*i:])) * v
	}
	return s
}

func dotBF16Generic(row []byte, x []float32) float32 {
	var s float32
	for i, v := range x {
		s += BF16ToF32(binary.LittleEndian.Uint16(row[2*i:])) * v
	}
	return s
}

func dotF32Generic(row []byte, x []float32) float32 {
	var s float32
	for i, v := range x {
		s += math.Float32frombits(binary.LittleEndian.Uint32(row[4*i:])) * v
	}
	return s
}
