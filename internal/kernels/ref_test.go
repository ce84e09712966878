package kernels

import (
	"encoding/binary"
	"math"
	"math/rand/v2"

	"github.com/bayling-go/bayling/internal/tensor"
)

// Test helpers: random valid weight matrices and a test-local reference
// dequantizer written from ggml's dequantize_row_* (independent of the dot
// kernels, which never materialise floats).

func putF16(b []byte, f float32) { binary.LittleEndian.PutUint16(b, F32ToF16(f)) }

// randMat returns a random rows×cols matrix of type t whose scales are sane
// (random bytes elsewhere are all valid quants).
func randMat(rng *rand.Rand, t tensor.DType, rows, cols int) Mat {
	rb, err := t.RowBytes(cols)
	if err != nil {
		panic(err)
	}
	data := make([]byte, rb*rows)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	bb := t.BlockBytes()
	for off := 0; off < len(data); off += bb {
		b := data[off : off+bb]
		switch t {
		case tensor.F32:
			binary.LittleEndian.PutUint32(b, math.Float32bits(float32(rng.NormFloat64())))
		case tensor.F16:
			putF16(b, float32(rng.NormFloat64()))
		case tensor.BF16:
			binary.LittleEndian.PutUint16(b, F32ToBF16(float32(rng.NormFloat64())))
		case tensor.Q8_0, tensor.Q4_0:
			putF16(b, float32(rng.Float64()*0.02+0.001))
		case tensor.Q4_K:
			putF16(b, float32(rng.Float64()*0.01))
			putF16(b[2:], float32(rng.Float64()*0.01))
		case tensor.Q6_K:
			putF16(b[208:], float32(rng.Float64()*0.01))
		}
	}
	return Mat{Type: t, Rows: rows, Cols: cols, Data: data}
}

func randVec(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// refDequant returns row r of m as float32.
func refDequant(m Mat, r int) []float32 {
	rb := m.rowBytes()
	row := m.Data[r*rb : (r+1)*rb]
	y := make([]float32, m.Cols)
	h := func(b []byte) float32 { return F16ToF32(binary.LittleEndian.Uint16(b)) }
	switch m.Type {
	case tensor.F32:
		for i := range y {
			y[i] = math.Float32frombits(binary.LittleEndian.Uint32(row[4*i:]))
		}
	case tensor.F16:
		for i := range y {
			y[i] = h(row[2*i:])
		}
	case tensor.BF16:
		for i := range y {
			y[i] = BF16ToF32(binary.LittleEndian.Uint16(row[2*i:]))
		}
	case tensor.Q8_0:
		for b := 0; b < m.Cols/32; b++ {
			blk := row[b*34:]
			for i := 0; i < 32; i++ {
				y[b*32+i] = float32(int8(blk[2+i])) * h(blk)
			}
		}
	case tensor.Q4_0:
		for b := 0; b < m.Cols/32; b++ {
			blk := row[b*18:]
			for i := 0; i < 16; i++ {
				y[b*32+i] = float32(int(blk[2+i]&15)-8) * h(blk)
				y[b*32+i+16] = float32(int(blk[2+i]>>4)-8) * h(blk)
			}
		}
	case tensor.Q4_K:
		for b := 0; b < m.Cols/256; b++ {
			blk := row[b*144:]
			d, dmin := h(blk), h(blk[2:])
			var sc, mn [8]uint8
			scaleMinK4(blk[4:16], &sc, &mn)
			for j := 0; j < 4; j++ {
				for l := 0; l < 32; l++ {
					q := blk[16+32*j+l]
					y[b*256+64*j+l] = d*float32(sc[2*j])*float32(q&15) - dmin*float32(mn[2*j])
					y[b*256+64*j+32+l] = d*float32(sc[2*j+1])*float32(q>>4) - dmin*float32(mn[2*j+1])
				}
			}
		}
	case tensor.Q6_K:
		for b := 0; b < m.Cols/256; b++ {
			blk := row[b*210:]
			d := h(blk[208:])
			for n := 0; n < 2; n++ {
				ql, qh, sc := blk[64*n:], blk[128+32*n:], blk[192+8*n:]
				yy := y[b*256+128*n:]
				for l := 0; l < 32; l++ {
					is := l / 16
					q1 := int(ql[l]&15|(qh[l]>>0&3)<<4) - 32
					q2 := int(ql[l+32]&15|(qh[l]>>2&3)<<4) - 32
					q3 := int(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
					q4 := int(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
					yy[l] = d * float32(int8(sc[is])) * float32(q1)
					yy[l+32] = d * float32(int8(sc[is+2])) * float32(q2)
					yy[l+64] = d * float32(int8(sc[is+4])) * float32(q3)
					yy[l+96] = d * float32(int8(sc[is+6])) * float32(q4)
				}
			}
		}
	}
	return y
}

// actDequant returns the activation vector the kernel actually multiplies by:
// x itself for float weights, its Q8_0/Q8_K quantization otherwise.
func actDequant(t tensor.DType, x []float32) []float32 {
	blk := actBlock(t)
	if blk == 0 {
		return x
	}
	var s scratch
	m := Mat{Type: t, Rows: 1, Cols: len(x)}
	s.reserve(m, 1)
	s.quantRange(m, x, 0, 1)
	a := &s.acts[0]
	y := make([]float32, len(x))
	for i := range y {
		y[i] = float32(a.qs[i]) * a.d[i/blk]
	}
	return y
}
