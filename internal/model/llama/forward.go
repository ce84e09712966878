package llama

import "github.com/bayling-go/bayling/internal/kernels"

// row is one token of a forward step: the sequence it belongs to and its
// position there. A step's rows may all belong to one sequence (prefill) or
// each to a different one (batched decode); weights are read once per step.
type row struct {
	s   *State
	pos int
}

// scratch holds the activations of up to n rows.
type scratch struct {
	n              int
	rows           []row
	x, xb, q, k, v []float32
	ao, hb, hb2    []float32
	cs             []float32 // RoPE cos/sin per row
	att            []float32 // attention scores, heads × positions
}

// grow sizes b for n rows of model m with contexts up to ctx positions.
func (b *scratch) grow(m *Model, n, ctx int) {
	c := &m.cfg
	if b.n < n {
		dim, qd, kvd, hid := c.HiddenSize, c.QDim(), c.KVDim(), c.IntermediateSize
		b.n = n
		b.rows = make([]row, 0, n)
		b.x = make([]float32, n*dim)
		b.xb = make([]float32, n*dim)
		b.q = make([]float32, n*qd)
		b.k = make([]float32, n*kvd)
		b.v = make([]float32, n*kvd)
		b.ao = make([]float32, n*qd)
		b.hb = make([]float32, n*hid)
		b.hb2 = make([]float32, n*hid)
		b.cs = make([]float32, n*c.HeadSize())
	}
	if len(b.att) < c.NumAttentionHeads*ctx {
		b.att = make([]float32, c.NumAttentionHeads*ctx)
	}
}

// forward runs b.rows with the given tokens through every layer, leaving
// the final hidden states in b.x and each row's key and value in its
// sequence's cache. It does not move any State's position.
func (m *Model) forward(b *scratch, tokens []int) {
	c, w := &m.cfg, m.w
	dim, hs := c.HiddenSize, c.HeadSize()
	for t, id := range tokens {
		embedRow(b.x[t*dim:(t+1)*dim], w.TokenEmbd, id)
		ropeTable(b.cs[t*hs:(t+1)*hs], m.freqs, b.rows[t].pos)
	}
	for l := range w.Layers {
		m.attention(b, l)
		m.feedForward(b, l)
	}
}

// attention is the attention half of layer l with its residual add.
func (m *Model) attention(b *scratch, l int) {
	c, lw, n := &m.cfg, &m.w.Layers[l], len(b.rows)
	dim, qd, kvd, hs := c.HiddenSize, c.QDim(), c.KVDim(), c.HeadSize()
	for t := 0; t < n; t++ {
		kernels.RMSNorm(b.xb[t*dim:(t+1)*dim], b.x[t*dim:(t+1)*dim], lw.AttnNorm, m.eps)
	}
	m.matmul(b.q, lw.Wq, b.xb, n)
	m.matmul(b.k, lw.Wk, b.xb, n)
	m.matmul(b.v, lw.Wv, b.xb, n)
	for t, r := range b.rows {
		cs := b.cs[t*hs : (t+1)*hs]
		kernels.RoPE(b.q[t*qd:(t+1)*qd], hs, cs)
		kernels.RoPE(b.k[t*kvd:(t+1)*kvd], hs, cs)
		r.s.k[l].put(r.pos*kvd, b.k[t*kvd:(t+1)*kvd])
		r.s.v[l].put(r.pos*kvd, b.v[t*kvd:(t+1)*kvd])
	}
	// Causal: the token at position p attends to positions 0..p of its
	// own sequence. All rows' keys are cached before any row attends, so
	// rows of one sequence in one step see each other.
	for t, r := range b.rows {
		np := r.pos + 1
		m.attend(b.ao[t*qd:(t+1)*qd], b.q[t*qd:(t+1)*qd], r.s.k[l].prefix(np*kvd), r.s.v[l].prefix(np*kvd), np, b.att)
	}
	m.matmul(b.xb, lw.Wo, b.ao, n)
	add(b.x[:n*dim], b.xb)
}

// feedForward is the SwiGLU half of layer l with its residual add.
func (m *Model) feedForward(b *scratch, l int) {
	c, lw, n := &m.cfg, &m.w.Layers[l], len(b.rows)
	dim, hid := c.HiddenSize, c.IntermediateSize
	for t := 0; t < n; t++ {
		kernels.RMSNorm(b.xb[t*dim:(t+1)*dim], b.x[t*dim:(t+1)*dim], lw.FFNNorm, m.eps)
	}
	m.matmul(b.hb, lw.Gate, b.xb, n)
	m.matmul(b.hb2, lw.Up, b.xb, n)
	kernels.SiLUMul(b.hb[:n*hid], b.hb2)
	m.matmul(b.xb, lw.Down, b.hb, n)
	add(b.x[:n*dim], b.xb)
}

// output writes the logits of rows first..first+n-1 of the last step to dst.
func (m *Model) output(b *scratch, dst []float32, first, n int) {
	dim := m.cfg.HiddenSize
	x := b.x[first*dim : (first+n)*dim]
	xb := b.xb[:n*dim]
	for t := 0; t < n; t++ {
		kernels.RMSNorm(xb[t*dim:(t+1)*dim], x[t*dim:(t+1)*dim], m.w.OutputNorm, m.eps)
	}
	m.matmul(dst, m.w.Output, xb, n)
}

// outputRows writes the logits of the given rows of the last step to dst,
// one after another.
func (m *Model) outputRows(b *scratch, dst []float32, rows []int) {
	dim := m.cfg.HiddenSize
	for j, t := range rows {
		kernels.RMSNorm(b.xb[j*dim:(j+1)*dim], b.x[t*dim:(t+1)*dim], m.w.OutputNorm, m.eps)
	}
	m.matmul(dst, m.w.Output, b.xb[:len(rows)*dim], len(rows))
}

func add(dst, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += x[i]
	}
}
