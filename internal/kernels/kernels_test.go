package kernels

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayling-go/bayling/internal/tensor"
)

var allTypes = []tensor.DType{tensor.F32, tensor.F16, tensor.BF16, tensor.Q8_0, tensor.Q4_0, tensor.Q4_K, tensor.Q6_K}

// sets are every kernel set this CPU can run: the plain-Go one first.
func sets() []kernelSet { return append([]kernelSet{generic}, simdSets()...) }

// shapes include odd row counts (tails of the multi-row SIMD loops) and
// single-block rows.
func shapes(t tensor.DType) [][2]int {
	if actBlock(t) == qkK {
		return [][2]int{{1, 256}, {7, 512}, {33, 768}, {64, 1024}}
	}
	if t.Quantized() {
		return [][2]int{{1, 32}, {3, 96}, {17, 160}, {33, 512}, {64, 4096}}
	}
	return [][2]int{{1, 1}, {3, 7}, {5, 33}, {17, 100}, {33, 259}, {64, 1024}}
}

// TestMatMulAgainstDequantized checks every kernel set against a float64 dot
// of the reference-dequantized weights and the (quantized) activations: the
// integer block sums must make this agree to float rounding.
func TestMatMulAgainstDequantized(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, typ := range allTypes {
		for _, sh := range shapes(typ) {
			rows, cols := sh[0], sh[1]
			m := randMat(rng, typ, rows, cols)
			for _, n := range []int{1, 3, 8} {
				x := randVec(rng, n*cols)
				want := make([]float64, n*rows)
				scale := make([]float64, n*rows)
				for j := 0; j < n; j++ {
					xq := actDequant(typ, x[j*cols:(j+1)*cols])
					for r := 0; r < rows; r++ {
						w := refDequant(m, r)
						var s, a float64
						for i := range w {
							s += float64(w[i]) * float64(xq[i])
							a += math.Abs(float64(w[i]) * float64(xq[i]))
						}
						want[j*rows+r], scale[j*rows+r] = s, a
					}
				}
				for _, ks := range sets() {
					got := make([]float32, n*rows)
					var s scratch
					s.prepare(m, x, n)
					ks.rows(got, m, x, n, s.acts, 0, rows)
					for i := range got {
						if d := math.Abs(float64(got[i]) - want[i]); d > 2e-5*scale[i]+1e-6 {
							t.Fatalf("%s %v %dx%d n=%d: out[%d]=%g want %g (|w·x|=%g)", ks.name, typ, rows, cols, n, i, got[i], want[i], scale[i])
						}
					}
				}
			}
		}
	}
}

// TestMatVecQuantizationError bounds the error that quantizing activations
// adds, against the exact product with unquantized x.
func TestMatVecQuantizationError(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, typ := range allTypes {
		m := randMat(rng, typ, 16, 1024)
		x := randVec(rng, 1024)
		got := make([]float32, 16)
		MatVec(got, m, x)
		for r := 0; r < 16; r++ {
			w := refDequant(m, r)
			var s, a float64
			for i := range w {
				s += float64(w[i]) * float64(x[i])
				a += math.Abs(float64(w[i]) * float64(x[i]))
			}
			if d := math.Abs(float64(got[r]) - s); d > 0.01*a {
				t.Errorf("%v row %d: %g, exact %g (|w·x|=%g)", typ, r, got[r], s, a)
			}
		}
	}
}

// TestSIMDMatchesGeneric compares each SIMD set with the plain-Go kernels on
// larger shapes, where the reference would be slow.
func TestSIMDMatchesGeneric(t *testing.T) {
	if len(simdSets()) == 0 {
		t.Skip("no SIMD kernel set on this build/CPU")
	}
	for _, ks := range simdSets() {
		t.Logf("checking %s", ks.name)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, typ := range allTypes {
		m := randMat(rng, typ, 67, 2048)
		for _, n := range []int{1, 5, 16} {
			x := randVec(rng, n*2048)
			var s scratch
			s.prepare(m, x, n)
			want := make([]float32, n*67)
			generic.rows(want, m, x, n, s.acts, 0, 67)
			for _, ks := range simdSets() {
				got := make([]float32, n*67)
				ks.rows(got, m, x, n, s.acts, 0, 67)
				for i := range got {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("%s %v n=%d: out[%d]=%g generic %g", ks.name, typ, n, i, got[i], want[i])
					}
				}
			}
		}
	}
}

func TestPoolMatchesSingleThread(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, threads := range []int{1, 2, 3} {
		p := NewPool(threads)
		for _, typ := range allTypes {
			for _, rows := range []int{1, 15, 16, 17, 100} {
				m := randMat(rng, typ, rows, 512)
				for _, n := range []int{1, 2, 13} {
					x := randVec(rng, n*512)
					want := make([]float32, n*rows)
					got := make([]float32, n*rows)
					MatMul(want, m, x, n)
					p.MatMul(got, m, x, n)
					for i := range got {
						if got[i] != want[i] {
							t.Fatalf("threads=%d %v rows=%d n=%d: out[%d]=%g single %g", threads, typ, rows, n, i, got[i], want[i])
						}
					}
				}
			}
		}
		p.Close()
	}
}

func TestPoolZeroAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	p := NewPool(2)
	defer p.Close()
	for _, typ := range allTypes {
		m := randMat(rng, typ, 256, 1024)
		x := randVec(rng, 4*1024)
		dst := make([]float32, 4*256)
		for _, n := range []int{1, 4} {
			if a := testing.AllocsPerRun(20, func() { p.MatMul(dst, m, x, n) }); a != 0 {
				t.Errorf("Pool.MatMul %v n=%d: %v allocs per call", typ, n, a)
			}
			if a := testing.AllocsPerRun(20, func() { MatMul(dst, m, x, n) }); a != 0 && !raceEnabled {
				t.Errorf("MatMul %v n=%d: %v allocs per call", typ, n, a)
			}
		}
	}
	s := AttnShape{Heads: 8, KVHeads: 2, HeadDim: 64}
	q, out := randVec(rng, 8*64), make([]float32, 8*64)
	k, v := KV{F32: randVec(rng, 20*2*64)}, KV{F32: randVec(rng, 20*2*64)}
	scores := make([]float32, 8*20)
	if a := testing.AllocsPerRun(20, func() { p.Attention(out, q, k, v, 20, s, scores) }); a != 0 {
		t.Errorf("Pool.Attention: %v allocs per call", a)
	}
	fn := func(lo, hi int) { clear(out[lo:hi]) }
	if a := testing.AllocsPerRun(20, func() { p.Parallel(len(out), fn) }); a != 0 {
		t.Errorf("Pool.Parallel: %v allocs per call", a)
	}
}

func TestPoolParallelCoversRange(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	for _, n := range []int{0, 1, 2, 3, 1000} {
		seen := make([]int, n)
		p.Parallel(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				seen[i]++
			}
		})
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("n=%d: index %d covered %d times", n, i, c)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	good := Mat{Type: tensor.Q4_0, Rows: 2, Cols: 64, Data: make([]byte, 2*2*18)}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, m := range []Mat{
		{Type: tensor.Q4_0, Rows: 2, Cols: 64, Data: make([]byte, 2*2*18-1)},
		{Type: tensor.Q4_0, Rows: 2, Cols: 48, Data: make([]byte, 2*2*18)},
		{Type: tensor.Q5_1, Rows: 2, Cols: 64, Data: make([]byte, 2*2*24)},
		{Type: tensor.F32, Rows: 0, Cols: 4},
	} {
		if err := m.Validate(); err == nil {
			t.Errorf("%v %dx%d with %d bytes: no error", m.Type, m.Rows, m.Cols, len(m.Data))
		}
	}
}

func TestQuantizeQ8_0(t *testing.T) {
	x := make([]float32, 64)
	for i := range x {
		x[i] = float32(i-20) * 0.37
	}
	var a q8Act
	a.resize(64, qk8)
	quantizeQ8_0(&a, x)
	// Block 0 spans -7.4..4.07: amax 7.4 maps to -127 exactly.
	if a.qs[0] != -127 {
		t.Errorf("qs[0]=%d want -127", a.qs[0])
	}
	if want := F16ToF32(F32ToF16(7.4 / 127)); a.d[0] != want {
		t.Errorf("d[0]=%g want f16-rounded %g", a.d[0], want)
	}
	for b := 0; b < 2; b++ {
		var s int32
		for i := 0; i < 32; i++ {
			q := a.qs[b*32+i]
			s += int32(q)
			if err := math.Abs(float64(float32(q)*a.d[b] - x[b*32+i])); err > float64(a.d[b])*0.51+1e-3 {
				t.Errorf("x[%d]=%g quantized to %d*%g", b*32+i, x[b*32+i], q, a.d[b])
			}
		}
		if s != a.sums[b] {
			t.Errorf("block %d sum %d, stored %d", b, s, a.sums[b])
		}
	}
}

func TestQuantizeQ8_K(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	x := randVec(rng, 512)
	clear(x[256:]) // an all-zero block must give d=0
	var a q8Act
	a.resize(512, qkK)
	quantizeQ8_K(&a, x)
	if a.d[1] != 0 {
		t.Errorf("zero block: d=%g", a.d[1])
	}
	for i := 0; i < 256; i++ {
		if err := math.Abs(float64(float32(a.qs[i])*a.d[0] - x[i])); err > math.Abs(float64(a.d[0]))*0.51 {
			t.Fatalf("x[%d]=%g quantized to %d*%g", i, x[i], a.qs[i], a.d[0])
		}
	}
	for g := 0; g < 32; g++ {
		var s int
		for _, q := range a.qs[16*g : 16*g+16] {
			s += int(q)
		}
		if int(a.bsum[g]) != s {
			t.Errorf("bsum[%d]=%d want %d", g, a.bsum[g], s)
		}
	}
}

func TestF16RoundTrip(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := F16ToF32(uint16(h))
		e, m := h>>10&31, h&1023
		if e == 31 {
			if (m != 0) != math.IsNaN(float64(f)) {
				t.Fatalf("%#04x -> %g", h, f)
			}
			continue
		}
		want := float64(m) * math.Pow(2, -24)
		if e > 0 {
			want = (1 + float64(m)/1024) * math.Pow(2, float64(e-15))
		}
		if h&0x8000 != 0 {
			want = -want
		}
		if float64(f) != want {
			t.Fatalf("F16ToF32(%#04x)=%g want %g", h, f, want)
		}
		if back := F32ToF16(f); back != uint16(h) {
			t.Fatalf("F32ToF16(F16ToF32(%#04x)) = %#04x", h, back)
		}
	}
	// Round to nearest even between neighbours, and overflow to Inf.
	cases := map[float32]uint16{1 + 1.0/2048: 0x3c00, 1 + 3.0/2048: 0x3c02, 65520: 0x7c00, 65519: 0x7bff, 1e-8: 0, 3e-8: 1}
	for f, want := range cases {
		if got := F32ToF16(f); got != want {
			t.Errorf("F32ToF16(%g)=%#04x want %#04x", f, got, want)
		}
	}
}

func ExampleActive() {
	fmt.Println(Active() != "")
	// Output: true
}

func TestFallbackWarnsOnce(t *testing.T) {
	defer func(r string, w io.Writer) { fallbackReason, warnOut, warnOnce = r, w, sync.Once{} }(fallbackReason, warnOut)
	var buf bytes.Buffer
	fallbackReason, warnOut, warnOnce = "test reason", &buf, sync.Once{}
	p := NewPool(1)
	p.Close()
	MatVec(make([]float32, 1), Mat{Type: tensor.F32, Rows: 1, Cols: 1, Data: make([]byte, 4)}, []float32{1})
	if got := buf.String(); strings.Count(got, "slow plain-Go kernels (test reason)") != 1 || strings.Count(got, "\n") != 1 {
		t.Errorf("warning output %q", got)
	}
	buf.Reset()
	fallbackReason, warnOnce = "", sync.Once{}
	NewPool(1).Close()
	if buf.Len() != 0 {
		t.Errorf("SIMD build warned: %q", buf.String())
	}
}

func TestF16At(t *testing.T) {
	b := make([]byte, 2)
	for h := 0; h < 1<<16; h++ {
		b[0], b[1] = byte(h), byte(h>>8)
		got, want := f16At(b, 0), F16ToF32(uint16(h))
		if math.Float32bits(got) != math.Float32bits(want) && !(math.IsNaN(float64(got)) && math.IsNaN(float64(want))) {
			t.Fatalf("f16At(%#04x)=%g want %g", h, got, want)
		}
	}
}

// TestQuantizersMatchGeneric requires every set's activation quantizers to be
// bit-identical to the ggml-reference Go ones, including exact .5 ties,
// zero blocks and sign ties of the largest magnitude.
func TestQuantizersMatchGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(50, 51))
	x := randVec(rng, 1024)
	for i := 0; i < 32; i++ { // block 0: values that hit exact halves after scaling
		x[i] = float32(i-16) * 0.5
	}
	x[5] = 8
	// Q8_0 block 1 and Q8_K block 0 get scale exactly 1 (amax 127), so the
	// k+0.5 values below are exact ties: roundf goes away from zero, Q8_K's
	// nearest_int to even.
	x[40] = -127
	for i := 41; i < 64; i++ {
		x[i] = float32(i-52) + 0.5
	}
	clear(x[256:512])
	x[600], x[700] = -9, 9 // Q8_K sign tie: the first one wins
	for _, ks := range sets() {
		for _, blk := range []int{qk8, qkK} {
			var want, got q8Act
			want.resize(len(x), blk)
			got.resize(len(x), blk)
			if blk == qk8 {
				quantizeQ8_0(&want, x)
				ks.q8_0(&got, x)
			} else {
				quantizeQ8_K(&want, x)
				ks.q8_K(&got, x)
			}
			tie := map[int]int8{54: 2, 49: -2} // x = 2.5, -2.5 under nearest-even
			if blk == qk8 {
				tie = map[int]int8{54: 3, 49: -3} // roundf: away from zero
			}
			for i, q := range tie {
				if want.qs[i] != q {
					t.Fatalf("block %d reference: x=%g quantized to %d, want %d", blk, x[i], want.qs[i], q)
				}
			}
			for i := range want.qs {
				if got.qs[i] != want.qs[i] {
					t.Fatalf("%s block %d: qs[%d]=%d want %d (x=%g)", ks.name, blk, i, got.qs[i], want.qs[i], x[i])
				}
			}
			for i := range want.d {
				if math.Float32bits(got.d[i]) != math.Float32bits(want.d[i]) {
					t.Fatalf("%s block %d: d[%d]=%g want %g", ks.name, blk, i, got.d[i], want.d[i])
				}
			}
			for i := range want.sums {
				if got.sums[i] != want.sums[i] {
					t.Fatalf("%s: sums[%d]=%d want %d", ks.name, i, got.sums[i], want.sums[i])
				}
			}
			for i := range want.bsum {
				if got.bsum[i] != want.bsum[i] {
					t.Fatalf("%s: bsum[%d]=%d want %d", ks.name, i, got.bsum[i], want.bsum[i])
				}
			}
		}
	}
}

func TestPoolMatVecs(t *testing.T) {
	rng := rand.New(rand.NewPCG(60, 61))
	const cols = 512
	// A Q4_K_M-like mix: K-quants and a Q8_0 and F16 matrix sharing x.
	ms := []Mat{
		randMat(rng, tensor.Q4_K, 37, cols),
		randMat(rng, tensor.Q6_K, 5, cols),
		randMat(rng, tensor.Q8_0, 64, cols),
		randMat(rng, tensor.F16, 3, cols),
		randMat(rng, tensor.Q4_0, 17, cols),
	}
	x := randVec(rng, cols)
	for _, threads := range []int{1, 2, 3} {
		p := NewPool(threads)
		outs := make([]Out, len(ms))
		for i, m := range ms {
			outs[i] = Out{Dst: make([]float32, m.Rows), M: m}
		}
		p.MatVecs(x, outs)
		for i, m := range ms {
			want := make([]float32, m.Rows)
			MatVec(want, m, x)
			for r := range want {
				if outs[i].Dst[r] != want[r] {
					t.Fatalf("threads=%d %v row %d: %g want %g", threads, m.Type, r, outs[i].Dst[r], want[r])
				}
			}
		}
		if a := testing.AllocsPerRun(20, func() { p.MatVecs(x, outs) }); a != 0 {
			t.Errorf("threads=%d: MatVecs %v allocs per call", threads, a)
		}
		p.Close()
	}
}

// TestPoolHandOverStress mixes calls that finish within the spin window with
// calls whose helpers outlast it (so the caller parks), and makes the last
// helper dawdle between finishing and waking the caller (so its wake can
// land in the next call), checking after each call that every unit ran
// exactly once: a wake meant for one call must not end another early.
func TestPoolHandOverStress(t *testing.T) {
	for _, threads := range []int{2, 3} {
		p := NewPool(threads)
		const n = 6
		var seen [n]int32
		rng := rand.New(rand.NewPCG(31, uint64(threads)))
		var slow int
		fn := func(lo, hi int) {
			if lo > 0 && slow > 0 {
				time.Sleep(time.Duration(slow) * time.Microsecond)
			}
			for i := lo; i < hi; i++ {
				seen[i]++
			}
		}
		var late atomic.Int32 // µs the last helper dawdles after finishing
		testAfterLast = func() { time.Sleep(time.Duration(late.Load()) * time.Microsecond) }
		// The dispatcher may stall after publishing a call, long enough for
		// the helpers to run it, spin and park before their wake arrives.
		var stall atomic.Int32
		testInDispatch = func() { time.Sleep(time.Duration(stall.Load()) * time.Microsecond) }
		defer func() { testAfterLast, testInDispatch = nil, nil }()
		for call := 0; call < 3000; call++ {
			slow = []int{0, 0, 0, 50, 150, 400}[rng.IntN(6)]
			late.Store([]int32{0, 0, 300}[rng.IntN(3)])
			stall.Store([]int32{0, 0, 0, 400}[rng.IntN(4)])
			p.Parallel(n, fn)
			for i, c := range seen {
				if c != 1 {
					t.Fatalf("threads=%d call %d: unit %d ran %d times when Parallel returned", threads, call, i, c)
				}
			}
			seen = [n]int32{}
		}
		p.Close()
	}
}
