package lid

import "math"

// buildTree is HierarchicalSoftmaxLoss::buildTree: a Huffman tree over the
// label counts, leaves 0..n-1, internal nodes n..2n-2, root last.
func (m *FastText) buildTree() {
	n := len(m.labels)
	m.tree = make([]ftNode, 2*n-1)
	count := make([]int64, 2*n-1)
	for i := range m.tree {
		m.tree[i] = ftNode{-1, -1}
		count[i] = 1e15
	}
	copy(count, m.labelCounts)
	leaf, node := n-1, n
	for i := n; i < 2*n-1; i++ {
		var mini [2]int
		for j := range mini {
			if leaf >= 0 && count[leaf] < count[node] {
				mini[j] = leaf
				leaf--
			} else {
				mini[j] = node
				node++
			}
		}
		m.tree[i] = ftNode{int32(mini[0]), int32(mini[1])}
		count[i] = count[mini[0]] + count[mini[1]]
	}
}

// Labels returns the model's labels without the "__label__" prefix.
func (m *FastText) Labels() []string { return append([]string(nil), m.labels...) }

// Predict returns fastText's top label and probability; ("", 0) when the
// text yields no features at all.
func (m *FastText) Predict(text string) (string, float64) {
	s := m.pool.Get().(*ftScratch)
	defer m.pool.Put(s)
	m.predict(s, text, 1)
	if len(s.heap) == 0 {
		return "", 0
	}
	return m.labels[s.heap[0].label], math.Exp(float64(s.heap[0].score))
}

// PredictK returns fastText's k best labels, as `fasttext predict-prob`.
func (m *FastText) PredictK(text string, k int) []Prediction {
	s := m.pool.Get().(*ftScratch)
	defer m.pool.Put(s)
	m.predict(s, text, k)
	out := make([]Prediction, len(s.heap))
	for i, p := range s.heap {
		out[i] = Prediction{m.labels[p.label], math.Exp(float64(p.score))}
	}
	return out
}

func (m *FastText) predict(s *ftScratch, text string, k int) {
	s.heap = s.heap[:0]
	if k <= 0 {
		return
	}
	m.features(s, text)
	if len(s.feats) == 0 {
		return
	}
	h := s.hidden
	clear(h)
	d := m.dim
	for _, f := range s.feats {
		// Element-wise sums: the SIMD loop adds in fastText's order.
		addTo(h, m.in[int(f)*d:int(f)*d+d])
	}
	scale(h, float32(1.0/float64(len(s.feats))))
	switch m.loss {
	case ftLossHS:
		m.dfs(s, k, int32(2*len(m.labels)-2), 0)
	case ftLossSM:
		m.softmax(s)
		m.kbest(s, k)
	default: // ns, ova: independent sigmoids through fastText's lookup table
		for i := range s.output {
			s.output[i] = m.tableSigmoid(seqDot(m.out[i*d:i*d+d], h))
		}
		m.kbest(s, k)
	}
	heapSort(s.heap)
}

// seqDot sums in index order, as fastText's DenseMatrix::dotRow does, so
// scores match it bit for bit more often than a reassociated SIMD sum would.
func seqDot(a, b []float32) float32 {
	var s float32
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

func (m *FastText) softmax(s *ftScratch) {
	d := m.dim
	out := s.output
	for i := range out {
		out[i] = seqDot(m.out[i*d:i*d+d], s.hidden)
	}
	maxv := out[0]
	for _, v := range out {
		maxv = max(maxv, v)
	}
	var z float32
	for i, v := range out {
		out[i] = float32(math.Exp(float64(v - maxv)))
		z += out[i]
	}
	for i := range out {
		out[i] /= z
	}
}

func (m *FastText) tableSigmoid(x float32) float32 {
	switch {
	case x < -ftMaxSigmoid:
		return 0
	case x > ftMaxSigmoid:
		return 1
	}
	return m.sigmoid[int64((x+ftMaxSigmoid)*ftSigTable/ftMaxSigmoid/2)]
}

// stdLog is fastText's std_log: log(x + 1e-5), the sum taken in double.
func stdLog(x float32) float32 { return float32(math.Log(float64(x) + 1e-5)) }

// kbest is Loss::findKBest with a threshold of 0.
func (m *FastText) kbest(s *ftScratch, k int) {
	for i, p := range s.output {
		m.push(s, k, ftPred{stdLog(p), int32(i)})
	}
}

// push adds p to the k-best min-heap exactly as fastText does with
// std::push_heap/pop_heap, so that ties come out in fastText's order.
func (m *FastText) push(s *ftScratch, k int, p ftPred) {
	if len(s.heap) == k && p.score < s.heap[0].score {
		return
	}
	s.heap = append(s.heap, p)
	heapPush(s.heap, len(s.heap)-1, 0, p)
	if len(s.heap) > k {
		heapPop(s.heap)
		s.heap = s.heap[:len(s.heap)-1]
	}
}

// The heap helpers transcribe libstdc++'s __push_heap, __adjust_heap and
// __pop_heap with fastText's comparator (a > b: a min-heap on score).
func heapLess(a, b ftPred) bool { return a.score > b.score }

func heapPush(h []ftPred, hole, top int, v ftPred) {
	parent := (hole - 1) / 2
	for hole > top && heapLess(h[parent], v) {
		h[hole] = h[parent]
		hole = parent
		parent = (hole - 1) / 2
	}
	h[hole] = v
}

func heapAdjust(h []ftPred, hole, n int, v ftPred) {
	top, child := hole, hole
	for child < (n-1)/2 {
		child = 2 * (child + 1)
		if heapLess(h[child], h[child-1]) {
			child--
		}
		h[hole] = h[child]
		hole = child
	}
	if n&1 == 0 && child == (n-2)/2 {
		child = 2 * (child + 1)
		h[hole] = h[child-1]
		hole = child - 1
	}
	heapPush(h, hole, top, v)
}

// heapPop moves the heap's top to the last slot (std::pop_heap).
func heapPop(h []ftPred) {
	if len(h) < 2 {
		return
	}
	last := len(h) - 1
	v := h[last]
	h[last] = h[0]
	heapAdjust(h, 0, last, v)
}

// heapSort is std::sort_heap: best score first.
func heapSort(h []ftPred) {
	for n := len(h); n > 1; n-- {
		heapPop(h[:n])
	}
}

// dfs is HierarchicalSoftmaxLoss::dfs with a threshold of 0.
func (m *FastText) dfs(s *ftScratch, k int, node int32, score float32) {
	if score < stdLog(0) {
		return
	}
	if len(s.heap) == k && score < s.heap[0].score {
		return
	}
	n := m.tree[node]
	if n.left == -1 && n.right == -1 {
		s.heap = append(s.heap, ftPred{score, node})
		heapPush(s.heap, len(s.heap)-1, 0, ftPred{score, node})
		if len(s.heap) > k {
			heapPop(s.heap)
			s.heap = s.heap[:len(s.heap)-1]
		}
		return
	}
	d := m.dim
	row := int(node) - len(m.labels)
	f := seqDot(m.out[row*d:row*d+d], s.hidden)
	f = float32(1 / float64(1+float32(math.Exp(-float64(f)))))
	m.dfs(s, k, n.left, score+stdLog(float32(1-float64(f))))
	m.dfs(s, k, n.right, score+stdLog(f))
}

// features is Dictionary::getLine for one line: whitespace-separated tokens
// up to the first newline, then "</s>".
func (m *FastText) features(s *ftScratch, text string) {
	s.feats, s.hashes = s.feats[:0], s.hashes[:0]
	i := 0
	for {
		for i < len(text) && isFTSpace(text[i]) && text[i] != '\n' {
			i++
		}
		if i >= len(text) || text[i] == '\n' {
			break
		}
		j := i
		for j < len(text) && !isFTSpace(text[j]) {
			j++
		}
		m.token(s, text[i:j])
		i = j
	}
	m.token(s, ftEOS)
	m.wordNgramFeats(s)
}

func isFTSpace(c byte) bool {
	switch c {
	case ' ', '\n', '\r', '\t', '\v', '\f', 0:
		return true
	}
	return false
}

func (m *FastText) token(s *ftScratch, tok string) {
	wid, known := m.words[tok]
	if !known && len(tok) >= len(m.labelPrefix) && tok[:len(m.labelPrefix)] == m.labelPrefix {
		return // a label in the input: fastText skips it
	}
	if known {
		s.feats = append(s.feats, wid)
	}
	if tok != ftEOS && (known && m.maxn > 0 || !known) {
		m.subwords(s, tok)
	}
	s.hashes = append(s.hashes, int32(ftHash(tok)))
}

// ftHash is fastText's FNV-1a with each byte sign-extended (its historical
// signed-char behaviour, kept for model compatibility).
func ftHash(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(int32(int8(s[i])))
		h *= 16777619
	}
	return h
}

// subwords is Dictionary::computeSubwords over "<" + tok + ">", walking
// UTF-8 characters and hashing incrementally.
func (m *FastText) subwords(s *ftScratch, tok string) {
	if m.bucket == 0 || m.maxn <= 0 {
		return
	}
	w := append(append(append(s.word[:0], '<'), tok...), '>')
	s.word = w
	for i := 0; i < len(w); i++ {
		if w[i]&0xC0 == 0x80 {
			continue
		}
		h := uint32(2166136261)
		for j, n := i, 1; j < len(w) && n <= m.maxn; n++ {
			h = (h ^ uint32(int32(int8(w[j])))) * 16777619
			j++
			for j < len(w) && w[j]&0xC0 == 0x80 {
				h = (h ^ uint32(int32(int8(w[j])))) * 16777619
				j++
			}
			if n >= m.minn && !(n == 1 && (i == 0 || j == len(w))) {
				s.feats = append(s.feats, m.nwords+int32(h%uint32(m.bucket)))
			}
		}
	}
}

// wordNgramFeats is Dictionary::addWordNgrams (note the sign extension of
// the int32 hashes into uint64, which fastText does too).
func (m *FastText) wordNgramFeats(s *ftScratch) {
	if m.bucket == 0 {
		return
	}
	hs := s.hashes
	for i := range hs {
		h := uint64(int64(hs[i]))
		for j := i + 1; j < len(hs) && j < i+m.wordNgrams; j++ {
			h = h*116049371 + uint64(int64(hs[j]))
			s.feats = append(s.feats, m.nwords+int32(h%uint64(m.bucket)))
		}
	}
}
