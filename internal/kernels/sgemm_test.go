package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveGemm is the triple loop in float64: c (=|+=) op(a)·op(b).
func naiveGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, acc bool, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			if acc {
				s = float64(c[i*ldc+j])
			}
			for p := 0; p < k; p++ {
				ai, bi := i*lda+p, p*ldb+j
				if transA {
					ai = p*lda + i
				}
				if transB {
					bi = j*ldb + p
				}
				av, bv := a[ai], b[bi]
				s += float64(av) * float64(bv)
			}
			c[i*ldc+j] = float32(s)
		}
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

type gemmCase struct {
	transA, transB, acc bool
	m, n, k, pad        int
}

func gemmCases() []gemmCase {
	var cs []gemmCase
	for _, sh := range [][3]int{{1, 1, 1}, {12, 32, 16}, {13, 33, 17}, {5, 7, 300}, {130, 70, 520}, {250, 600, 48}, {37, 1030, 9}, {2100, 40, 30}, {11, 31, 0}} {
		for f := 0; f < 8; f++ {
			cs = append(cs, gemmCase{f&1 != 0, f&2 != 0, f&4 != 0, sh[0], sh[1], sh[2], f % 3})
		}
	}
	return cs
}

// operands builds a, b, c for case g with row strides padded by g.pad.
func (g gemmCase) operands(r *rand.Rand) (a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	ar, ac := g.m, g.k
	if g.transA {
		ar, ac = g.k, g.m
	}
	br, bc := g.k, g.n
	if g.transB {
		br, bc = g.n, g.k
	}
	lda, ldb, ldc = ac+g.pad, bc+g.pad, g.n+g.pad
	return randSlice(r, max(ar*lda, 1)), lda, randSlice(r, max(br*ldb, 1)), ldb, randSlice(r, g.m*ldc), ldc
}

func TestSgemmMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pool := NewPool(3)
	defer pool.Close()
	g := NewF32Gemm(pool)
	for _, tc := range gemmCases() {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			a, lda, b, ldb, c, ldc := tc.operands(r)
			want := append([]float32(nil), c...)
			naiveGemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, a, lda, b, ldb, tc.acc, want, ldc)
			got := append([]float32(nil), c...)
			Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, a, lda, b, ldb, tc.acc, got, ldc)
			tol := 1e-5 * float64(tc.k+1)
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > tol {
					t.Fatalf("c[%d] = %v, want %v (row %d col %d)", i, got[i], want[i], i/ldc, i%ldc)
				}
			}
			// Pool-split runs are bit-identical to the serial one.
			par := append([]float32(nil), c...)
			g.Mul(tc.transA, tc.transB, tc.m, tc.n, tc.k, a, lda, b, ldb, tc.acc, par, ldc)
			for i := range got {
				if math.Float32bits(par[i]) != math.Float32bits(got[i]) {
					t.Fatalf("pooled c[%d] = %v, serial %v", i, par[i], got[i])
				}
			}
		})
	}
}

// TestSgemmMicroTwin compares the active micro-kernel with the plain-Go one.
func TestSgemmMicroTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, k := range []int{1, 2, 7, 256} {
		for _, load := range []bool{false, true} {
			a, b := randSlice(r, 15*k+33), randSlice(r, k*sgemmNR)
			rs, ps := k+3, 1 // rows of A in place
			if load {
				rs, ps = 1, sgemmMR+3 // A transposed
			}
			ldc := sgemmNR + 5
			c := randSlice(r, sgemmMR*ldc)
			want := append([]float32(nil), c...)
			sgemmMicroGo(k, a, rs, ps, b, sgemmNR, want, ldc, load)
			sgemmMicro(k, a, rs, ps, b, sgemmNR, c, ldc, load)
			for i := range c {
				if math.Abs(float64(c[i]-want[i])) > 1e-5*float64(k) {
					t.Fatalf("k=%d load=%v: c[%d] = %v, plain Go %v", k, load, i, c[i], want[i])
				}
			}
		}
	}
}

func TestSgemmNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	r := rand.New(rand.NewPCG(5, 6))
	pool := NewPool(2)
	defer pool.Close()
	g := NewF32Gemm(pool)
	a, b, c := randSlice(r, 200*300), randSlice(r, 300*100), randSlice(r, 200*100)
	run := func() {
		Sgemm(false, true, 200, 100, 300, a, 300, b, 300, false, c, 100)
		g.Mul(true, false, 100, 100, 200, a, 300, b, 100, true, c, 100)
	}
	run()
	if n := testing.AllocsPerRun(10, run); n != 0 {
		t.Fatalf("%v allocations per run", n)
	}
}

func TestSgemmShortSlicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a short C")
		}
	}()
	Sgemm(false, false, 4, 4, 4, make([]float32, 16), 4, make([]float32, 16), 4, false, make([]float32, 15), 4)
}

func BenchmarkSgemm(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, sh := range []struct {
		name    string
		ta, tb  bool
		m, n, k int
	}{
		{"NT-2048x768x288", false, true, 2048, 768, 288},
		{"NN-2048x288x768", false, false, 2048, 288, 768},
		{"TN-768x288x2048", true, false, 768, 288, 2048},
		{"NT-512x32000x288", false, true, 512, 32000, 288},
		{"NN-512x288x32000", false, false, 512, 288, 32000},
		{"TN-32000x288x512", true, false, 32000, 288, 512},
		{"NN-2048x768x288", false, false, 2048, 768, 288},
		{"TN-288x768x2048", true, false, 288, 768, 2048},
	} {
		b.Run(sh.name, func(b *testing.B) {
			a, bb, c := randSlice(r, sh.m*sh.k), randSlice(r, sh.k*sh.n), randSlice(r, sh.m*sh.n)
			lda, ldb := sh.k, sh.n
			if sh.ta {
				lda = sh.m
			}
			if sh.tb {
				ldb = sh.k
			}
			for b.Loop() {
				Sgemm(sh.ta, sh.tb, sh.m, sh.n, sh.k, a, lda, bb, ldb, false, c, sh.n)
			}
			b.ReportMetric(2*float64(sh.m*sh.n*sh.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkSgemmMicro(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	const k = 256
	a, bb, c := randSlice(r, k*sgemmMR), randSlice(r, k*sgemmNR), randSlice(r, sgemmMR*sgemmNR)
	for b.Loop() {
		sgemmMicro(k, a, 1, sgemmMR, bb, sgemmNR, c, sgemmNR, true)
	}
	b.ReportMetric(2*float64(k*sgemmMR*sgemmNR)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
