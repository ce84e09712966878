//go:build goexperiment.simd && amd64

package kernels

import "simd/archsimd"

// AVX-512 activation quantizers, bit-identical to quantizeQ8_0/quantizeQ8_K
// (ggml's reference rounding: roundf for Q8_0, nearest-even for Q8_K). They
// run serially before each parallel matvec, so they must be cheap.

func absMax16(v archsimd.Float32x16) archsimd.Float32x16 {
	return v.AsUint32x16().And(archsimd.BroadcastUint32x16(0x7fffffff)).AsFloat32x16()
}

func hmax16(v archsimd.Float32x16) float32 {
	a := v.GetLo().Max(v.GetHi())
	b := a.GetLo().Max(a.GetHi())
	return max(b.GetElem(0), b.GetElem(1), b.GetElem(2), b.GetElem(3))
}

func hsumI16(v archsimd.Int32x16) int32 {
	a := v.GetLo().Add(v.GetHi())
	b := a.GetLo().Add(a.GetHi())
	b = b.AddPairs(b)
	b = b.AddPairs(b)
	return b.GetElem(0)
}

// roundAway16 is C's roundf on 16 lanes: truncate, then step away from zero
// when the dropped fraction is at least one half.
func roundAway16(v archsimd.Float32x16) archsimd.Float32x16 {
	t := v.TruncScaled(0)
	frac := absMax16(v.Sub(t))
	one := v.AsUint32x16().And(archsimd.BroadcastUint32x16(0x80000000)).Or(archsimd.BroadcastUint32x16(0x3f800000)).AsFloat32x16()
	return t.Add(one.Masked(frac.GreaterEqual(archsimd.BroadcastFloat32x16(0.5))))
}

func quantizeQ8_0AVX512(a *q8Act, x []float32) {
	nb := len(x) / qk8
	qs := a.qs[:nb*qk8]
	for b := 0; b < nb; b++ {
		v0 := archsimd.LoadFloat32x16Slice(x[b*qk8:])
		v1 := archsimd.LoadFloat32x16Slice(x[b*qk8+16:])
		amax := hmax16(absMax16(v0).Max(absMax16(v1)))
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		a.d[b] = F16ToF32(F32ToF16(d))
		vid := archsimd.BroadcastFloat32x16(id)
		q0 := roundAway16(v0.Mul(vid)).ConvertToInt32()
		q1 := roundAway16(v1.Mul(vid)).ConvertToInt32()
		q0.TruncateToInt8().StoreSlice(qs[b*qk8:])
		q1.TruncateToInt8().StoreSlice(qs[b*qk8+16:])
		a.sums[b] = hsumI16(q0.Add(q1))
	}
}

func quantizeQ8_KAVX512(a *q8Act, x []float32) {
	nb := len(x) / qkK
	for b := 0; b < nb; b++ {
		xb := x[b*qkK : b*qkK+qkK]
		qs := a.qs[b*qkK : b*qkK+qkK]
		m := absMax16(archsimd.LoadFloat32x16Slice(xb))
		for i := 16; i < qkK; i += 16 {
			m = m.Max(absMax16(archsimd.LoadFloat32x16Slice(xb[i:])))
		}
		amax := hmax16(m)
		if amax == 0 {
			a.d[b] = 0
			clear(qs)
			clear(a.bsum[b*16 : b*16+16])
			continue
		}
		// ggml keeps the sign of the first element of largest magnitude.
		var mx float32
		for _, v := range xb {
			if abs32(v) == amax {
				mx = v
				break
			}
		}
		iscale := -127 / mx
		vs := archsimd.BroadcastFloat32x16(iscale)
		top := archsimd.BroadcastFloat32x16(127)
		for g := 0; g < 16; g++ {
			q := archsimd.LoadFloat32x16Slice(xb[g*16:]).Mul(vs).RoundToEvenScaled(0).Min(top).ConvertToInt32()
			q.TruncateToInt8().StoreSlice(qs[g*16:])
			a.bsum[b*16+g] = int16(hsumI16(q))
		}
		a.d[b] = 1 / iscale
	}
}
