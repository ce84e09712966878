package kernels

import (
	"encoding/binary"

	"github.com/bayling-go/bayling/internal/tensor"
)

// Q4_0, Q8_0 and Q4_K weights can be repacked, in place, so that sixteen rows are
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
//
// Q4_K keeps its 144-byte super-blocks' size too: a group's super-block b
// (256 columns, 2304 bytes) is
//
//	[0:32)              the 16 rows' f16 d
//	[32:64)             the 16 rows' f16 dmin
//	[64+48j : 112+48j)  pair j of sub-blocks (2j, 2j+1), row i at +i:
//	                    +0: sc[2j] | mn[2j]>>4<<6, +16: the same for 2j+1,
//	                    +32: mn[2j]&15 | (mn[2j+1]&15)<<4
//	[256+512j+64c ...)  chunk c of pair j: row i's qs bytes 32j+4c..+3 at 4i
//
// so one byte load per row and sub-block gives the 6-bit scale, and the
// nibbles of a chunk are sub-block 2j's columns 4c..4c+3 (low) and 2j+1's
// (high), as in Q4_K.
const packRows = 16

// q4KGroup is the size of one packed Q4_K super-block of 16 rows.
const q4KGroup = packRows * q4KSz

// Packed reports whether m's rows are in the 16-row interleaved layout.
// Only the matrix products read such a matrix; row views of it (embedding
// lookups, dequantization) are wrong.
func (m Mat) Packed() bool { return m.packed }

// CanPack reports whether Pack would repack m with the kernels in use:
// Q4_0, Q8_0 or Q4_K weights, rows a multiple of 16, and a kernel set that
// gains from it.
func CanPack(m Mat) bool {
	return active.packedVNNI && (m.Type == tensor.Q4_0 || m.Type == tensor.Q8_0 || m.Type == tensor.Q4_K) && !m.packed && m.Rows%packRows == 0
}

// packInputs is how many inputs one packed kernel call serves: Q4_K's
// kernel keeps two integer sums per input in registers, so four.
func packInputs(t tensor.DType) int {
	if t == tensor.Q4_K {
		return 4
	}
	return 8
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
	if t == tensor.Q4_K {
		packGroupQ4_K(dst, src, rb)
		return
	}
	bs := t.BlockBytes()
	chunks, flip := 4, uint32(0)
	if t == tensor.Q8_0 {
		chunks, flip = 8, 0x80808080
	}
	for b := 0; b < rb/bs; b++ {
		out := dst[b*packRows*bs : (b+1)*packRows*bs]
		for i := 0; i < packRows; i++ {
			blk := src[i*rb+b*bs : i*rb+(b+1)*bs]
			out[2*i], out[2*i+1] = blk[0], blk[1]
			for c := 0; c < chunks; c++ {
				binary.LittleEndian.PutUint32(out[32+64*c+4*i:], binary.LittleEndian.Uint32(blk[2+4*c:])^flip)
			}
		}
	}
}

func packGroupQ4_K(dst, src []byte, rb int) {
	var sc, mn [8]uint8
	for b := 0; b < rb/q4KSz; b++ {
		out := dst[b*q4KGroup : (b+1)*q4KGroup]
		for i := 0; i < packRows; i++ {
			blk := src[i*rb+b*q4KSz : i*rb+(b+1)*q4KSz]
			out[2*i], out[2*i+1] = blk[0], blk[1]
			out[32+2*i], out[33+2*i] = blk[2], blk[3]
			scaleMinK4(blk[4:16], &sc, &mn)
			for j := 0; j < 4; j++ {
				p := out[64+48*j:]
				p[i] = sc[2*j] | mn[2*j]>>4<<6
				p[16+i] = sc[2*j+1] | mn[2*j+1]>>4<<6
				p[32+i] = mn[2*j]&15 | mn[2*j+1]&15<<4
				for c := 0; c < 8; c++ {
					binary.LittleEndian.PutUint32(out[256+512*j+64*c+4*i:], binary.LittleEndian.Uint32(blk[16+32*j+4*c:]))
				}
			}
		}
	}
}

// q4KScaleMin returns sub-block s's scale and min of row i in a packed
// Q4_K super-block.
func q4KScaleMin(blk []byte, i, s int) (sc, mn int32) {
	p := blk[64+48*(s/2):]
	b := p[16*(s%2)+i]
	return int32(b & 63), int32(b>>6)<<4 | int32(p[32+i]>>(4*(s%2))&15)
}

// q4KQuant returns column k (0..31) of sub-block s of row i in a packed
// Q4_K super-block.
func q4KQuant(blk []byte, i, s, k int) int32 {
	q := blk[256+512*(s/2)+64*(k/4)+4*i+k%4]
	return int32(q >> (4 * (s % 2)) & 15)
}

// packedGeneric is the plain-Go twin of the packed kernels:
// out[a*ostride+i] = row i of the group · input a, for na inputs whose
// activations are acts[0..na).
func packedGeneric(t tensor.DType, out []float32, ostride int, grp []byte, acts []q8Act, na, nb int) {
	if t == tensor.Q4_K {
		packedGenericQ4_K(out, ostride, grp, acts, na, nb)
		return
	}
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

func packedGenericQ4_K(out []float32, ostride int, grp []byte, acts []q8Act, na, nb int) {
	for a := 0; a < na; a++ {
		act := &acts[a]
		var sum [packRows]float32
		for b := 0; b < nb; b++ {
			blk := grp[b*q4KGroup : (b+1)*q4KGroup]
			qx := act.qs[b*qkK : (b+1)*qkK]
			bs := act.bsum[b*16 : b*16+16]
			for i := 0; i < packRows; i++ {
				var isum, msum int32
				for s := 0; s < 8; s++ {
					sc, mn := q4KScaleMin(blk, i, s)
					var dot int32
					for k := 0; k < 32; k++ {
						dot += q4KQuant(blk, i, s, k) * int32(qx[32*s+k])
					}
					isum += sc * dot
					msum += mn * (int32(bs[2*s]) + int32(bs[2*s+1]))
				}
				d := f16At(blk[2*i:], 0) * act.d[b]
				dmin := f16At(blk[32+2*i:], 0) * act.d[b]
				sum[i] += d*float32(isum) - dmin*float32(msum)
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

// rowsPacked computes rows [r0,r1) of a packed product for n inputs,
// packInputs(type) inputs at a time so each block is unpacked once per that
// many. A group cut by
// r0 or r1 is computed whole into tmp and the wanted rows copied.
func rowsPacked(ks *kernelSet, dst []float32, m Mat, n int, acts []q8Act, r0, r1 int) {
	rb, nb, step := m.rowBytes(), m.Cols/m.Type.BlockElems(), packInputs(m.Type)
	var tmp [8 * packRows]float32
	for g := r0 / packRows; g*packRows < r1; g++ {
		grp := m.Data[g*packRows*rb : (g+1)*packRows*rb]
		lo, hi := max(r0, g*packRows), min(r1, (g+1)*packRows)
		for j := 0; j < n; j += step {
			na := min(step, n-j)
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
	if m.Type == tensor.Q4_K {
		for b := 0; b < m.Cols/qkK; b++ {
			blk := grp[b*q4KGroup : (b+1)*q4KGroup]
			d, dmin := f16At(blk[2*i:], 0), f16At(blk[32+2*i:], 0)
			for s := 0; s < 8; s++ {
				sc, mn := q4KScaleMin(blk, i, s)
				d1, m1 := d*float32(sc), dmin*float32(mn)
				for k := 0; k < 32; k++ {
					dst[b*qkK+32*s+k] = d1*float32(q4KQuant(blk, i, s, k)) - m1
				}
			}
		}
		return
	}
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
