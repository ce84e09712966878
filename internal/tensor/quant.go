package tensor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
)

// Quantize encodes src as type t into dst using llama.cpp's reference
// quantizers (quantize_row_*_ref in ggml-quants.c, which llama-quantize uses
// when no importance matrix is given). The arithmetic is single precision in
// the C order of operations, unfused, so the bytes equal ggml's. len(dst)
// must be exactly the byte size of len(src) elements.
func Quantize(dst []byte, src []float32, t DType) error {
	if err := checkSizes(len(src), len(dst), t); err != nil {
		return fmt.Errorf("quantize: %w", err)
	}
	switch t {
	case F32:
		for i, v := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
		return nil
	case F16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], F32ToF16(v))
		}
		return nil
	case BF16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], F32ToBF16(v))
		}
		return nil
	}
	fn := quantizers[t]
	if fn == nil {
		return fmt.Errorf("quantize: %s is not supported", t)
	}
	nb, bs := t.BlockElems(), t.BlockBytes()
	for i := 0; i < len(src)/nb; i++ {
		fn(dst[i*bs:(i+1)*bs], src[i*nb:(i+1)*nb])
	}
	return nil
}

// CanQuantize reports whether Quantize supports t.
func CanQuantize(t DType) bool {
	return t == F32 || t == F16 || t == BF16 || quantizers[t] != nil
}

var quantizers = map[DType]func(b []byte, x []float32){
	Q4_0: quantQ4_0,
	Q4_1: quantQ4_1,
	Q5_0: quantQ5_0,
	Q5_1: quantQ5_1,
	Q8_0: quantQ8_0,
	Q2_K: quantQ2K,
	Q3_K: quantQ3K,
	Q4_K: quantQ4K,
	Q5_K: quantQ5K,
	Q6_K: quantQ6K,
}

func putHalf(b []byte, f float32) { binary.LittleEndian.PutUint16(b, F32ToF16(f)) }

// cvtt converts like C's float->int on x86 (cvttss2si): truncation, with
// NaN and out-of-range values giving INT32_MIN.
func cvtt(f float32) int32 {
	if !(f > -2147483648.0 && f < 2147483648.0) {
		return math.MinInt32
	}
	return int32(f)
}

// nearestInt is ggml's nearest_int: round half to even via the 1.5*2^23 trick,
// valid for |f| <= 4194303 (ggml only asserts that in debug builds; the bit
// trick's result outside that range is reproduced too).
func nearestInt(f float32) int {
	v := float32(f + 12582912.0)
	i := int32(math.Float32bits(v))
	return int(i&0x007fffff - 0x00400000)
}

func clamp(v, lo, hi int) int { return max(lo, min(hi, v)) }

// absMax returns the element of largest magnitude (first one on ties) and
// its magnitude, as the q4_0/q5_0 reference loops do.
func absMax(x []float32) (amax, mx float32) {
	for _, v := range x {
		if a := abs32(v); amax < a {
			amax, mx = a, v
		}
	}
	return
}

func quantQ4_0(b []byte, x []float32) {
	_, mx := absMax(x)
	d := mx / -8
	var id float32
	if d != 0 {
		id = 1 / d
	}
	putHalf(b, d)
	for j := 0; j < 16; j++ {
		xi0 := min(15, int(int8(cvtt(float32(x[j]*id)+8.5))))
		xi1 := min(15, int(int8(cvtt(float32(x[j+16]*id)+8.5))))
		b[2+j] = uint8(xi0) | uint8(xi1)<<4
	}
}

func minMax(x []float32) (lo, hi float32) {
	lo, hi = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return
}

func quantQ4_1(b []byte, x []float32) {
	lo, hi := minMax(x)
	d := (hi - lo) / 15
	var id float32
	if d != 0 {
		id = 1 / d
	}
	putHalf(b, d)
	putHalf(b[2:], lo)
	for j := 0; j < 16; j++ {
		xi0 := min(15, int(int8(cvtt(float32((x[j]-lo)*id)+0.5))))
		xi1 := min(15, int(int8(cvtt(float32((x[j+16]-lo)*id)+0.5))))
		b[4+j] = uint8(xi0) | uint8(xi1)<<4
	}
}

func quantQ5_0(b []byte, x []float32) {
	_, mx := absMax(x)
	d := mx / -16
	var id float32
	if d != 0 {
		id = 1 / d
	}
	putHalf(b, d)
	var qh uint32
	for j := 0; j < 16; j++ {
		xi0 := uint8(min(31, int(int8(cvtt(float32(x[j]*id)+16.5)))))
		xi1 := uint8(min(31, int(int8(cvtt(float32(x[j+16]*id)+16.5)))))
		b[6+j] = xi0&0xf | (xi1&0xf)<<4
		qh |= uint32(xi0&0x10) >> 4 << j
		qh |= uint32(xi1&0x10) >> 4 << (j + 16)
	}
	binary.LittleEndian.PutUint32(b[2:], qh)
}

func quantQ5_1(b []byte, x []float32) {
	lo, hi := minMax(x)
	d := (hi - lo) / 31
	var id float32
	if d != 0 {
		id = 1 / d
	}
	putHalf(b, d)
	putHalf(b[2:], lo)
	var qh uint32
	for j := 0; j < 16; j++ {
		xi0 := uint8(cvtt(float32((x[j]-lo)*id) + 0.5))
		xi1 := uint8(cvtt(float32((x[j+16]-lo)*id) + 0.5))
		b[8+j] = xi0&0xf | (xi1&0xf)<<4
		qh |= uint32(xi0&0x10) >> 4 << j
		qh |= uint32(xi1&0x10) >> 4 << (j + 16)
	}
	binary.LittleEndian.PutUint32(b[4:], qh)
}

func quantQ8_0(b []byte, x []float32) {
	var amax float32
	for _, v := range x {
		amax = max(amax, abs32(v))
	}
	d := amax / 127
	var id float32
	if d != 0 {
		id = 1 / d
	}
	putHalf(b, d)
	for j := 0; j < 32; j++ {
		b[2+j] = uint8(int8(cvtt(roundf(float32(x[j] * id)))))
	}
}

// roundf rounds half away from zero, like C roundf.
func roundf(f float32) float32 { return float32(math.Round(float64(f))) }

// makeQxQuants is ggml's make_qx_quants with qw == NULL: a symmetric scale
// for n values with levels -nmax..nmax-1, refined by an rmse search.
func makeQxQuants(x []float32, nmax int, L []int8, rmseType int) float32 {
	var mx, amax float32
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax, mx = a, v
		}
	}
	if amax < groupMaxEps {
		for i := range x {
			L[i] = 0
		}
		return 0
	}
	iscale := float32(-nmax) / mx
	if rmseType == 0 {
		for i, v := range x {
			L[i] = int8(nmax + clamp(nearestInt(float32(iscale*v)), -nmax, nmax-1))
		}
		return 1 / iscale
	}
	returnEarly := false
	if rmseType < 0 {
		rmseType, returnEarly = -rmseType, true
	}
	weight := func(v float32) float32 {
		switch rmseType {
		case 1:
			return float32(v * v)
		case 2:
			return 1
		case 3:
			return abs32(v)
		}
		return float32(math.Sqrt(float64(abs32(v))))
	}
	var sumlx, suml2 float32
	for i, v := range x {
		l := clamp(nearestInt(float32(iscale*v)), -nmax, nmax-1)
		L[i] = int8(l + nmax)
		w := weight(v)
		sumlx += float32(float32(w*v) * float32(l))
		suml2 += float32(float32(w*float32(l)) * float32(l))
	}
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	if returnEarly {
		if suml2 > 0 {
			return float32(0.5 * float32(scale+1/iscale))
		}
		return 1 / iscale
	}
	best := float32(scale * sumlx)
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -float32(float32(nmax)+float32(0.1*float32(is))) / mx
		sumlx, suml2 = 0, 0
		for _, v := range x {
			l := clamp(nearestInt(float32(iscale*v)), -nmax, nmax-1)
			w := weight(v)
			sumlx += float32(float32(w*v) * float32(l))
			suml2 += float32(float32(w*float32(l)) * float32(l))
		}
		if suml2 > 0 && float32(sumlx*sumlx) > float32(best*suml2) {
			for i, v := range x {
				L[i] = int8(nmax + clamp(nearestInt(float32(iscale*v)), -nmax, nmax-1))
			}
			scale = sumlx / suml2
			best = float32(scale * sumlx)
		}
	}
	return scale
}

const groupMaxEps = 1e-15

// makeQ3Quants is ggml's make_q3_quants.
func makeQ3Quants(x []float32, nmax int, L []int8, doRmse bool) float32 {
	var mx, amax float32
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax, mx = a, v
		}
	}
	if amax < groupMaxEps {
		for i := range x {
			L[i] = 0
		}
		return 0
	}
	iscale := float32(-nmax) / mx
	if !doRmse {
		for i, v := range x {
			L[i] = int8(clamp(nearestInt(float32(iscale*v)), -nmax, nmax-1) + nmax)
		}
		return 1 / iscale
	}
	var sumlx, suml2 float32
	for i, v := range x {
		l := clamp(nearestInt(float32(iscale*v)), -nmax, nmax-1)
		L[i] = int8(l)
		w := float32(v * v)
		sumlx += float32(float32(w*v) * float32(l))
		suml2 += float32(float32(w*float32(l)) * float32(l))
	}
	for itry := 0; itry < 5; itry++ {
		changed := 0
		for i, v := range x {
			w := float32(v * v)
			li := float32(L[i])
			slx := sumlx - float32(float32(w*v)*li)
			if slx > 0 {
				sl2 := suml2 - float32(float32(w*li)*li)
				newL := clamp(nearestInt(float32(float32(v*sl2)/slx)), -nmax, nmax-1)
				if newL != int(L[i]) {
					nl := float32(newL)
					slx += float32(float32(w*v) * nl)
					sl2 += float32(float32(w*nl) * nl)
					if sl2 > 0 && float32(float32(slx*slx)*suml2) > float32(float32(sumlx*sumlx)*sl2) {
						L[i], sumlx, suml2 = int8(newL), slx, sl2
						changed++
					}
				}
			}
		}
		if changed == 0 {
			break
		}
	}
	for i := range x {
		L[i] += int8(nmax)
	}
	return sumlx / suml2
}

// makeQkx2Quants is ggml's make_qkx2_quants: an asymmetric scale and min for
// levels 0..nmax, searched over nstep+1 candidate scales. It returns the
// scale and the (negated) min.
func makeQkx2Quants(x, weights []float32, nmax int, L, Laux []uint8, rmin, rdelta float32, nstep int, useMad bool) (scale, theMin float32) {
	n := len(x)
	weights, L, Laux = weights[:n], L[:n], Laux[:n] // bounds-check hints
	lo, hi := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < n; i++ {
		if x[i] < lo {
			lo = x[i]
		}
		if x[i] > hi {
			hi = x[i]
		}
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if lo > 0 {
		lo = 0
	}
	if hi == lo {
		clear(L)
		return 0, -lo
	}
	// x[i]-lo is recomputed only when lo changes.
	var xmBuf [32]float32
	xm := xmBuf[:n]
	for i := range xm {
		xm[i] = x[i] - lo
	}
	iscale := float32(nmax) / (hi - lo)
	scale = 1 / iscale
	var bestMad float32
	for i := range xm {
		L[i] = uint8(clamp(nearestInt(float32(iscale*xm[i])), 0, nmax))
		diff := float32(float32(scale*float32(L[i]))+lo) - x[i]
		bestMad += float32(weights[i] * qkxErr(diff, useMad))
	}
	if nstep < 1 {
		return scale, -lo
	}
	for is := 0; is <= nstep; is++ {
		iscale = float32(float32(rmin+float32(rdelta*float32(is)))+float32(nmax)) / (hi - lo)
		var sumL, sumL2, sumXL float32
		for i := range xm {
			l := clamp(nearestInt(float32(iscale*xm[i])), 0, nmax)
			Laux[i] = uint8(l)
			w := weights[i]
			wl := float32(w * float32(l))
			sumL += wl
			sumL2 += float32(wl * float32(l))
			sumXL += float32(wl * x[i])
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var mad float32
			for i := range xm {
				diff := float32(float32(thisScale*float32(Laux[i]))+thisMin) - x[i]
				mad += float32(weights[i] * qkxErr(diff, useMad))
			}
			if mad < bestMad {
				copy(L, Laux)
				bestMad, scale, lo = mad, thisScale, thisMin
				// Later passes use the new min, in x-min and in max-min.
				for i := range xm {
					xm[i] = x[i] - lo
				}
			}
		}
	}
	return scale, -lo
}

// qkxErr is make_qkx2_quants' per-element error: |diff| or diff².
func qkxErr(diff float32, useMad bool) float32 {
	if useMad {
		return abs32(diff)
	}
	return float32(diff * diff)
}

func quantQ2K(b []byte, x []float32) {
	var L [QK_K]uint8
	var Laux [16]uint8
	var weights [16]float32
	var mins, scales [QK_K / 16]float32
	const q4scale = 15
	var maxScale, maxMin float32
	for j := 0; j < QK_K/16; j++ {
		xs := x[16*j : 16*j+16]
		for l, v := range xs {
			weights[l] = abs32(v)
		}
		scales[j], mins[j] = makeQkx2Quants(xs, weights[:], 3, L[16*j:], Laux[:], -0.5, 0.1, 15, true)
		maxScale = max32(maxScale, scales[j])
		maxMin = max32(maxMin, mins[j])
	}
	sc := b[0:16]
	if maxScale > 0 {
		iscale := q4scale / maxScale
		for j := range sc {
			sc[j] = uint8(nearestInt(float32(iscale * scales[j])))
		}
		putHalf(b[80:], maxScale/q4scale)
	} else {
		clear(sc)
		putHalf(b[80:], 0)
	}
	if maxMin > 0 {
		iscale := q4scale / maxMin
		for j := range sc {
			sc[j] |= uint8(nearestInt(float32(iscale*mins[j])) << 4)
		}
		putHalf(b[82:], maxMin/q4scale)
	} else {
		putHalf(b[82:], 0)
	}
	dAll, dminAll := half(b[80:]), half(b[82:])
	for j := 0; j < QK_K/16; j++ {
		d := float32(dAll * float32(sc[j]&0xf))
		if d == 0 {
			continue
		}
		dm := float32(dminAll * float32(sc[j]>>4))
		for ii := 0; ii < 16; ii++ {
			l := nearestInt(float32(x[16*j+ii]+dm) / d)
			L[16*j+ii] = uint8(clamp(l, 0, 3))
		}
	}
	q := b[16:80]
	for j := 0; j < QK_K; j += 128 {
		for l := 0; l < 32; l++ {
			q[j/4+l] = L[j+l] | L[j+l+32]<<2 | L[j+l+64]<<4 | L[j+l+96]<<6
		}
	}
}

// max32 is C's "if (v > m) m = v" (NaN never replaces m).
func max32(m, v float32) float32 {
	if v > m {
		return v
	}
	return m
}

func quantQ3K(b []byte, x []float32) {
	var L [QK_K]int8
	var scales [QK_K / 16]float32
	var maxScale, amax float32
	for j := 0; j < QK_K/16; j++ {
		scales[j] = makeQ3Quants(x[16*j:16*j+16], 4, L[16*j:], true)
		if s := abs32(scales[j]); s > amax {
			amax, maxScale = s, scales[j]
		}
	}
	hmask, q, sc := b[0:32], b[32:96], b[96:108]
	clear(sc)
	if maxScale != 0 {
		iscale := -32 / maxScale
		for j := 0; j < QK_K/16; j++ {
			l := int8(nearestInt(float32(iscale * scales[j])))
			l = int8(clamp(int(l), -32, 31) + 32)
			if j < 8 {
				sc[j] = uint8(l) & 0xf
			} else {
				sc[j-8] |= (uint8(l) & 0xf) << 4
			}
			l >>= 4
			sc[j%4+8] |= uint8(l) << (2 * (j / 4))
		}
		putHalf(b[108:], 1/iscale)
	} else {
		putHalf(b[108:], 0)
	}
	dAll := half(b[108:])
	for j := 0; j < QK_K/16; j++ {
		var s int8
		if j < 8 {
			s = int8(sc[j] & 0xf)
		} else {
			s = int8(sc[j-8] >> 4)
		}
		s = int8(int(s)|int((sc[8+j%4]>>(2*(j/4)))&3)<<4) - 32
		d := float32(dAll * float32(s))
		if d == 0 {
			continue
		}
		for ii := 0; ii < 16; ii++ {
			l := nearestInt(x[16*j+ii] / d)
			L[16*j+ii] = int8(clamp(l, -4, 3) + 4)
		}
	}
	clear(hmask)
	m, hm := 0, uint8(1)
	for j := 0; j < QK_K; j++ {
		if L[j] > 3 {
			hmask[m] |= hm
			L[j] -= 4
		}
		if m++; m == QK_K/8 {
			m, hm = 0, hm<<1
		}
	}
	for j := 0; j < QK_K; j += 128 {
		for l := 0; l < 32; l++ {
			q[j/4+l] = uint8(L[j+l] | L[j+l+32]<<2 | L[j+l+64]<<4 | L[j+l+96]<<6)
		}
	}
}

// kScales computes the 32-element sub-block scales and mins shared by Q4_K
// and Q5_K, packs them as 6-bit values into the 12-byte scales field and
// stores d/dmin at b[0:4]; it returns the final levels in L (0..nmax).
func kScales(b []byte, x []float32, nmax int, rmin float32, nstep int, L *[QK_K]uint8) {
	var Laux [32]uint8
	var weights [32]float32
	var mins, scales [QK_K / 32]float32
	var maxScale, maxMin float32
	for j := 0; j < QK_K/32; j++ {
		xs := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xs {
			sumX2 += float32(v * v)
		}
		avX := float32(math.Sqrt(float64(sumX2 / 32)))
		for l, v := range xs {
			weights[l] = avX + abs32(v)
		}
		scales[j], mins[j] = makeQkx2Quants(xs, weights[:], nmax, L[32*j:], Laux[:], rmin, 0.1, nstep, false)
		maxScale = max32(maxScale, scales[j])
		maxMin = max32(maxMin, mins[j])
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	sc := b[4:16]
	for j := 0; j < QK_K/32; j++ {
		ls := min(63, uint8(nearestInt(float32(invScale*scales[j]))))
		lm := min(63, uint8(nearestInt(float32(invMin*mins[j]))))
		if j < 4 {
			sc[j], sc[j+4] = ls, lm
		} else {
			sc[j+4] = ls&0xf | (lm&0xf)<<4
			sc[j-4] |= (ls >> 4) << 6
			sc[j] |= (lm >> 4) << 6
		}
	}
	putHalf(b[0:], maxScale/63)
	putHalf(b[2:], maxMin/63)
	dAll, dminAll := half(b[0:]), half(b[2:])
	for j := 0; j < QK_K/32; j++ {
		s, m := scaleMinK4(j, sc)
		d := float32(dAll * float32(s))
		if d == 0 {
			continue
		}
		dm := float32(dminAll * float32(m))
		for ii := 0; ii < 32; ii++ {
			l := nearestInt(float32(x[32*j+ii]+dm) / d)
			L[32*j+ii] = uint8(clamp(l, 0, nmax))
		}
	}
}

func quantQ4K(b []byte, x []float32) {
	var L [QK_K]uint8
	kScales(b, x, 15, -1, 20, &L)
	q := b[16:144]
	for j := 0; j < QK_K; j += 64 {
		for l := 0; l < 32; l++ {
			q[l] = L[j+l] | L[j+l+32]<<4
		}
		q = q[32:]
	}
}

func quantQ5K(b []byte, x []float32) {
	var L [QK_K]uint8
	kScales(b, x, 31, -0.5, 15, &L)
	qh, ql := b[16:48], b[48:176]
	clear(qh)
	m1, m2 := uint8(1), uint8(2)
	for n := 0; n < QK_K; n += 64 {
		for j := 0; j < 32; j++ {
			l1, l2 := L[n+j], L[n+j+32]
			if l1 > 15 {
				l1 -= 16
				qh[j] |= m1
			}
			if l2 > 15 {
				l2 -= 16
				qh[j] |= m2
			}
			ql[j] = l1 | l2<<4
		}
		m1 <<= 2
		m2 <<= 2
		ql = ql[32:]
	}
}

func quantQ6K(b []byte, x []float32) {
	var L [QK_K]int8
	var scales [QK_K / 16]float32
	var maxScale, maxAbs float32
	for ib := 0; ib < QK_K/16; ib++ {
		s := makeQxQuants(x[16*ib:16*ib+16], 32, L[16*ib:], 1)
		scales[ib] = s
		if a := abs32(s); a > maxAbs {
			maxAbs, maxScale = a, s
		}
	}
	if maxAbs < groupMaxEps {
		clear(b[:210])
		return
	}
	ql, qh, sc := b[0:128], b[128:192], b[192:208]
	iscale := -128 / maxScale
	putHalf(b[208:], 1/iscale)
	for ib := 0; ib < QK_K/16; ib++ {
		sc[ib] = uint8(int8(min(127, nearestInt(float32(iscale*scales[ib])))))
	}
	dAll := half(b[208:])
	for j := 0; j < QK_K/16; j++ {
		d := float32(dAll * float32(int8(sc[j])))
		if d == 0 {
			continue
		}
		for ii := 0; ii < 16; ii++ {
			l := nearestInt(x[16*j+ii] / d)
			L[16*j+ii] = int8(clamp(l, -32, 31) + 32)
		}
	}
	for j := 0; j < QK_K; j += 128 {
		for l := 0; l < 32; l++ {
			q1, q2 := uint8(L[j+l])&0xf, uint8(L[j+l+32])&0xf
			q3, q4 := uint8(L[j+l+64])&0xf, uint8(L[j+l+96])&0xf
			ql[l] = q1 | q3<<4
			ql[l+32] = q2 | q4<<4
			qh[l] = uint8(L[j+l])>>4 | (uint8(L[j+l+32])>>4)<<2 | (uint8(L[j+l+64])>>4)<<4 | (uint8(L[j+l+96])>>4)<<6
		}
		ql, qh = ql[64:], qh[32:]
	}
}

// QuantizeParallel is Quantize split over up to workers goroutines at block
// boundaries. Blocks are quantized independently, so the bytes are the same
// as Quantize's for any worker count.
func QuantizeParallel(dst []byte, src []float32, t DType, workers int) error {
	if err := checkSizes(len(src), len(dst), t); err != nil {
		return fmt.Errorf("quantize: %w", err)
	}
	nb, bs := t.BlockElems(), t.BlockBytes()
	blocks := len(src) / nb
	workers = max(1, min(workers, blocks/64)) // not worth a goroutine below 64 blocks
	if workers == 1 {
		return Quantize(dst, src, t)
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := blocks*w/workers, blocks*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = Quantize(dst[lo*bs:hi*bs], src[lo*nb:hi*nb], t)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
