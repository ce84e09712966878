//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"unsafe"

	"github.com/bayling-go/bayling/internal/tensor"
)

// AVX2+FMA kernels (256-bit). The quantized dot products use the classic
// x86 int8 path: vpmaddubsw (unsigned×signed bytes -> int16 pairs) then
// vpmaddwd (-> int32), exact within a block, scaled in float32 per block.

var avx2Set = kernelSet{
	name:    "avx2+fma (q8_0,q4_0,q4_k,q6_k,f16,bf16,f32)",
	rows:    rowsAVX2,
	dot:     dotAVX2,
	axpy:    axpyAVX2,
	dotF16:  dotF16sAVX2,
	axpyF16: axpyF16AVX2,
	rmsNorm: rmsNormAVX2,
	softmax: softmaxAVX2,
	siluMul: siluMulAVX2,
	q8_0:    quantizeQ8_0,
	q8_K:    quantizeQ8_K,
}

func rowsAVX2(dst []float32, m Mat, x []float32, n int, acts []q8Act, r0, r1 int) {
	rb := m.rowBytes()
	for t0 := r0; t0 < r1; t0 += rowTile {
		t1 := min(t0+rowTile, r1)
		for j := 0; j < n; j++ {
			rowsAVX2Span(dst, m, x, j, acts, t0, t1, rb)
		}
	}
}

func rowsAVX2Span(dst []float32, m Mat, x []float32, j int, acts []q8Act, r0, r1, rb int) {
	xj := x[j*m.Cols : (j+1)*m.Cols]
	for r := r0; r < r1; r++ {
		row := m.Data[r*rb : (r+1)*rb]
		var v float32
		switch m.Type {
		case tensor.F32:
			v = dotAVX2(bytesF32(row), xj)
		case tensor.F16:
			v = dotF16sAVX2(xj, bytesU16(row))
		case tensor.BF16:
			v = dotBF16AVX2(xj, bytesU16(row))
		case tensor.Q8_0:
			v = dotQ8_0AVX2(row, &acts[j], m.Cols/qk8)
		case tensor.Q4_0:
			v = dotQ4_0AVX2(row, &acts[j], m.Cols/qk8)
		case tensor.Q4_K:
			v = dotQ4_KAVX2(row, &acts[j], m.Cols/qkK)
		case tensor.Q6_K:
			v = dotQ6_KAVX2(row, &acts[j], m.Cols/qkK)
		default:
			panic("kernels: unsupported type " + m.Type.String())
		}
		dst[j*m.Rows+r] = v
	}
}

// bytesF32 and bytesU16 view little-endian weight bytes as their element type
// (amd64 allows unaligned loads).
func bytesF32(b []byte) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

func bytesU16(b []byte) []uint16 {
	return unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/2)
}

func hsum8(v archsimd.Float32x8) float32 {
	s := v.GetLo().Add(v.GetHi())
	s = s.AddPairs(s)
	s = s.AddPairs(s)
	return s.GetElem(0)
}

func dotAVX2(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3 archsimd.Float32x8
	i := 0
	for ; i+32 <= n; i += 32 {
		s0 = archsimd.LoadFloat32x8Slice(a[i:]).MulAdd(archsimd.LoadFloat32x8Slice(b[i:]), s0)
		s1 = archsimd.LoadFloat32x8Slice(a[i+8:]).MulAdd(archsimd.LoadFloat32x8Slice(b[i+8:]), s1)
		s2 = archsimd.LoadFloat32x8Slice(a[i+16:]).MulAdd(archsimd.LoadFloat32x8Slice(b[i+16:]), s2)
		s3 = archsimd.LoadFloat32x8Slice(a[i+24:]).MulAdd(archsimd.LoadFloat32x8Slice(b[i+24:]), s3)
	}
	for ; i+8 <= n; i += 8 {
		s0 = archsimd.LoadFloat32x8Slice(a[i:]).MulAdd(archsimd.LoadFloat32x8Slice(b[i:]), s0)
	}
	s := hsum8(s0.Add(s1).Add(s2.Add(s3)))
	// Scalar tail: archsimd's masked SlicePart loads trip -race's checkptr on
	// slices shorter than a vector.
	for ; i < n; i++ {
		s += a[i] * b[i]
	}
	return s
}

func axpyAVX2(y []float32, a float32, x []float32) {
	n := len(y)
	x = x[:n]
	va := archsimd.BroadcastFloat32x8(a)
	i := 0
	for ; i+8 <= n; i += 8 {
		va.MulAdd(archsimd.LoadFloat32x8Slice(x[i:]), archsimd.LoadFloat32x8Slice(y[i:])).StoreSlice(y[i:])
	}
	for ; i < n; i++ {
		y[i] += a * x[i]
	}
}

// halfToF32x8 widens 8 halves exactly for finite values: the magnitude bits
// moved into float32 position, rescaled by 2^112, sign OR'ed back. (F16C's
// vcvtph2ps is not exposed by archsimd.) Inf/NaN halves come out as large
// finite numbers; model weights and KV caches never hold them.
func halfToF32x8(h archsimd.Uint16x8) archsimd.Float32x8 {
	u := h.ExtendToUint32()
	mag := u.And(archsimd.BroadcastUint32x8(0x7fff)).ShiftAllLeft(13).AsFloat32x8().Mul(archsimd.BroadcastFloat32x8(0x1p112))
	return mag.AsUint32x8().Or(u.And(archsimd.BroadcastUint32x8(0x8000)).ShiftAllLeft(16)).AsFloat32x8()
}

func dotF16sAVX2(a []float32, h []uint16) float32 {
	n := len(a)
	h = h[:n]
	var s0, s1 archsimd.Float32x8
	i := 0
	for ; i+16 <= n; i += 16 {
		s0 = halfToF32x8(archsimd.LoadUint16x8Slice(h[i:])).MulAdd(archsimd.LoadFloat32x8Slice(a[i:]), s0)
		s1 = halfToF32x8(archsimd.LoadUint16x8Slice(h[i+8:])).MulAdd(archsimd.LoadFloat32x8Slice(a[i+8:]), s1)
	}
	s := hsum8(s0.Add(s1))
	for ; i < n; i++ {
		s += a[i] * F16ToF32(h[i])
	}
	return s
}

func axpyF16AVX2(y []float32, a float32, h []uint16) {
	n := len(y)
	h = h[:n]
	va := archsimd.BroadcastFloat32x8(a)
	i := 0
	for ; i+8 <= n; i += 8 {
		va.MulAdd(halfToF32x8(archsimd.LoadUint16x8Slice(h[i:])), archsimd.LoadFloat32x8Slice(y[i:])).StoreSlice(y[i:])
	}
	for ; i < n; i++ {
		y[i] += a * F16ToF32(h[i])
	}
}

func dotBF16AVX2(a []float32, h []uint16) float32 {
	n := len(a)
	h = h[:n]
	var s0, s1 archsimd.Float32x8
	i := 0
	for ; i+16 <= n; i += 16 {
		w0 := archsimd.LoadUint16x8Slice(h[i:]).ExtendToUint32().ShiftAllLeft(16).AsFloat32x8()
		w1 := archsimd.LoadUint16x8Slice(h[i+8:]).ExtendToUint32().ShiftAllLeft(16).AsFloat32x8()
		s0 = w0.MulAdd(archsimd.LoadFloat32x8Slice(a[i:]), s0)
		s1 = w1.MulAdd(archsimd.LoadFloat32x8Slice(a[i+8:]), s1)
	}
	s := hsum8(s0.Add(s1))
	for ; i < n; i++ {
		s += a[i] * BF16ToF32(h[i])
	}
	return s
}

func dotQ8_0AVX2(row []byte, a *q8Act, nb int) float32 {
	row = row[:nb*q80Sz]
	qs := a.qs[:nb*qk8]
	ds := a.d[:nb]
	ones := archsimd.BroadcastInt16x16(1)
	var acc archsimd.Float32x8
	for b := 0; b < nb; b++ {
		blk := row[b*q80Sz : b*q80Sz+q80Sz]
		w := archsimd.LoadUint8x32Slice(blk[2:]).AsInt8x32()
		x := archsimd.LoadInt8x32Slice(qs[b*qk8:])
		// |w| × (x·sign w) keeps vpmaddubsw's unsigned operand non-negative.
		p := w.Abs().AsUint8x32().DotProductPairsSaturated(x.CopySign(w)).DotProductPairs(ones)
		acc = p.ConvertToFloat32().MulAdd(archsimd.BroadcastFloat32x8(f16At(blk, 0)*ds[b]), acc)
	}
	return hsum8(acc)
}

func dotQ4_0AVX2(row []byte, a *q8Act, nb int) float32 {
	row = row[:nb*q40Sz]
	qs := a.qs[:nb*qk8]
	ds, sums := a.d[:nb], a.sums[:nb]
	ones := archsimd.BroadcastInt16x16(1)
	low := archsimd.BroadcastUint8x16(0x0f)
	var acc archsimd.Float32x8
	var corr float32
	for b := 0; b < nb; b++ {
		blk := row[b*q40Sz : b*q40Sz+q40Sz]
		q := archsimd.LoadUint8x16Slice(blk[2:])
		w := archsimd.Uint8x32{}.SetLo(q.And(low)).SetHi(q.AsUint16x8().ShiftAllRight(4).AsUint8x16().And(low))
		x := archsimd.LoadInt8x32Slice(qs[b*qk8:])
		// Nibbles are 0..15 here; the -8 offset is applied below through the
		// activation block sums: Σ(q-8)x = Σqx - 8Σx.
		p := w.DotProductPairsSaturated(x).DotProductPairs(ones)
		d := f16At(blk, 0) * ds[b]
		acc = p.ConvertToFloat32().MulAdd(archsimd.BroadcastFloat32x8(d), acc)
		corr += d * float32(sums[b])
	}
	return hsum8(acc) - 8*corr
}

func dotQ4_KAVX2(row []byte, a *q8Act, nb int) float32 {
	row = row[:nb*q4KSz]
	low := archsimd.BroadcastUint8x32(0x0f)
	var acc archsimd.Float32x8
	var mins float32
	var sc, mn [8]uint8
	for b := 0; b < nb; b++ {
		blk := row[b*q4KSz : b*q4KSz+q4KSz]
		scaleMinK4(blk[4:16], &sc, &mn)
		qx := a.qs[b*qkK : b*qkK+qkK]
		bs := a.bsum[b*16 : b*16+16]
		var isum archsimd.Int32x8
		for j := 0; j < 4; j++ {
			q := archsimd.LoadUint8x32Slice(blk[16+32*j:])
			lo := q.And(low)
			hi := q.AsUint16x16().ShiftAllRight(4).AsUint8x32().And(low)
			plo := lo.DotProductPairsSaturated(archsimd.LoadInt8x32Slice(qx[64*j:]))
			phi := hi.DotProductPairsSaturated(archsimd.LoadInt8x32Slice(qx[64*j+32:]))
			// vpmaddwd against the broadcast sub-block scale sums pairs and scales at once.
			isum = isum.Add(plo.DotProductPairs(archsimd.BroadcastInt16x16(int16(sc[2*j]))))
			isum = isum.Add(phi.DotProductPairs(archsimd.BroadcastInt16x16(int16(sc[2*j+1]))))
		}
		var msum int32
		for k := 0; k < 8; k++ {
			msum += int32(mn[k]) * (int32(bs[2*k]) + int32(bs[2*k+1]))
		}
		d := f16At(blk, 0) * a.d[b]
		acc = isum.ConvertToFloat32().MulAdd(archsimd.BroadcastFloat32x8(d), acc)
		mins += f16At(blk, 2) * a.d[b] * float32(msum)
	}
	return hsum8(acc) - mins
}

func dotQ6_KAVX2(row []byte, a *q8Act, nb int) float32 {
	row = row[:nb*q6KSz]
	low := archsimd.BroadcastUint8x32(0x0f)
	three := archsimd.BroadcastUint8x32(3)
	var acc archsimd.Float32x8
	var corr float32
	for b := 0; b < nb; b++ {
		blk := row[b*q6KSz : b*q6KSz+q6KSz]
		qx := a.qs[b*qkK : b*qkK+qkK]
		bs := a.bsum[b*16 : b*16+16]
		sc := blk[192:208]
		var isum archsimd.Int32x8
		for n := 0; n < 2; n++ {
			l0 := archsimd.LoadUint8x32Slice(blk[64*n:])
			l1 := archsimd.LoadUint8x32Slice(blk[64*n+32:])
			h := archsimd.LoadUint8x32Slice(blk[128+32*n:])
			hu := h.AsUint16x16()
			q1 := l0.And(low).Or(h.And(three).AsUint16x16().ShiftAllLeft(4).AsUint8x32())
			q2 := l1.And(low).Or(hu.ShiftAllLeft(2).AsUint8x32().And(three.AsUint16x16().ShiftAllLeft(4).AsUint8x32()))
			q3 := l0.AsUint16x16().ShiftAllRight(4).AsUint8x32().And(low).Or(h.And(three.AsUint16x16().ShiftAllLeft(4).AsUint8x32()))
			q4 := l1.AsUint16x16().ShiftAllRight(4).AsUint8x32().And(low).Or(hu.ShiftAllRight(2).AsUint8x32().And(three.AsUint16x16().ShiftAllLeft(4).AsUint8x32()))
			s := sc[8*n:]
			x := qx[128*n:]
			isum = isum.Add(q1.DotProductPairsSaturated(archsimd.LoadInt8x32Slice(x)).DotProductPairs(scalePair(s[0], s[1])))
			isum = isum.Add(q2.DotProductPairsSaturated(archsimd.LoadInt8x32Slice(x[32:])).DotProductPairs(scalePair(s[2], s[3])))
			isum = isum.Add(q3.DotProductPairsSaturated(archsimd.LoadInt8x32Slice(x[64:])).DotProductPairs(scalePair(s[4], s[5])))
			isum = isum.Add(q4.DotProductPairsSaturated(archsimd.LoadInt8x32Slice(x[96:])).DotProductPairs(scalePair(s[6], s[7])))
		}
		// Quants were taken as 0..63; remove the -32 offset: 32·Σ sc_g·bsum_g.
		var off int32
		for g := 0; g < 16; g++ {
			off += int32(int8(sc[g])) * int32(bs[g])
		}
		d := f16At(blk, 208) * a.d[b]
		acc = isum.ConvertToFloat32().MulAdd(archsimd.BroadcastFloat32x8(d), acc)
		corr += d * float32(off)
	}
	return hsum8(acc) - 32*corr
}

// scalePair is an int16 vector whose low 8 lanes are a and high 8 lanes b:
// the scales of the two 16-element groups in a 32-byte maddubs result.
func scalePair(a, b byte) archsimd.Int16x16 {
	return archsimd.Int16x16{}.SetLo(archsimd.BroadcastInt16x8(int16(int8(a)))).SetHi(archsimd.BroadcastInt16x8(int16(int8(b))))
}
