package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Dequantize converts len(dst) elements stored in src as type t to float32
// (integer types convert by value, F64 rounds to nearest), with the arithmetic of ggml's dequantize_row_* (same operation order, single
// precision), so results are bit-identical to ggml's. len(src) must be exactly
// the byte size of len(dst) elements.
func Dequantize(dst []float32, src []byte, t DType) error {
	if err := checkSizes(len(dst), len(src), t); err != nil {
		return fmt.Errorf("dequantize: %w", err)
	}
	bs := t.BlockBytes()
	switch t {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = F16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = BF16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
		}
	case I8:
		for i := range dst {
			dst[i] = float32(int8(src[i]))
		}
	case I16:
		for i := range dst {
			dst[i] = float32(int16(binary.LittleEndian.Uint16(src[2*i:])))
		}
	case I32:
		for i := range dst {
			dst[i] = float32(int32(binary.LittleEndian.Uint32(src[4*i:])))
		}
	case I64:
		for i := range dst {
			dst[i] = float32(int64(binary.LittleEndian.Uint64(src[8*i:])))
		}
	default:
		fn := dequantizers[t]
		if fn == nil {
			return fmt.Errorf("dequantize: %s is not supported", t)
		}
		nb := t.BlockElems()
		for i := 0; i < len(dst)/nb; i++ {
			fn(dst[i*nb:(i+1)*nb], src[i*bs:(i+1)*bs])
		}
	}
	return nil
}

// checkSizes verifies that n elements of type t occupy exactly nbytes.
func checkSizes(n, nbytes int, t DType) error {
	want, err := t.RowBytes(n)
	if err != nil {
		return err
	}
	if nbytes != want {
		return fmt.Errorf("%s: %d elements need %d bytes, got %d", t, n, want, nbytes)
	}
	return nil
}

var dequantizers = map[DType]func(y []float32, b []byte){
	Q4_0: dequantQ4_0,
	Q4_1: dequantQ4_1,
	Q5_0: dequantQ5_0,
	Q5_1: dequantQ5_1,
	Q8_0: dequantQ8_0,
	Q2_K: dequantQ2K,
	Q3_K: dequantQ3K,
	Q4_K: dequantQ4K,
	Q5_K: dequantQ5K,
	Q6_K: dequantQ6K,
	Q8_K: dequantQ8K,
}

func half(b []byte) float32 { return F16ToF32(binary.LittleEndian.Uint16(b)) }

// Block layouts below follow ggml-common.h; offsets are in bytes.

// block_q4_0 { half d; uint8 qs[16] }: low nibbles are elements 0..15, high 16..31.
func dequantQ4_0(y []float32, b []byte) {
	d := half(b)
	qs := b[2:18]
	for j := 0; j < 16; j++ {
		y[j] = float32(int(qs[j]&0xf)-8) * d
		y[j+16] = float32(int(qs[j]>>4)-8) * d
	}
}

// block_q4_1 { half d, m; uint8 qs[16] }.
func dequantQ4_1(y []float32, b []byte) {
	d, m := half(b), half(b[2:])
	qs := b[4:20]
	for j := 0; j < 16; j++ {
		y[j] = float32(float32(qs[j]&0xf)*d) + m
		y[j+16] = float32(float32(qs[j]>>4)*d) + m
	}
}

// block_q5_0 { half d; uint8 qh[4]; uint8 qs[16] }: qh holds the fifth bits.
func dequantQ5_0(y []float32, b []byte) {
	d := half(b)
	qh := binary.LittleEndian.Uint32(b[2:])
	qs := b[6:22]
	for j := 0; j < 16; j++ {
		xh0 := byte((qh>>j)<<4) & 0x10
		xh1 := byte(qh>>(j+12)) & 0x10
		y[j] = float32(int(qs[j]&0xf|xh0)-16) * d
		y[j+16] = float32(int(qs[j]>>4|xh1)-16) * d
	}
}

// block_q5_1 { half d, m; uint8 qh[4]; uint8 qs[16] }.
func dequantQ5_1(y []float32, b []byte) {
	d, m := half(b), half(b[2:])
	qh := binary.LittleEndian.Uint32(b[4:])
	qs := b[8:24]
	for j := 0; j < 16; j++ {
		xh0 := byte((qh>>j)<<4) & 0x10
		xh1 := byte(qh>>(j+12)) & 0x10
		y[j] = float32(float32(qs[j]&0xf|xh0)*d) + m
		y[j+16] = float32(float32(qs[j]>>4|xh1)*d) + m
	}
}

// block_q8_0 { half d; int8 qs[32] }.
func dequantQ8_0(y []float32, b []byte) {
	d := half(b)
	for j := 0; j < 32; j++ {
		y[j] = float32(int8(b[2+j])) * d
	}
}

// block_q2_K { uint8 scales[16]; uint8 qs[64]; half d, dmin }: each scale
// byte holds a 4-bit scale (low) and 4-bit min (high) for 16 elements.
func dequantQ2K(y []float32, b []byte) {
	scales, q := b[0:16], b[16:80]
	d, dmin := half(b[80:]), half(b[82:])
	is := 0
	for n := 0; n < QK_K; n += 128 {
		shift := 0
		for j := 0; j < 4; j++ {
			for half := 0; half < 2; half++ {
				sc := scales[is]
				is++
				dl := d * float32(sc&0xf)
				ml := dmin * float32(sc>>4)
				qq := q[16*half : 16*half+16]
				for l := 0; l < 16; l++ {
					y[l] = float32(dl*float32((qq[l]>>shift)&3)) - ml
				}
				y = y[16:]
			}
			shift += 2
		}
		q = q[32:]
	}
}

// block_q3_K { uint8 hmask[32]; uint8 qs[64]; uint8 scales[12]; half d }:
// sixteen 6-bit signed scales (offset 32) packed into 12 bytes.
func dequantQ3K(y []float32, b []byte) {
	hm, q := b[0:32], b[32:96]
	dAll := half(b[108:])
	var sc [16]int8
	unpackQ3KScales(&sc, b[96:108])
	is := 0
	m := byte(1)
	for n := 0; n < QK_K; n += 128 {
		shift := 0
		for j := 0; j < 4; j++ {
			for h := 0; h < 2; h++ {
				dl := dAll * float32(int(sc[is])-32)
				is++
				for l := 16 * h; l < 16*h+16; l++ {
					v := int((q[l] >> shift) & 3)
					if hm[l]&m == 0 {
						v -= 4
					}
					y[l-16*h] = dl * float32(v)
				}
				y = y[16:]
			}
			shift += 2
			m <<= 1
		}
		q = q[32:]
	}
}

// unpackQ3KScales reproduces the kmask shuffle of dequantize_row_q3_K.
func unpackQ3KScales(sc *[16]int8, s []byte) {
	const kmask1, kmask2 = 0x03030303, 0x0f0f0f0f
	a0 := binary.LittleEndian.Uint32(s[0:])
	a1 := binary.LittleEndian.Uint32(s[4:])
	tmp := binary.LittleEndian.Uint32(s[8:])
	aux := [4]uint32{
		a0&kmask2 | ((tmp>>0)&kmask1)<<4,
		a1&kmask2 | ((tmp>>2)&kmask1)<<4,
		(a0>>4)&kmask2 | ((tmp>>4)&kmask1)<<4,
		(a1>>4)&kmask2 | ((tmp>>6)&kmask1)<<4,
	}
	for i, a := range aux {
		for k := 0; k < 4; k++ {
			sc[4*i+k] = int8(a >> (8 * k))
		}
	}
}

// scaleMinK4 is ggml's get_scale_min_k4: eight 6-bit scales and mins in 12 bytes.
func scaleMinK4(j int, q []byte) (d, m byte) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// block_q4_K { half d, dmin; uint8 scales[12]; uint8 qs[128] }.
func dequantQ4K(y []float32, b []byte) {
	d, dmin := half(b), half(b[2:])
	scales, q := b[4:16], b[16:144]
	is := 0
	for j := 0; j < QK_K; j += 64 {
		sc, m := scaleMinK4(is, scales)
		d1, m1 := d*float32(sc), dmin*float32(m)
		sc, m = scaleMinK4(is+1, scales)
		d2, m2 := d*float32(sc), dmin*float32(m)
		for l := 0; l < 32; l++ {
			y[l] = float32(d1*float32(q[l]&0xf)) - m1
			y[l+32] = float32(d2*float32(q[l]>>4)) - m2
		}
		y, q = y[64:], q[32:]
		is += 2
	}
}

// block_q5_K { half d, dmin; uint8 scales[12]; uint8 qh[32]; uint8 qs[128] }.
func dequantQ5K(y []float32, b []byte) {
	d, dmin := half(b), half(b[2:])
	scales, qh, ql := b[4:16], b[16:48], b[48:176]
	is := 0
	u1, u2 := byte(1), byte(2)
	for j := 0; j < QK_K; j += 64 {
		sc, m := scaleMinK4(is, scales)
		d1, m1 := d*float32(sc), dmin*float32(m)
		sc, m = scaleMinK4(is+1, scales)
		d2, m2 := d*float32(sc), dmin*float32(m)
		for l := 0; l < 32; l++ {
			v1, v2 := ql[l]&0xf, ql[l]>>4
			if qh[l]&u1 != 0 {
				v1 += 16
			}
			if qh[l]&u2 != 0 {
				v2 += 16
			}
			y[l] = float32(d1*float32(v1)) - m1
			y[l+32] = float32(d2*float32(v2)) - m2
		}
		y, ql = y[64:], ql[32:]
		is += 2
		u1 <<= 2
		u2 <<= 2
	}
}

// block_q6_K { uint8 ql[128]; uint8 qh[64]; int8 scales[16]; half d }.
func dequantQ6K(y []float32, b []byte) {
	ql, qh, sc := b[0:128], b[128:192], b[192:208]
	d := half(b[208:])
	for n := 0; n < QK_K; n += 128 {
		for l := 0; l < 32; l++ {
			is := l / 16
			q1 := int(ql[l]&0xf|((qh[l]>>0)&3)<<4) - 32
			q2 := int(ql[l+32]&0xf|((qh[l]>>2)&3)<<4) - 32
			q3 := int(ql[l]>>4|((qh[l]>>4)&3)<<4) - 32
			q4 := int(ql[l+32]>>4|((qh[l]>>6)&3)<<4) - 32
			y[l] = float32(d*float32(int8(sc[is]))) * float32(q1)
			y[l+32] = float32(d*float32(int8(sc[is+2]))) * float32(q2)
			y[l+64] = float32(d*float32(int8(sc[is+4]))) * float32(q3)
			y[l+96] = float32(d*float32(int8(sc[is+6]))) * float32(q4)
		}
		y, ql, qh, sc = y[128:], ql[64:], qh[32:], sc[8:]
	}
}

// block_q8_K { float d; int8 qs[256]; int16 bsums[16] }.
func dequantQ8K(y []float32, b []byte) {
	d := math.Float32frombits(binary.LittleEndian.Uint32(b))
	for j := 0; j < QK_K; j++ {
		y[j] = d * float32(int8(b[4+j]))
	}
}
