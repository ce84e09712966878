package llama

import "github.com/bayling-go/bayling/internal/kernels"

// step runs n = len(tokens) tokens through every layer at positions
// s.pos.., leaving the final hidden states in s.buf.x and their keys and
// values in the cache. Weights are read once per step for all n rows.
func (s *State) step(tokens []int) {
	n := len(tokens)
	s.grow(n)
	c, w, b := &s.m.cfg, s.m.w, &s.buf
	dim, hs := c.HiddenSize, c.HeadSize()
	for t, id := range tokens {
		embedRow(b.x[t*dim:(t+1)*dim], w.TokenEmbd, id)
		ropeTable(b.cs[t*hs:(t+1)*hs], s.m.freqs, s.pos+t)
	}
	for l := range w.Layers {
		s.attention(l, n)
		s.feedForward(l, n)
	}
	s.pos += n
}

// attention is the attention half of layer l with its residual add.
func (s *State) attention(l, n int) {
	m, c, lw, b := s.m, &s.m.cfg, &s.m.w.Layers[l], &s.buf
	dim, qd, kvd, hs := c.HiddenSize, c.QDim(), c.KVDim(), c.HeadSize()
	for t := 0; t < n; t++ {
		kernels.RMSNorm(b.xb[t*dim:(t+1)*dim], b.x[t*dim:(t+1)*dim], lw.AttnNorm, m.eps)
	}
	// Keys and values go straight into the cache rows of these positions.
	kc := s.k[l][s.pos*kvd : (s.pos+n)*kvd]
	vc := s.v[l][s.pos*kvd : (s.pos+n)*kvd]
	m.matmul(b.q, lw.Wq, b.xb, n)
	m.matmul(kc, lw.Wk, b.xb, n)
	m.matmul(vc, lw.Wv, b.xb, n)
	for t := 0; t < n; t++ {
		cs := b.cs[t*hs : (t+1)*hs]
		kernels.RoPE(b.q[t*qd:(t+1)*qd], hs, cs)
		kernels.RoPE(kc[t*kvd:(t+1)*kvd], hs, cs)
	}
	// Causal: the token at position p attends to positions 0..p.
	for t := 0; t < n; t++ {
		np := s.pos + t + 1
		m.attention(b.ao[t*qd:(t+1)*qd], b.q[t*qd:(t+1)*qd], s.k[l][:np*kvd], s.v[l][:np*kvd], np, b.att)
	}
	m.matmul(b.xb, lw.Wo, b.ao, n)
	add(b.x[:n*dim], b.xb)
}

// feedForward is the SwiGLU half of layer l with its residual add.
func (s *State) feedForward(l, n int) {
	m, c, lw, b := s.m, &s.m.cfg, &s.m.w.Layers[l], &s.buf
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
func (s *State) output(dst []float32, first, n int) {
	m, c, w, b := s.m, &s.m.cfg, s.m.w, &s.buf
	dim := c.HiddenSize
	x := b.x[first*dim : (first+n)*dim]
	xb := b.xb[:n*dim]
	for t := 0; t < n; t++ {
		kernels.RMSNorm(xb[t*dim:(t+1)*dim], x[t*dim:(t+1)*dim], w.OutputNorm, m.eps)
	}
	m.matmul(dst, w.Output, xb, n)
}
