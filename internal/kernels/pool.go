package kernels

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Pool is a fixed set of worker goroutines that split kernels by rows (or
// heads). The calling goroutine does the first share itself, so a Pool of T
// threads runs T-1 goroutines. Calls on one Pool are serialised; in steady
// state a call neither spawns goroutines nor allocates.
//
// A decode step makes a few hundred calls, tens of microseconds apart, so
// handing work over must cost less than waking a parked goroutine (a futex
// round trip): helpers and the caller spin on atomics for up to spinFor
// between calls, as OpenMP's active wait does, and only then park on a
// channel.
type Pool struct {
	threads int
	mu      sync.Mutex
	job     job
	s       scratch
	sK      scratch // MatVecs: Q8_K activations when s holds Q8_0 ones

	gen      atomic.Uint64 // bumped once per dispatched job
	pending  atomic.Int32  // helpers still working on the current job
	closed   atomic.Bool
	sleeping []atomic.Bool   // per helper: parked on wake[id]
	wake     []chan struct{} // per helper, capacity 1
	waiting  atomic.Bool     // the caller is parked on done
	done     chan struct{}   // capacity 1
	exited   sync.WaitGroup  // helpers, for Close
}

// testAfterLast, set only by tests, runs in the last helper of a job between
// its pending.Add and its look at the caller's waiting flag: the window in
// which the caller may already be in its next call.
var testAfterLast func()

// testInDispatch, set only by tests, runs in dispatch between publishing the
// new generation and waking parked helpers.
var testInDispatch func()

// spinFor is how long an idle thread polls before parking.
const spinFor = 100 * time.Microsecond

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
	p := &Pool{threads: threads, done: make(chan struct{}, 1)}
	p.sleeping = make([]atomic.Bool, threads)
	p.wake = make([]chan struct{}, threads)
	for id := 1; id < threads; id++ {
		p.wake[id] = make(chan struct{}, 1)
		p.exited.Add(1)
		go p.worker(id)
	}
	return p
}

// Threads is the number of threads sharing each call.
func (p *Pool) Threads() int { return p.threads }

// Close stops the helper goroutines and waits for them to exit. The Pool
// must not be used afterwards.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Swap(true) {
		return
	}
	p.dispatch()
	p.exited.Wait()
}

// dispatch publishes p.job (or the close) to every helper.
func (p *Pool) dispatch() {
	p.gen.Add(1)
	if testInDispatch != nil {
		testInDispatch()
	}
	for id := 1; id < p.threads; id++ {
		if p.sleeping[id].Swap(false) {
			p.wake[id] <- struct{}{}
		}
	}
}

func (p *Pool) worker(id int) {
	defer p.exited.Done()
	var seen uint64 // NewPool's generation: the goroutine may start after the first dispatch
	for {
		seen = p.await(id, seen)
		if p.closed.Load() {
			return
		}
		p.runShare(id)
		if p.pending.Add(-1) == 0 {
			if testAfterLast != nil {
				testAfterLast()
			}
			if p.waiting.Swap(false) {
				p.done <- struct{}{}
			}
		}
	}
}

// await returns the next job generation after seen: polling first, then
// parked until dispatch wakes helper id.
func (p *Pool) await(id int, seen uint64) uint64 {
	if spin(func() bool { return p.gen.Load() != seen }) {
		return p.gen.Load()
	}
	for {
		p.sleeping[id].Store(true)
		if g := p.gen.Load(); g != seen {
			if !p.sleeping[id].CompareAndSwap(true, false) {
				<-p.wake[id] // dispatch took the flag and is sending
			}
			return g
		}
		<-p.wake[id]
		if g := p.gen.Load(); g != seen {
			return g
		}
		// A wake for a generation this helper has already run: its
		// dispatcher was held up between bumping gen and waking, long
		// enough for the helper to run the job, spin and park. Running
		// it again would count it twice in pending.
	}
}

// spin polls cond for up to spinFor, letting other goroutines run now and
// then; it reports whether cond became true.
func spin(cond func() bool) bool {
	var deadline time.Time
	for i := 1; ; i++ {
		if cond() {
			return true
		}
		if i%256 == 0 {
			now := time.Now()
			if deadline.IsZero() {
				deadline = now.Add(spinFor)
			} else if now.After(deadline) {
				return false
			}
			runtime.Gosched()
		}
	}
}

// run executes p.job on all threads and waits for them.
func (p *Pool) run() {
	if p.closed.Load() {
		panic("kernels: Pool used after Close")
	}
	if p.helpers() == 0 {
		p.runShare(0)
		return
	}
	p.pending.Store(int32(p.threads - 1))
	p.dispatch()
	p.runShare(0)
	for !spin(p.finished) {
		p.waiting.Store(true)
		if p.finished() {
			if !p.waiting.CompareAndSwap(true, false) {
				<-p.done // the last helper took the flag and is sending
			}
			return
		}
		// The wake can come from the previous job's last helper, which
		// takes the flag just after its pending.Add: check again.
		<-p.done
	}
}

func (p *Pool) finished() bool { return p.pending.Load() == 0 }

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
