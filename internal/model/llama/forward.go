package llama

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
	c, lw, b := &s.m.cfg, &s.m.w.Layers[l], &s.buf
	dim, qd, kvd, hs := c.HiddenSize, c.QDim(), c.KVDim(), c.HeadSize()
	for t := 0; t < n; t++ {
		rmsnorm(b.xb[t*dim:(t+1)*dim], b.x[t*dim:(t+1)*dim], lw.AttnNorm, s.m.eps)
	}
	// Keys and values go straight into the cache rows of these positions.
	kc := s.k[l][s.pos*kvd : (s.pos+n)*kvd]
	vc := s.v[l][s.pos*kvd : (s.pos+n)*kvd]
	matmul(b.q, lw.Wq, b.xb, n)
	matmul(kc, lw.Wk, b.xb, n)
	matmul(vc, lw.Wv, b.xb, n)
	for t := 0; t < n; t++ {
		cs := b.cs[t*hs : (t+1)*hs]
		rope(b.q[t*qd:(t+1)*qd], cs)
		rope(kc[t*kvd:(t+1)*kvd], cs)
	}
	for t := 0; t < n; t++ {
		s.attend(b.ao[t*qd:(t+1)*qd], b.q[t*qd:(t+1)*qd], l, s.pos+t)
	}
	matmul(b.xb, lw.Wo, b.ao, n)
	add(b.x[:n*dim], b.xb)
}

// attend computes causal multi-head attention of query q at position pos
// over the cache of layer l (grouped-query: kvMul query heads share one
// key/value head), writing the heads' outputs to out.
func (s *State) attend(out, q []float32, l, pos int) {
	c := &s.m.cfg
	hs, kvd := c.HeadSize(), c.KVDim()
	kvMul := c.NumAttentionHeads / c.KVHeads()
	scale := sqrt32(float32(hs))
	att := s.buf.att[:pos+1]
	kc, vc := s.k[l], s.v[l]
	for h := 0; h < c.NumAttentionHeads; h++ {
		qh := q[h*hs : (h+1)*hs]
		off := (h / kvMul) * hs
		for t := range att {
			att[t] = dot(qh, kc[t*kvd+off:t*kvd+off+hs]) / scale
		}
		softmax(att)
		oh := out[h*hs : (h+1)*hs]
		clear(oh)
		for t, a := range att {
			v := vc[t*kvd+off : t*kvd+off+hs]
			for i := range oh {
				oh[i] += a * v[i]
			}
		}
	}
}

// feedForward is the SwiGLU half of layer l with its residual add.
func (s *State) feedForward(l, n int) {
	c, lw, b := &s.m.cfg, &s.m.w.Layers[l], &s.buf
	dim, hid := c.HiddenSize, c.IntermediateSize
	for t := 0; t < n; t++ {
		rmsnorm(b.xb[t*dim:(t+1)*dim], b.x[t*dim:(t+1)*dim], lw.FFNNorm, s.m.eps)
	}
	matmul(b.hb, lw.Gate, b.xb, n)
	matmul(b.hb2, lw.Up, b.xb, n)
	swiglu(b.hb[:n*hid], b.hb2)
	matmul(b.xb, lw.Down, b.hb, n)
	add(b.x[:n*dim], b.xb)
}

// output writes the logits of rows first..first+n-1 of the last step to dst.
func (s *State) output(dst []float32, first, n int) {
	c, w, b := &s.m.cfg, s.m.w, &s.buf
	dim := c.HiddenSize
	x := b.x[first*dim : (first+n)*dim]
	xb := b.xb[:n*dim]
	for t := 0; t < n; t++ {
		rmsnorm(xb[t*dim:(t+1)*dim], x[t*dim:(t+1)*dim], w.OutputNorm, s.m.eps)
	}
	matmul(dst, w.Output, xb, n)
}
