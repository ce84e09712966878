package kernels

import (
	"github.com/bayling-go/bayling/internal/tensor"
)

// Q4_0 and Q8_0 weights can be repacked, in place, so that sixteen rows are
// read together: llama.cpp does the same at load (its q4_0_8x8 layout). The
// row-major layout makes a many-input product unpack every weight block once
// per input; the packed one puts the same four bytes of sixteen rows side by
// side, so one 512-bit vpdpbusd advances sixteen row·input dots at once and
// a block is unpacked once for up to eight inputs.
//
// A packed group of 16 rows holds, for each block b of 32 columns, 16 times
// the row-major block size (so the matrix keeps its size):
//
//	[0:32)             the 16 rows' f16 scales
//	[32+64c : 96+64c)  chunk c: row i's quant bytes 4c..4c+3 at 4i
//
// Q4_0 has chunks 0..3; a byte's low nibble is column 4c+e, its high nibble
// column 16+4c+e, as in Q4_0. Q8_0 has chunks 0..7, each byte stored as
// w+128 (XOR 0x80) because vpdpbusd multiplies unsigned by signed bytes;
// the kernel takes 128·Σx back off.
const packRows = 16

// Packed reports whether m's rows are in the 16-row interleaved layout.
// Only the matrix products read such a matrix; row views of it (embedding
// lookups, dequantization) are wrong.
func (m Mat) Packed() bool { return m.packed }

// CanPack reports whether Pack would repack m with the kernels in use:
// Q4_0 or Q8_0 weights, rows a multiple of 16, and a kernel set that gains
// from it.
func CanPack(m Mat) bool {
	return active.packedVNNI && (m.Type == tensor.Q4_0 || m.Type == tensor.Q8_0) && !m.packed && m.Rows%packRows == 0
}

// Pack rewrites m.Data in place into the packed layout and marks m packed.
// The bytes must be writable (heap, or a private file mapping) and must not
// be read as row-major blocks afterwards. It does nothing when CanPack(*m)
// is false.
func Pack(m *Mat) error {
	if !CanPack(*m) {
		return nil
	}
	if err := m.Validate(); err != nil {
		return err
	}
	rb := m.rowBytes()
	tmp := make([]byte, packRows*rb)
	for g := 0; g < m.Rows/packRows; g++ {
		grp := m.Data[g*packRows*rb : (g+1)*packRows*rb]
		copy(tmp, grp)
		packGroup(m.Type, grp, tmp, rb)
	}
	m.packed = true
	return nil
}

// packGroup writes the 16 row-major rows in src (rb bytes each) to dst in
// the packed layout.
func packGroup(t tensor.DType, dst, src []byte, rb int) {
	bs := t.BlockBytes()
	chunks, flip := 4, byte(0)
	if t == tensor.Q8_0 {
		chunks, flip = 8, 0x80
	}
	for b := 0; b < rb/bs; b++ {
		out := dst[b*packRows*bs : (b+1)*packRows*bs]
		for i := 0; i < packRows; i++ {
			blk := src[i*rb+b*bs : i*rb+(b+1)*bs]
			out[2*i], out[2*i+1] = blk[0], blk[1]
			for c := 0; c < chunks; c++ {
				for e := 0; e < 4; e++ {
					out[32+64*c+4*i+e] = blk[2+4*c+e] ^ flip
				}
			}
		}
	}
}

// packedGeneric is the plain-Go twin of the packed kernels:
// out[a*ostride+i] = row i of the group · input a, for na inputs whose
// activations are acts[0..na).
func packedGeneric(t tensor.DType, out []float32, ostride int, grp []byte, acts []q8Act, na, nb int) {
	bs := packRows * t.BlockBytes()
	for a := 0; a < na; a++ {
		act := &acts[a]
		var sum [packRows]float32
		for b := 0; b < nb; b++ {
			blk := grp[b*bs : (b+1)*bs]
			qx := act.qs[b*qk8 : (b+1)*qk8]
			for i := 0; i < packRows; i++ {
				var s int32
				if t == tensor.Q8_0 {
					s = dotPackedQ8_0(blk, qx, i)
				} else {
					s = dotPackedQ4_0(blk, qx, i)
				}
				sum[i] += float32(s) * (f16At(blk[2*i:], 0) * act.d[b])
			}
		}
		copy(out[a*ostride:a*ostride+packRows], sum[:])
	}
}

func dotPackedQ4_0(blk []byte, qx []int8, i int) int32 {
	var s int32
	for c := 0; c < 4; c++ {
		for e := 0; e < 4; e++ {
			q := blk[32+64*c+4*i+e]
			s += (int32(q&0xf)-8)*int32(qx[4*c+e]) + (int32(q>>4)-8)*int32(qx[16+4*c+e])
		}
	}
	return s
}

func dotPackedQ8_0(blk []byte, qx []int8, i int) int32 {
	var s int32
	for c := 0; c < 8; c++ {
		for e := 0; e < 4; e++ {
			s += int32(int8(blk[32+64*c+4*i+e]^0x80)) * int32(qx[4*c+e])
		}
	}
	return s
}

// rowsPacked computes rows [r0,r1) of a packed product for n inputs, eight
// inputs at a time so each block is unpacked once per eight. A group cut by
// r0 or r1 is computed whole into tmp and the wanted rows copied.
func rowsPacked(ks *kernelSet, dst []float32, m Mat, n int, acts []q8Act, r0, r1 int) {
	rb, nb := m.rowBytes(), m.Cols/qk8
	var tmp [8 * packRows]float32
	for g := r0 / packRows; g*packRows < r1; g++ {
		grp := m.Data[g*packRows*rb : (g+1)*packRows*rb]
		lo, hi := max(r0, g*packRows), min(r1, (g+1)*packRows)
		for j := 0; j < n; j += 8 {
			na := min(8, n-j)
			if lo == g*packRows && hi == (g+1)*packRows {
				ks.packedRun(m.Type, dst[j*m.Rows+lo:], m.Rows, grp, acts[j:j+na], na, nb)
				continue
			}
			ks.packedRun(m.Type, tmp[:], packRows, grp, acts[j:j+na], na, nb)
			for a := 0; a < na; a++ {
				copy(dst[(j+a)*m.Rows+lo:(j+a)*m.Rows+hi], tmp[a*packRows+lo-g*packRows:a*packRows+hi-g*packRows])
			}
		}
	}
}

// packedRun calls the set's packed kernel; the calls are static so that the
// caller's stack buffer does not escape.
func (ks *kernelSet) packedRun(t tensor.DType, out []float32, ostride int, grp []byte, acts []q8Act, na, nb int) {
	if ks.packedVNNI {
		packedAVX512(t, out, ostride, grp, acts, na, nb)
		return
	}
	packedGeneric(t, out, ostride, grp, acts, na, nb)
}

// PackedRow writes row r of a packed matrix to dst as float32, exactly as
// dequantizing the row-major row would (embedding lookups in a tied table).
func PackedRow(dst []float32, m Mat, r int) {
	if !m.packed {
		panic("kernels: PackedRow of a row-major matrix")
	}
	bs := m.Type.BlockBytes()
	g, i := r/packRows, r%packRows
	grp := m.Data[g*packRows*m.rowBytes() : (g+1)*packRows*m.rowBytes()]
	dst = dst[:m.Cols]
	for b := 0; b < m.Cols/qk8; b++ {
		blk := grp[b*packRows*bs : (b+1)*packRows*bs]
		d := f16At(blk[2*i:], 0)
		out := dst[b*qk8 : (b+1)*qk8]
		for c := 0; c < 4; c++ {
			for e := 0; e < 4; e++ {
				if m.Type == tensor.Q8_0 {
					out[4*c+e] = d * float32(int8(blk[32+64*c+4*i+e]^0x80))
					out[16+4*c+e] = d * float32(int8(blk[32+64*(c+4)+4*i+e]^0x80))
					continue
				}
				q := blk[32+64*c+4*i+e]
				out[4*c+e] = d * float32(int32(q&0xf)-8)
				out[16+4*c+e] = d * float32(int32(q>>4)-8)
			}
		}
	}
}
