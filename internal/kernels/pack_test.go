package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bayling-go/bayling/internal/tensor"
)

// packedCopy returns a packed copy of m (m itself stays row-major), packing
// even when the active set would not.
func packedCopy(t *testing.T, m Mat) Mat {
	t.Helper()
	p := m
	p.Data = append([]byte(nil), m.Data...)
	defer func(v bool) { active.packedVNNI = v }(active.packedVNNI)
	active.packedVNNI = true // CanPack asks the active set
	if err := Pack(&p); err != nil {
		t.Fatal(err)
	}
	if !p.Packed() {
		t.Fatal("not packed")
	}
	return p
}

var packTypes = []tensor.DType{tensor.Q4_0, tensor.Q8_0, tensor.Q4_K}

// absDot returns Σ|w·x| per output of m times the n inputs in x, with x
// quantized as the kernels see it: float rounding of a product scales with
// it (Q4_K's d·Σ and dmin·Σ terms and random Q6_K scales cancel a lot).
func absDot(m Mat, x []float32, n int) []float64 {
	w := make([][]float32, m.Rows)
	for r := range w {
		w[r] = refDequant(m, r)
	}
	scale := make([]float64, n*m.Rows)
	for j := 0; j < n; j++ {
		xq := actDequant(m.Type, x[j*m.Cols:(j+1)*m.Cols])
		for r := range w {
			for i, v := range w[r] {
				scale[j*m.Rows+r] += math.Abs(float64(v) * float64(xq[i]))
			}
		}
	}
	return scale
}

// closeTo reports whether got matches want to float rounding of a product
// whose Σ|w·x| is scale.
func closeTo(got, want float32, scale float64) bool {
	return math.Abs(float64(got-want)) <= 2e-6*scale+1e-6
}

// TestPackedMatchesRowMajor checks the packed product of every kernel set
// (the plain-Go twin and the VNNI kernels) against the row-major plain-Go
// product, for input counts around the kernels' four and eight and row
// ranges that cut a 16-row group. The bound is float rounding relative to
// Σ|w·x| (Q4_K's d·Σ and dmin·Σ terms cancel).
func TestPackedMatchesRowMajor(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, typ := range packTypes {
		for _, sh := range [][2]int{{16, 32}, {48, 256}, {64, 2048}} {
			rows, cols := sh[0], sh[1]
			if cols%typ.BlockElems() != 0 {
				continue
			}
			m := randMat(rng, typ, rows, cols)
			pm := packedCopy(t, m)
			for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 9, 16, 19} {
				x := randVec(rng, n*cols)
				var s scratch
				s.prepare(m, x, n)
				want := make([]float32, n*rows)
				generic.rows(want, m, x, n, s.acts, 0, rows)
				scale := absDot(m, x, n)
				for _, ks := range sets() {
					for _, rr := range [][2]int{{0, rows}, {5, rows - 3}, {rows - 1, rows}} {
						got := make([]float32, n*rows)
						ks.matRows(got, pm, x, n, s.acts, rr[0], rr[1])
						for j := 0; j < n; j++ {
							for r := 0; r < rows; r++ {
								i := j*rows + r
								g, w := got[i], want[i]
								if r < rr[0] || r >= rr[1] {
									w = 0 // outside the range: untouched
								}
								if !closeTo(g, w, scale[i]) {
									t.Fatalf("%s %v %dx%d n=%d rows [%d,%d): out[%d][%d]=%g row-major %g (|w·x|=%g)", ks.name, typ, rows, cols, n, rr[0], rr[1], j, r, g, w, scale[i])
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestPackPool runs packed matrices through the pool (1-3 threads) and
// MatVecs, against the row-major product.
func TestPackPool(t *testing.T) {
	for _, typ := range packTypes {
		testPackPool(t, typ)
	}
}

func testPackPool(t *testing.T, typ tensor.DType) {
	rng := rand.New(rand.NewPCG(13, 14))
	m := randMat(rng, typ, 96, 512)
	pm := packedCopy(t, m)
	other := randMat(rng, tensor.Q8_0, 40, 512) // 40 rows shift pm off group boundaries in MatVecs
	for _, threads := range []int{1, 2, 3} {
		p := NewPool(threads)
		for _, n := range []int{1, 8, 13} {
			x := randVec(rng, n*512)
			want, got := make([]float32, n*96), make([]float32, n*96)
			MatMul(want, m, x, n)
			p.MatMul(got, pm, x, n)
			scale := absDot(m, x, n)
			for i := range got {
				if !closeTo(got[i], want[i], scale[i]) {
					t.Fatalf("threads=%d n=%d: out[%d]=%g row-major %g", threads, n, i, got[i], want[i])
				}
			}
		}
		x := randVec(rng, 512)
		want, got, o := make([]float32, 96), make([]float32, 96), make([]float32, 40)
		MatVec(want, m, x)
		p.MatVecs(x, []Out{{Dst: o, M: other}, {Dst: got, M: pm}})
		scale := absDot(m, x, 1)
		for i := range got {
			if !closeTo(got[i], want[i], scale[i]) {
				t.Fatalf("MatVecs threads=%d: out[%d]=%g row-major %g", threads, i, got[i], want[i])
			}
		}
		p.Close()
	}
}

func TestPackSkips(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, m := range []Mat{randMat(rng, tensor.Q4_0, 17, 64), randMat(rng, tensor.Q8_0, 33, 64), randMat(rng, tensor.Q6_K, 32, 256), randMat(rng, tensor.Q4_K, 40, 256), randMat(rng, tensor.F16, 32, 64)} {
		before := append([]byte(nil), m.Data...)
		if err := Pack(&m); err != nil {
			t.Fatal(err)
		}
		if m.Packed() || string(before) != string(m.Data) {
			t.Errorf("%v %dx%d was packed", m.Type, m.Rows, m.Cols)
		}
	}
	if active.packedVNNI {
		m := randMat(rng, tensor.Q4_0, 32, 64)
		if !CanPack(m) {
			t.Error("active set has the packed kernel but CanPack is false")
		}
		Pack(&m)
		if CanPack(m) {
			t.Error("a packed matrix can be packed again")
		}
	}
}

func TestPackedZeroAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	p := NewPool(2)
	defer p.Close()
	for _, typ := range packTypes {
		pm := packedCopy(t, randMat(rng, typ, 256, 1024))
		x := randVec(rng, 8*1024)
		dst := make([]float32, 8*256)
		for _, n := range []int{1, 8} {
			if a := testing.AllocsPerRun(20, func() { p.MatMul(dst, pm, x, n) }); a != 0 {
				t.Errorf("packed %v Pool.MatMul n=%d: %v allocs per call", typ, n, a)
			}
		}
	}
}

// BenchmarkPacked compares row-major and packed products for the input
// counts of decode (1), batched serving (8) and prefill (64).
func BenchmarkPacked(b *testing.B) {
	for _, typ := range packTypes {
		benchPacked(b, typ)
	}
}

func benchPacked(b *testing.B, typ tensor.DType) {
	rng := rand.New(rand.NewPCG(19, 20))
	const rows, cols = 4096, 4096
	m := fastRandMat(rng, typ, rows, cols)
	pm := m
	pm.Data = append([]byte(nil), m.Data...)
	if err := Pack(&pm); err != nil || !pm.Packed() {
		b.Skip("the active kernel set does not pack")
	}
	for _, n := range []int{1, 8, 64} {
		x := randVec(rng, n*cols)
		dst := make([]float32, n*rows)
		for _, c := range []struct {
			name string
			m    Mat
		}{{"rowmajor", m}, {"packed", pm}} {
			b.Run(fmt.Sprintf("%v/n%d/%s/t1", typ, n, c.name), func(b *testing.B) {
				p := NewPool(1)
				defer p.Close()
				c0 := cpuTime()
				for b.Loop() {
					p.MatMul(dst, c.m, x, n)
				}
				flops := 2 * float64(rows*cols*n) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				if cpu := cpuTime() - c0; cpu > 0 {
					b.ReportMetric(flops/cpu.Seconds()/1e9, "cpuGFLOP/s")
				}
			})
		}
	}
}

// TestPackedRow checks row lookups in a packed table against dequantizing
// the row-major row.
func TestPackedRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, typ := range packTypes {
		cols := max(96, typ.BlockElems())
		m := randMat(rng, typ, 48, cols)
		pm := packedCopy(t, m)
		got := make([]float32, cols)
		for r := 0; r < 48; r++ {
			want := refDequant(m, r)
			PackedRow(got, pm, r)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%v row %d col %d: %g, row-major %g", typ, r, i, got[i], want[i])
				}
			}
		}
	}
}

// BenchmarkPackedCold is decode from memory: n=1 over enough packed copies
// (>= 256 MB) that every call streams its matrix from DRAM. MB/s is the
// weight streaming rate, to compare with the machine's bandwidth.
func BenchmarkPackedCold(b *testing.B) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, typ := range packTypes {
		m := fastRandMat(rng, typ, 4096, 4096)
		var mats []Mat
		for range max(1, (256<<20)/len(m.Data)) {
			c := m
			c.Data = append([]byte(nil), m.Data...)
			if err := Pack(&c); err != nil || !c.Packed() {
				b.Skip("the active kernel set does not pack")
			}
			mats = append(mats, c)
		}
		x := randVec(rng, 4096)
		dst := make([]float32, 4096)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%v/t%d", typ, threads), func(b *testing.B) {
				p := NewPool(threads)
				defer p.Close()
				b.SetBytes(int64(len(m.Data)))
				for i := 0; b.Loop(); i++ {
					p.MatVec(dst, mats[i%len(mats)], x)
				}
			})
		}
	}
}

// BenchmarkPack is the load-time cost of repacking (MB/s of weights). Each
// iteration repacks the same bytes again, which is the same work.
func BenchmarkPack(b *testing.B) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, typ := range packTypes {
		m := fastRandMat(rng, typ, 4096, 4096)
		b.Run(typ.String(), func(b *testing.B) {
			if !CanPack(m) {
				b.Skip("the active kernel set does not pack")
			}
			b.SetBytes(int64(len(m.Data)))
			for b.Loop() {
				c := m // m itself stays unpacked, so every round packs
				if err := Pack(&c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
