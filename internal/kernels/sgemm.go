package kernels

import (
	"fmt"
	"sync"
)

// Float32 GEMM in all transpose forms, for training: C = op(A)·op(B) or
// C += op(A)·op(B), with row strides. Blocks of op(B) are packed into
// micro-panels of NR columns interleaved along K, so B's transpose lives in
// the packing, which costs O(size) against the product's O(size·M). The
// micro-kernel keeps an MR×NR tile of C in registers and adds one outer
// product per k: MR broadcasts of A, read in place whatever its layout,
// times the NR-wide row of B.
//
// Every element of C is summed in the same order (K blocks in turn, k
// ascending within a block, starting from C's value when adding), whatever
// the split of M and N over threads, so results do not depend on the thread
// count.

const (
	sgemmMR = 12
	sgemmNR = 32
	sgemmKC = 320 // most K blocks: k is split into equal blocks of at most this
	sgemmMC = 120 // multiple of MR: a packed A block stays in L2
	sgemmNC = 512 // multiple of NR

	sgemmPackLDA = 2048 // transposed A with a longer row stride is packed
)

// sgemmBuf holds one thread's packed panels.
type sgemmBuf struct {
	a [sgemmMC * sgemmKC]float32 // packed A block (transposed A), or its partial last panel
	b [sgemmKC * sgemmNC]float32
	c [sgemmMR * sgemmNR]float32 // edge tiles
}

var sgemmBufs = sync.Pool{New: func() any { return new(sgemmBuf) }}

// Sgemm sets c (m×n, row stride ldc) to op(A)·op(B), or adds the product to
// c when acc is set. op(A) is m×k: a holds A (m×k, row stride lda), or Aᵀ
// (k×m) when transA. op(B) is k×n: b holds B (k×n, row stride ldb), or Bᵀ
// (n×k) when transB. It runs on the calling goroutine and allocates nothing
// in steady state; slices too short for the shapes panic.
func Sgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, acc bool, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	sgemmCheck(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	buf := sgemmBufs.Get().(*sgemmBuf)
	sgemmSerial(buf, transA, transB, m, n, k, a, lda, b, ldb, acc, c, ldc)
	sgemmBufs.Put(buf)
}

func sgemmCheck(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	need := func(what string, rows, cols, ld, have int) {
		if ld < cols || (rows > 0 && (rows-1)*ld+cols > have) {
			panic(fmt.Sprintf("kernels: Sgemm %s: %d×%d with stride %d needs more than its %d elements (or a longer stride)", what, rows, cols, ld, have))
		}
	}
	if k < 0 {
		panic(fmt.Sprintf("kernels: Sgemm: negative k %d", k))
	}
	if k > 0 {
		if transA {
			need("A", k, m, lda, len(a))
		} else {
			need("A", m, k, lda, len(a))
		}
		if transB {
			need("B", n, k, ldb, len(b))
		} else {
			need("B", k, n, ldb, len(b))
		}
	}
	need("C", m, n, ldc, len(c))
}

// sgemmSerial is Sgemm after the checks, with a buffer.
func sgemmSerial(buf *sgemmBuf, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, acc bool, c []float32, ldc int) {
	if k == 0 {
		if !acc {
			for i := 0; i < m; i++ {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	// op(A)[i][p] = a[i*rs+p*ps]: the micro-kernel reads A in place.
	rs, ps := lda, 1
	if transA {
		rs, ps = 1, lda
	}
	// Transposed A with long rows puts each k of a panel on its own page:
	// pack those blocks (their reuse over n pays for it), read others in place.
	packTA := transA && lda >= sgemmPackLDA
	kb := (k + sgemmKC - 1) / sgemmKC
	kb = (k + kb - 1) / kb // equal K blocks: no short tail block
	for jc := 0; jc < n; jc += sgemmNC {
		nc := min(sgemmNC, n-jc)
		for pc := 0; pc < k; pc += kb {
			kc := min(kb, k-pc)
			bb, bs := buf.b[:], sgemmNR
			if transB {
				packB(buf.b[:], b, ldb, pc, kc, jc, nc)
			} else {
				// B's rows are read in place; only a partial last panel is
				// packed, zero-padded to NR.
				bb, bs = b[pc*ldb+jc:], ldb
				if e := nc % sgemmNR; e != 0 {
					packBEdge(buf.b[:], b[pc*ldb+jc+nc-e:], ldb, kc, e)
				}
			}
			load := acc || pc > 0
			for ic := 0; ic < m; ic += sgemmMC {
				mc := min(sgemmMC, m-ic)
				ap, ars, aps := a[ic*rs+pc*ps:], rs, ps
				if packTA {
					packAT(buf.a[:], ap, lda, mc, kc)
					ap, ars, aps = buf.a[:], 1, sgemmMR
				} else if e := mc % sgemmMR; e != 0 { // the last rows, zero-padded to MR
					packA(buf.a[:], ap[(mc-e)*rs:], rs, ps, e, kc)
				}
				sgemmBlock(buf, ap, ars, aps, packTA, bb, bs, !transB, kc, mc, nc, c[ic*ldc+jc:], ldc, load)
			}
		}
	}
}

// packAT packs an mc×kc block of transposed A (a[p*lda+i]) as panels of MR
// rows, kc·MR floats each: dst[ir*kc + p*MR + i], zero past mc. Each row of
// a is read once, contiguously.
func packAT(dst, a []float32, lda, mc, kc int) {
	full := mc - mc%sgemmMR
	for p := 0; p < kc; p++ {
		src := a[p*lda:][:mc]
		for ir := 0; ir < full; ir += sgemmMR {
			*(*[sgemmMR]float32)(dst[ir*kc+p*sgemmMR:]) = *(*[sgemmMR]float32)(src[ir:])
		}
		if full < mc {
			row := dst[full*kc+p*sgemmMR:][:sgemmMR]
			copy(row, src[full:])
			clear(row[mc-full:])
		}
	}
}

// sgemmBlock multiplies rows [0,mc) of A by a packed kc×nc block of B into
// c (row stride ldc). A is in place (strides rs, ps) with the zero-padded
// packing of its partial last panel in buf.a, or, when packed, all panels
// (MR·kc floats each) are in buf.a.
func sgemmBlock(buf *sgemmBuf, a []float32, rs, ps int, packed bool, b []float32, bs int, bInPlace bool, kc, mc, nc int, c []float32, ldc int, load bool) {
	for jr := 0; jr < nc; jr += sgemmNR {
		nr := min(sgemmNR, nc-jr)
		bp, pbs := b[jr*kc:], bs // packed panels are NR·kc floats apart
		if bInPlace {
			bp = b[jr:]
			if nr < sgemmNR {
				bp, pbs = buf.b[:], sgemmNR
			}
		}
		for ir := 0; ir < mc; ir += sgemmMR {
			mr := min(sgemmMR, mc-ir)
			ap, ars, aps := a[ir*rs:], rs, ps
			if packed {
				ap = buf.a[ir*kc:]
			}
			if mr == sgemmMR && nr == sgemmNR {
				sgemmMicro(kc, ap, ars, aps, bp, pbs, c[ir*ldc+jr:], ldc, load)
				continue
			}
			if mr < sgemmMR && !packed {
				ap, ars, aps = buf.a[:], 1, sgemmMR
			}
			// Edge tile: run the full kernel on a copy, so edge elements
			// are summed exactly as interior ones.
			t := buf.c[:]
			if load {
				clear(t)
				for i := 0; i < mr; i++ {
					copy(t[i*sgemmNR:i*sgemmNR+nr], c[(ir+i)*ldc+jr:])
				}
			}
			sgemmMicro(kc, ap, ars, aps, bp, pbs, t, sgemmNR, load)
			for i := 0; i < mr; i++ {
				copy(c[(ir+i)*ldc+jr:(ir+i)*ldc+jr+nr], t[i*sgemmNR:])
			}
		}
	}
}

// packA writes the mr < MR rows of A at a (strides rs, ps), kc long, as an
// MR-row panel: dst[p*MR+i], zero for i >= mr.
func packA(dst, a []float32, rs, ps, mr, kc int) {
	for p := 0; p < kc; p++ {
		d := dst[p*sgemmMR : (p+1)*sgemmMR]
		for i := 0; i < mr; i++ {
			d[i] = a[i*rs+p*ps]
		}
		clear(d[mr:])
	}
}

// packB writes rows [p0,p0+kc) × cols [j0,j0+nc) of op(B) = bᵀ as
// micro-panels of NR columns: panel j holds, for each k, its NR values
// (zero past nc).
func packB(dst, b []float32, ldb int, p0, kc, j0, nc int) {
	for jr := 0; jr < nc; jr += sgemmNR {
		nr := min(sgemmNR, nc-jr)
		packCols(dst[jr*kc:(jr+sgemmNR)*kc], b[(j0+jr)*ldb+p0:], ldb, nr, sgemmNR, kc) // op(B)[p][j] = b[j*ldb+p]
	}
}

// packBEdge copies the last e < NR columns of kc rows of B (row stride ldb)
// into one NR-wide panel, zero-padded.
func packBEdge(dst, b []float32, ldb, kc, e int) {
	for p := 0; p < kc; p++ {
		row := dst[p*sgemmNR : (p+1)*sgemmNR]
		copy(row, b[p*ldb:][:e])
		clear(row[e:])
	}
}

// packCols writes rows r < rows of src (row stride ld, kc long) as the
// columns of dst (kc rows of w): dst[p*w+r] = src[r*ld+p], zero for r >=
// rows. Eight (then four) source rows are read together so writes are
// contiguous.
func packCols(dst, src []float32, ld, rows, w, kc int) {
	r := 0
	for ; r+8 <= rows; r += 8 {
		s0 := src[r*ld:][:kc]
		s1 := src[(r+1)*ld:][:len(s0)]
		s2 := src[(r+2)*ld:][:len(s0)]
		s3 := src[(r+3)*ld:][:len(s0)]
		s4 := src[(r+4)*ld:][:len(s0)]
		s5 := src[(r+5)*ld:][:len(s0)]
		s6 := src[(r+6)*ld:][:len(s0)]
		s7 := src[(r+7)*ld:][:len(s0)]
		d := dst[r:]
		for p := range s0 {
			o := d[p*w : p*w+8]
			o[0], o[1], o[2], o[3] = s0[p], s1[p], s2[p], s3[p]
			o[4], o[5], o[6], o[7] = s4[p], s5[p], s6[p], s7[p]
		}
	}
	for ; r+4 <= rows; r += 4 {
		s0 := src[r*ld:][:kc]
		s1 := src[(r+1)*ld:][:len(s0)]
		s2 := src[(r+2)*ld:][:len(s0)]
		s3 := src[(r+3)*ld:][:len(s0)]
		d := dst[r:]
		for p := range s0 {
			o := d[p*w : p*w+4]
			o[0], o[1], o[2], o[3] = s0[p], s1[p], s2[p], s3[p]
		}
	}
	for ; r < rows; r++ {
		for p, v := range src[r*ld:][:kc] {
			dst[p*w+r] = v
		}
	}
	if rows < w {
		for p := 0; p < kc; p++ {
			clear(dst[p*w+rows : (p+1)*w])
		}
	}
}

// sgemmMicroGo is the plain-Go micro-kernel: c (MR rows of NR, stride
// ldc) = or += Σ_p a[i*rs+p*ps]·b[p*bs+j].
func sgemmMicroGo(k int, a []float32, rs, ps int, b []float32, bs int, c []float32, ldc int, load bool) {
	var t [sgemmMR * sgemmNR]float32
	if load {
		for i := 0; i < sgemmMR; i++ {
			copy(t[i*sgemmNR:(i+1)*sgemmNR], c[i*ldc:])
		}
	}
	for p := 0; p < k; p++ {
		bp := b[p*bs : p*bs+sgemmNR]
		for i := 0; i < sgemmMR; i++ {
			av := a[i*rs+p*ps]
			row := t[i*sgemmNR : (i+1)*sgemmNR]
			for j, bv := range bp {
				row[j] += av * bv
			}
		}
	}
	for i := 0; i < sgemmMR; i++ {
		copy(c[i*ldc:i*ldc+sgemmNR], t[i*sgemmNR:])
	}
}

// F32Gemm runs Sgemm split over a Pool. It is not safe for concurrent use;
// build one per Pool user.
type F32Gemm struct {
	pool *Pool
	args sgemmArgs
	fn   func(lo, hi int) // built once: a fresh closure per call allocates
}

type sgemmArgs struct {
	transA, transB bool
	m, n, k        int
	a, b, c        []float32
	lda, ldb, ldc  int
	acc            bool
	splitM         bool
}

// NewF32Gemm returns an F32Gemm running on pool.
func NewF32Gemm(pool *Pool) *F32Gemm {
	g := &F32Gemm{pool: pool}
	g.fn = g.share
	return g
}

// Mul is Sgemm with the rows (or columns, whichever has more tiles) of C
// split over the pool's threads. Results are bit-identical to Sgemm's.
func (g *F32Gemm) Mul(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, acc bool, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	sgemmCheck(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if k == 0 {
		sgemmSerial(nil, transA, transB, m, n, k, a, lda, b, ldb, acc, c, ldc)
		return
	}
	mt, nt := (m+sgemmMR-1)/sgemmMR, (n+sgemmNR-1)/sgemmNR
	g.args = sgemmArgs{transA: transA, transB: transB, m: m, n: n, k: k, a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc, acc: acc, splitM: mt >= nt}
	units := nt
	if mt >= nt {
		units = mt
	}
	if g.pool == nil || g.pool.Threads() == 1 || units == 1 {
		g.share(0, units)
	} else {
		g.pool.Parallel(units, g.fn)
	}
	g.args = sgemmArgs{}
}

// share runs tiles [lo,hi) of the split dimension.
func (g *F32Gemm) share(lo, hi int) {
	s := &g.args
	buf := sgemmBufs.Get().(*sgemmBuf)
	defer sgemmBufs.Put(buf)
	if s.splitM {
		i0, i1 := lo*sgemmMR, min(hi*sgemmMR, s.m)
		off := i0 * s.lda
		if s.transA {
			off = i0
		}
		a := s.a[off:]
		sgemmSerial(buf, s.transA, s.transB, i1-i0, s.n, s.k, a, s.lda, s.b, s.ldb, s.acc, s.c[i0*s.ldc:], s.ldc)
		return
	}
	j0, j1 := lo*sgemmNR, min(hi*sgemmNR, s.n)
	off := j0
	if s.transB {
		off = j0 * s.ldb
	}
	b := s.b[off:]
	sgemmSerial(buf, s.transA, s.transB, s.m, j1-j0, s.k, s.a, s.lda, b, s.ldb, s.acc, s.c[j0:], s.ldc)
}
