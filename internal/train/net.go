package train

import (
	"fmt"
	"math"

	"github.com/bayling-go/bayling/internal/kernels"
)

// Batch is B packed rows of T tokens. Each row holds one or more sequences
// back to back; Pos is a token's position inside its own sequence (0 starts
// a sequence), so attention and RoPE stay inside each sequence. Targets are
// the next-token ids to predict, -1 where no loss is taken.
type Batch struct {
	B, T    int
	Tokens  []int
	Targets []int
	Pos     []int
}

// NewBatch allocates an empty batch; rows are filled by a Packer.
func NewBatch(b, t int) *Batch {
	return &Batch{B: b, T: t, Tokens: make([]int, b*t), Targets: make([]int, b*t), Pos: make([]int, b*t)}
}

// LossTokens counts the targets that carry loss.
func (b *Batch) LossTokens() int {
	n := 0
	for _, t := range b.Targets {
		if t >= 0 {
			n++
		}
	}
	return n
}

// layerActs are the activations of one block kept for the backward pass.
type layerActs struct {
	xIn, xn1, inv1 []float32 // block input, normed, 1/rms
	q, k, v, ao    []float32 // q, k after RoPE; attention output
	att            []float32 // softmax rows: B×heads×T×T
	xMid, xn2      []float32 // after attention residual, normed
	inv2           []float32
	h1, h3, act    []float32 // gate, up, silu(gate)*up
}

// Net runs forward and backward passes of a Params over Batches of one
// shape. It is not safe for concurrent use.
type Net struct {
	P     *Params
	B, T  int
	lora  *LoRA
	eval  bool // forward only: no dropout
	g     gemm
	eps   float32
	scale float32 // 1/sqrt(head size)
	freqs []float32

	acts            []layerActs
	x, xnF, invF    []float32
	cs              []float32 // per token: cos,sin of each pair
	dx, dxn, dtmp   []float32
	dq, dk, dv, dao []float32
	dh1, dh3, dact  []float32
	logits, rowLoss []float32
	dP              []float32 // per attention unit, a block of dS rows
	chunk           int
}

// NewNet sizes a Net for batches of b rows of t tokens, running matrix
// products on pool (which the caller owns).
func NewNet(p *Params, b, t int, pool *kernels.Pool) (*Net, error) {
	c := &p.Cfg
	if b <= 0 || t <= 0 {
		return nil, fmt.Errorf("train: batch %dx%d must be positive", b, t)
	}
	if t > c.MaxPositionEmbeddings {
		return nil, fmt.Errorf("train: sequence length %d exceeds the model's max_position_embeddings %d", t, c.MaxPositionEmbeddings)
	}
	n := b * t
	dim, qd, kvd, hid, hs := c.HiddenSize, c.QDim(), c.KVDim(), c.IntermediateSize, c.HeadSize()
	net := &Net{P: p, B: b, T: t, eps: float32(c.RMSNormEps), scale: float32(1 / math.Sqrt(float64(hs)))}
	net.g = newGemm(pool)
	net.freqs = ropeFreqs(hs, c.Theta())
	f := func(k int) []float32 { return make([]float32, k) }
	net.acts = make([]layerActs, c.NumHiddenLayers)
	for i := range net.acts {
		net.acts[i] = layerActs{
			xIn: f(n * dim), xn1: f(n * dim), inv1: f(n),
			q: f(n * qd), k: f(n * kvd), v: f(n * kvd), ao: f(n * qd),
			att:  f(b * c.NumAttentionHeads * t * t),
			xMid: f(n * dim), xn2: f(n * dim), inv2: f(n),
			h1: f(n * hid), h3: f(n * hid), act: f(n * hid),
		}
	}
	net.x, net.xnF, net.invF = f(n*dim), f(n*dim), f(n)
	net.cs = f(n * hs)
	net.dx, net.dxn, net.dtmp = f(n*dim), f(n*dim), f(n*dim)
	net.dq, net.dk, net.dv, net.dao = f(n*qd), f(n*kvd), f(n*kvd), f(n*qd)
	net.dh1, net.dh3, net.dact = f(n*hid), f(n*hid), f(n*hid)
	net.chunk = min(n, 512)
	net.logits = f(net.chunk * c.VocabSize)
	net.rowLoss = f(n)
	net.dP = f(b * c.KVHeads() * attnBlock * t)
	return net, nil
}

// ropeFreqs is llama's theta^(-2i/d) in float32, as the inference code does.
func ropeFreqs(hs int, theta float64) []float32 {
	f := make([]float32, hs/2)
	for i := range f {
		e := float32(2*i) / float32(hs)
		f[i] = 1 / float32(math.Pow(float64(float32(theta)), float64(e)))
	}
	return f
}

func (n *Net) check(b *Batch) error {
	if b.B != n.B || b.T != n.T || len(b.Tokens) != n.B*n.T || len(b.Targets) != len(b.Tokens) || len(b.Pos) != len(b.Tokens) {
		return fmt.Errorf("train: batch %dx%d does not match the net's %dx%d", b.B, b.T, n.B, n.T)
	}
	v := n.P.Cfg.VocabSize
	for i, id := range b.Tokens {
		if id < 0 || id >= v || b.Targets[i] >= v || b.Targets[i] < -1 {
			return fmt.Errorf("train: token %d or target %d at %d outside vocabulary of %d", id, b.Targets[i], i, v)
		}
		if p := b.Pos[i]; p < 0 || p > i%n.T || (p > 0 && b.Pos[i-1] != p-1) {
			return fmt.Errorf("train: position %d at index %d does not continue its sequence", p, i)
		}
	}
	return nil
}

// Step runs the forward and backward pass of b, adding to every gradient
// the derivative of lossScale × (sum of the per-token losses). It returns
// that sum (unscaled) and the number of tokens with loss.
func (n *Net) Step(b *Batch, lossScale float32) (float64, int, error) {
	if err := n.check(b); err != nil {
		return 0, 0, err
	}
	n.eval = false
	n.forward(b)
	sum, cnt := n.outputLoss(b, lossScale, true)
	n.backward(b)
	return sum, cnt, nil
}

// Loss runs only the forward pass and returns the summed loss and count.
func (n *Net) Loss(b *Batch) (float64, int, error) {
	if err := n.check(b); err != nil {
		return 0, 0, err
	}
	n.eval = true
	n.forward(b)
	sum, cnt := n.outputLoss(b, 0, false)
	return sum, cnt, nil
}

func (n *Net) forward(b *Batch) {
	c, p := &n.P.Cfg, n.P
	dim, hs := c.HiddenSize, c.HeadSize()
	for i, id := range b.Tokens {
		copy(n.x[i*dim:(i+1)*dim], p.Embd.W[id*dim:(id+1)*dim])
		cs := n.cs[i*hs : (i+1)*hs]
		for j, f := range n.freqs {
			a := float64(float32(b.Pos[i]) * f)
			cs[2*j], cs[2*j+1] = float32(math.Cos(a)), float32(math.Sin(a))
		}
	}
	for l := range p.Layers {
		n.attnForward(b, l)
		n.ffnForward(l)
	}
	n.rows(func(i int) {
		n.invF[i] = rmsNorm(n.xnF[i*dim:(i+1)*dim], n.x[i*dim:(i+1)*dim], p.OutNorm.W, n.eps)
	})
}

// rows runs fn for every token, split over the pool.
func (n *Net) rows(fn func(i int)) {
	n.g.pool.Parallel(n.B*n.T, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			fn(i)
		}
	})
}

func (n *Net) attnForward(b *Batch, l int) {
	c, lw, a := &n.P.Cfg, &n.P.Layers[l], &n.acts[l]
	N, dim, qd, kvd, hs := n.B*n.T, c.HiddenSize, c.QDim(), c.KVDim(), c.HeadSize()
	copy(a.xIn, n.x)
	n.rows(func(i int) {
		a.inv1[i] = rmsNorm(a.xn1[i*dim:(i+1)*dim], n.x[i*dim:(i+1)*dim], lw.AttnNorm.W, n.eps)
	})
	n.linear(l, lw.Wq, a.q, a.xn1)
	n.linear(l, lw.Wk, a.k, a.xn1)
	n.linear(l, lw.Wv, a.v, a.xn1)
	n.rows(func(i int) {
		cs := n.cs[i*hs : (i+1)*hs]
		kernels.RoPE(a.q[i*qd:(i+1)*qd], hs, cs)
		kernels.RoPE(a.k[i*kvd:(i+1)*kvd], hs, cs)
	})
	n.g.pool.Parallel(n.B*c.KVHeads(), func(lo, hi int) {
		for u := lo; u < hi; u++ {
			n.attendUnit(b, a, u)
		}
	})
	n.linear(l, lw.Wo, n.dtmp, a.ao)
	addTo(n.x[:N*dim], n.dtmp)
}

// attnBlock is the number of queries whose scores are one GEMM: keys run
// from the block's first segment start to its last query, so the causal
// mask wastes at most a block's triangle per block.
const attnBlock = 48

// keySpan returns the first key any query of [t0,t1) in batch row row
// attends to (the earliest segment start).
func keySpan(b *Batch, row, T, t0, t1 int) int {
	k0 := t0
	for t := t0; t < t1; t++ {
		k0 = min(k0, t-b.Pos[row*T+t])
	}
	return k0
}

// attendUnit is causal attention, within each packed sequence, for row
// u/KVHeads of the batch and the query heads sharing KV head u%KVHeads. Per
// block of queries, scores S = Q·Kᵀ and outputs O = P·V are GEMMs; a score
// row holds softmax weights in its window [s0, t] and zeros elsewhere in
// the block's key span, which the backward pass relies on.
func (n *Net) attendUnit(b *Batch, a *layerActs, u int) {
	c := &n.P.Cfg
	H, G, hs, T := c.NumAttentionHeads, c.KVHeads(), c.HeadSize(), n.T
	qd, kvd := c.QDim(), c.KVDim()
	row, g := u/G, u%G
	for h := g * (H / G); h < (g+1)*(H/G); h++ {
		att := a.att[(row*H+h)*T*T : (row*H+h+1)*T*T]
		for t0 := 0; t0 < T; t0 += attnBlock {
			t1 := min(t0+attnBlock, T)
			k0 := keySpan(b, row, T, t0, t1)
			m, nk := t1-t0, t1-k0
			qo, ko := (row*T+t0)*qd+h*hs, (row*T+k0)*kvd+g*hs
			kernels.Sgemm(false, true, m, nk, hs, a.q[qo:], qd, a.k[ko:], kvd, false, att[t0*T+k0:], T)
			for t := t0; t < t1; t++ {
				s0 := t - b.Pos[row*T+t]
				w := att[t*T : (t+1)*T]
				clear(w[k0:s0])
				clear(w[t+1 : t1])
				win := w[s0 : t+1]
				for j := range win {
					win[j] *= n.scale
				}
				kernels.Softmax(win)
			}
			kernels.Sgemm(false, false, m, hs, nk, att[t0*T+k0:], T, a.v[ko:], kvd, false, a.ao[qo:], qd)
		}
	}
}

func (n *Net) ffnForward(l int) {
	c, lw, a := &n.P.Cfg, &n.P.Layers[l], &n.acts[l]
	N, dim, hid := n.B*n.T, c.HiddenSize, c.IntermediateSize
	copy(a.xMid, n.x)
	n.rows(func(i int) {
		a.inv2[i] = rmsNorm(a.xn2[i*dim:(i+1)*dim], n.x[i*dim:(i+1)*dim], lw.FFNNorm.W, n.eps)
	})
	n.linear(l, lw.Gate, a.h1, a.xn2)
	n.linear(l, lw.Up, a.h3, a.xn2)
	n.rows(func(i int) {
		r := i * hid
		act := a.act[r : r+hid]
		copy(act, a.h1[r:r+hid])
		kernels.SiLUMul(act, a.h3[r:r+hid])
	})
	n.linear(l, lw.Down, n.dtmp, a.act)
	addTo(n.x[:N*dim], n.dtmp)
}

// outputLoss computes logits chunk by chunk, the cross-entropy of each
// target and, when backward is set, dlogits = lossScale·(softmax − onehot),
// accumulating dWout and leaving d(xnF) in n.dxn.
func (n *Net) outputLoss(b *Batch, lossScale float32, backward bool) (float64, int) {
	c, p := &n.P.Cfg, n.P
	N, dim, V := n.B*n.T, c.HiddenSize, c.VocabSize
	for r0 := 0; r0 < N; r0 += n.chunk {
		m := min(n.chunk, N-r0)
		logits := n.logits[:m*V]
		n.linear(-1, p.Output, logits, n.xnF[r0*dim:(r0+m)*dim])
		n.g.pool.Parallel(m, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				n.rowLoss[r0+i] = crossEntropy(logits[i*V:(i+1)*V], b.Targets[r0+i], lossScale, backward)
			}
		})
		if !backward {
			continue
		}
		n.g.backX(n.dxn[r0*dim:], false, p.Output.W, V, dim, logits, m)
		if !n.frozen() {
			n.g.backW(p.Output.G, V, dim, logits, n.xnF[r0*dim:(r0+m)*dim], m)
		}
	}
	var sum float64
	cnt := 0
	for i, t := range b.Targets {
		if t >= 0 {
			sum += float64(n.rowLoss[i])
			cnt++
		}
	}
	return sum, cnt
}

// crossEntropy returns -log softmax(x)[target] (0 for target -1) and, with
// grad, overwrites x by scale·(softmax(x) − onehot(target)). The loss is
// (max − x_target) + log Σ exp(x − max), exact also when the target's
// probability underflows float32. x is overwritten also without grad.
func crossEntropy(x []float32, target int, scale float32, grad bool) float32 {
	if target < 0 {
		if grad {
			clear(x)
		}
		return 0
	}
	xt := x[target]
	mx, logSum := kernels.SoftmaxScaled(x, scale)
	if grad {
		x[target] -= scale
	}
	return (mx - xt) + logSum
}

func (n *Net) backward(b *Batch) {
	c, p := &n.P.Cfg, n.P
	dim := c.HiddenSize
	n.rows(func(i int) {
		r := i * dim
		rmsNormBack(n.dx[r:r+dim], n.dxn[r:r+dim], n.x[r:r+dim], p.OutNorm.W, n.invF[i])
	})
	if !n.frozen() {
		n.normGrad(p.OutNorm.G, n.dxn, n.x, n.invF)
	}
	for l := len(p.Layers) - 1; l >= 0; l-- {
		n.ffnBackward(l)
		n.attnBackward(b, l)
	}
	if n.frozen() {
		return
	}
	// Embedding rows in token order: a fixed order keeps sums reproducible.
	for i, id := range b.Tokens {
		addTo(p.Embd.G[id*dim:(id+1)*dim], n.dx[i*dim:(i+1)*dim])
	}
}

// normGrad adds Σ_rows dy ⊙ x·inv to the norm weight gradient gw, with a
// fixed split: each thread owns a band of columns.
func (n *Net) normGrad(gw, dy, x, inv []float32) {
	dim := len(gw)
	N := n.B * n.T
	n.g.pool.Parallel(dim, func(lo, hi int) {
		for i := 0; i < N; i++ {
			r := i * dim
			for j := lo; j < hi; j++ {
				gw[j] += dy[r+j] * x[r+j] * inv[i]
			}
		}
	})
}

func (n *Net) ffnBackward(l int) {
	c, lw, a := &n.P.Cfg, &n.P.Layers[l], &n.acts[l]
	dim, hid := c.HiddenSize, c.IntermediateSize
	// n.dx is d(block output); the residual passes it through unchanged.
	n.linearBack(l, lw.Down, n.dact, n.dx, a.act)
	n.rows(func(i int) {
		r := i * hid
		kernels.SiLUMulBack(n.dh1[r:r+hid], n.dh3[r:r+hid], a.h1[r:r+hid], a.h3[r:r+hid], n.dact[r:r+hid])
	})
	n.linearBack(l, lw.Gate, n.dxn, n.dh1, a.xn2)
	n.linearBackAcc(l, lw.Up, n.dxn, n.dh3, a.xn2)
	n.rows(func(i int) {
		r := i * dim
		rmsNormBack(n.dtmp[r:r+dim], n.dxn[r:r+dim], a.xMid[r:r+dim], lw.FFNNorm.W, a.inv2[i])
	})
	if !n.frozen() {
		n.normGrad(lw.FFNNorm.G, n.dxn, a.xMid, a.inv2)
	}
	addTo(n.dx, n.dtmp)
}

func (n *Net) attnBackward(b *Batch, l int) {
	c, lw, a := &n.P.Cfg, &n.P.Layers[l], &n.acts[l]
	dim, qd, kvd, hs := c.HiddenSize, c.QDim(), c.KVDim(), c.HeadSize()
	n.linearBack(l, lw.Wo, n.dao, n.dx, a.ao)
	n.g.pool.Parallel(n.B*c.KVHeads(), func(lo, hi int) {
		for u := lo; u < hi; u++ {
			n.attendBackUnit(b, a, u)
		}
	})
	// Undo RoPE on the gradients: rotate by the negative angle.
	n.rows(func(i int) {
		cs := n.cs[i*hs : (i+1)*hs]
		ropeBack(n.dq[i*qd:(i+1)*qd], hs, cs)
		ropeBack(n.dk[i*kvd:(i+1)*kvd], hs, cs)
	})
	n.linearBack(l, lw.Wq, n.dxn, n.dq, a.xn1)
	n.linearBackAcc(l, lw.Wk, n.dxn, n.dk, a.xn1)
	n.linearBackAcc(l, lw.Wv, n.dxn, n.dv, a.xn1)
	n.rows(func(i int) {
		r := i * dim
		rmsNormBack(n.dtmp[r:r+dim], n.dxn[r:r+dim], a.xIn[r:r+dim], lw.AttnNorm.W, a.inv1[i])
	})
	if !n.frozen() {
		n.normGrad(lw.AttnNorm.G, n.dxn, a.xIn, a.inv1)
	}
	addTo(n.dx, n.dtmp)
}

// attendBackUnit is the backward pass of attendUnit: it sets dq for the
// unit's query heads and dk, dv for its KV head (only this unit writes
// them), block by block of queries as the forward pass:
//
//	dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(P ⊙ dP))·scale,
//	dV += Pᵀ·dO, dQ = dS·K, dK += dSᵀ·Q.
func (n *Net) attendBackUnit(b *Batch, a *layerActs, u int) {
	c := &n.P.Cfg
	H, G, hs, T := c.NumAttentionHeads, c.KVHeads(), c.HeadSize(), n.T
	qd, kvd := c.QDim(), c.KVDim()
	row, g := u/G, u%G
	for t := 0; t < T; t++ {
		i := (row*T + t) * kvd
		clear(n.dk[i+g*hs : i+(g+1)*hs])
		clear(n.dv[i+g*hs : i+(g+1)*hs])
	}
	dS := n.dP[u*attnBlock*T : (u+1)*attnBlock*T]
	for h := g * (H / G); h < (g+1)*(H/G); h++ {
		att := a.att[(row*H+h)*T*T : (row*H+h+1)*T*T]
		for t0 := 0; t0 < T; t0 += attnBlock {
			t1 := min(t0+attnBlock, T)
			k0 := keySpan(b, row, T, t0, t1)
			m, nk := t1-t0, t1-k0
			qo, ko := (row*T+t0)*qd+h*hs, (row*T+k0)*kvd+g*hs
			P := att[t0*T+k0:]
			kernels.Sgemm(false, true, m, nk, hs, n.dao[qo:], qd, a.v[ko:], kvd, false, dS, nk)
			for t := t0; t < t1; t++ {
				s0 := t - b.Pos[row*T+t]
				p := att[t*T+s0 : t*T+t+1]
				d := dS[(t-t0)*nk : (t-t0+1)*nk]
				clear(d[:s0-k0])
				clear(d[t+1-k0:])
				win := d[s0-k0 : t+1-k0]
				dot := kernels.Dot(p, win)
				for j, pj := range p {
					win[j] = pj * (win[j] - dot) * n.scale
				}
			}
			kernels.Sgemm(true, false, nk, hs, m, P, T, n.dao[qo:], qd, true, n.dv[ko:], kvd)
			kernels.Sgemm(false, false, m, hs, nk, dS, nk, a.k[ko:], kvd, false, n.dq[qo:], qd)
			kernels.Sgemm(true, false, nk, hs, m, dS, nk, a.q[qo:], qd, true, n.dk[ko:], kvd)
		}
	}
}

// rmsNorm writes w ⊙ x/rms(x) to dst and returns 1/rms(x).
func rmsNorm(dst, x, w []float32, eps float32) float32 {
	var ss float32
	for _, v := range x {
		ss += v * v
	}
	inv := float32(1 / math.Sqrt(float64(ss/float32(len(x))+eps)))
	for i, v := range x {
		dst[i] = w[i] * (v * inv)
	}
	return inv
}

// rmsNormBack sets dx from dy for y = w ⊙ x·inv:
// dx = inv·(w⊙dy) − inv³/n · x · Σ(w⊙dy⊙x).
func rmsNormBack(dx, dy, x, w []float32, inv float32) {
	var s float32
	for i := range x {
		s += w[i] * dy[i] * x[i]
	}
	k := inv * inv * inv * s / float32(len(x))
	for i := range x {
		dx[i] = inv*w[i]*dy[i] - k*x[i]
	}
}

// ropeBack rotates adjacent pairs by minus the angles in cs.
func ropeBack(x []float32, hs int, cs []float32) {
	for h := 0; h+hs <= len(x); h += hs {
		v := x[h : h+hs]
		for i := 0; i+1 < hs; i += 2 {
			c, s := cs[i], cs[i+1]
			a, b := v[i], v[i+1]
			v[i] = a*c + b*s
			v[i+1] = -a*s + b*c
		}
	}
}
