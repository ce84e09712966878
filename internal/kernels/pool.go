package kernels

import (
	"fmt"
	"runtime"
	"sync"
)

// Pool is a fixed set of worker goroutines that split kernels by rows (or
// heads). The calling goroutine does the first share itself, so a Pool of T
// threads runs T-1 goroutines. Calls on one Pool are serialised; in steady
// state a call neither spawns goroutines nor allocates.
type Pool struct {
	threads int
	mu      sync.Mutex
	start   []chan struct{} // one per helper goroutine
	done    chan struct{}
	job     job
	s       scratch
	sK      scratch // MatVecs: Q8_K activations when s holds Q8_0 ones
}

type jobKind int

const (
	jobRows jobKind = iota
	jobQuant
	jobAttn
	jobFunc
	jobMulti
)

// job is the current call's arguments, stored in the Pool so handing work to
// the helpers allocates nothing.
type job struct {
	kind    jobKind
	dst     []float32
	m       Mat
	x       []float32
	n       int
	total   int // units to split (rows, inputs or heads)
	align   int // split points are multiples of this
	q, out  []float32
	k, v    KV
	nPos    int
	shape   AttnShape
	scores  []float32
	fn      func(lo, hi int)
	kernels *kernelSet
	outs    []Out
}

// NewPool starts a pool of the given number of threads (<= 0: GOMAXPROCS).
func NewPool(threads int) *Pool {
	warnFallback()
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	p := &Pool{threads: threads, done: make(chan struct{}, threads)}
	p.start = make([]chan struct{}, threads-1)
	for i := range p.start {
		p.start[i] = make(chan struct{}, 1)
		go p.worker(i+1, p.start[i])
	}
	return p
}

// Threads is the number of threads sharing each call.
func (p *Pool) Threads() int { return p.threads }

// Close stops the helper goroutines. The Pool must not be used afterwards.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.start {
		close(c)
	}
	p.start = nil
}

func (p *Pool) worker(id int, start chan struct{}) {
	for range start {
		p.runShare(id)
		p.done <- struct{}{}
	}
}

// run executes p.job on all threads and waits for them.
func (p *Pool) run() {
	if p.start == nil && p.threads > 1 {
		panic("kernels: Pool used after Close")
	}
	helpers := p.helpers()
	for i := 0; i < helpers; i++ {
		p.start[i] <- struct{}{}
	}
	p.runShare(0)
	for i := 0; i < helpers; i++ {
		<-p.done
	}
}

// helpers is how many helper goroutines the job is worth waking: tiny jobs
// run on the caller alone.
func (p *Pool) helpers() int {
	h := p.threads - 1
	if units := p.job.total / p.job.align; units < p.threads {
		h = max(units-1, 0)
	}
	return h
}

// share returns thread id's unit range.
func (p *Pool) share(id int) (int, int) {
	j := &p.job
	t := p.helpers() + 1
	units := (j.total + j.align - 1) / j.align
	lo := units * id / t * j.align
	hi := min(units*(id+1)/t*j.align, j.total)
	return lo, hi
}

func (p *Pool) runShare(id int) {
	lo, hi := p.share(id)
	if lo >= hi {
		return
	}
	j := &p.job
	switch j.kind {
	case jobRows:
		j.kernels.matRows(j.dst, j.m, j.x, j.n, p.s.acts, lo, hi)
	case jobQuant:
		p.s.quantRange(j.m, j.x, lo, hi)
	case jobAttn:
		attnKVHeads(j.out, j.q, j.k, j.v, j.nPos, j.shape, j.scores, lo, hi)
	case jobFunc:
		j.fn(lo, hi)
	case jobMulti:
		p.multiShare(lo, hi)
	}
}

// multiShare runs rows [lo,hi) of the concatenation of the job's matrices.
func (p *Pool) multiShare(lo, hi int) {
	j := &p.job
	off := 0
	for _, o := range j.outs {
		r0, r1 := max(lo, off)-off, min(hi, off+o.M.Rows)-off
		if r0 < r1 {
			s := &p.s
			if actBlock(o.M.Type) == qkK {
				s = &p.sK
			}
			j.kernels.matRows(o.Dst, o.M, j.x, 1, s.acts, r0, r1)
		}
		off += o.M.Rows
	}
}

// rowAlign keeps each thread's rows a multiple of what the SIMD kernels do at
// once, and large enough that threads do not share cache lines of dst.
const rowAlign = 16

// MatVec is MatVec split across the pool's threads by rows.
func (p *Pool) MatVec(dst []float32, m Mat, x []float32) { p.MatMul(dst, m, x, 1) }

// MatMul is MatMul split across the pool's threads by rows.
func (p *Pool) MatMul(dst []float32, m Mat, x []float32, n int) {
	p.matMul(&active, dst, m, x, n)
}

func (p *Pool) matMul(ks *kernelSet, dst []float32, m Mat, x []float32, n int) {
	m.check(x, n)
	if len(dst) < n*m.Rows {
		panic(fmt.Sprintf("kernels: output has %d floats, need %d×%d", len(dst), n, m.Rows))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if actBlock(m.Type) != 0 {
		p.s.reserve(m, n)
		if n >= 4*p.threads {
			p.job = job{kind: jobQuant, m: m, x: x, total: n, align: 1}
			p.run()
		} else {
			p.s.quantRange(m, x, 0, n)
		}
	}
	p.job = job{kind: jobRows, kernels: ks, dst: dst, m: m, x: x, n: n, total: m.Rows, align: rowAlign}
	p.run()
	p.job = job{}
}

// Out is one product of a MatVecs call: Dst = M · x.
type Out struct {
	Dst []float32
	M   Mat
}

// MatVecs computes outs[i].Dst = outs[i].M · x for matrices sharing their
// input (Q/K/V, gate/up): x is quantized once per activation kind and all
// rows go out in one parallel dispatch. Keep outs allocated by the caller.
func (p *Pool) MatVecs(x []float32, outs []Out) {
	total := 0
	for _, o := range outs {
		o.M.check(x, 1)
		if len(o.Dst) < o.M.Rows {
			panic(fmt.Sprintf("kernels: output has %d floats, need %d", len(o.Dst), o.M.Rows))
		}
		total += o.M.Rows
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var did0, didK bool
	for _, o := range outs {
		switch actBlock(o.M.Type) {
		case qk8:
			if !did0 {
				p.s.prepare(o.M, x, 1)
				did0 = true
			}
		case qkK:
			if !didK {
				p.sK.prepare(o.M, x, 1)
				didK = true
			}
		}
	}
	p.job = job{kind: jobMulti, kernels: &active, x: x, outs: outs, total: total, align: rowAlign}
	p.run()
	p.job = job{}
}

// Attention is Attention split across the pool's threads by KV heads.
func (p *Pool) Attention(out, q []float32, k, v KV, nPos int, s AttnShape, scores []float32) {
	s.check(out, q, k, v, nPos, scores)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.job = job{kind: jobAttn, out: out, q: q, k: k, v: v, nPos: nPos, shape: s, scores: scores, total: s.KVHeads, align: 1}
	p.run()
	p.job = job{}
}

// Parallel calls fn on disjoint ranges covering [0,n), one per thread, and
// waits. Build fn once and reuse it: a fresh closure per call allocates.
func (p *Pool) Parallel(n int, fn func(lo, hi int)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.job = job{kind: jobFunc, fn: fn, total: n, align: 1}
	p.run()
	p.job = job{}
}
