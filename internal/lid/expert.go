package lid

import (
	"math"
	"sort"
)

// Second stage: naive Bayes experts for clusters of confusable languages.
//
// The shared softmax tells scripts and families apart well but blurs close
// varieties (Malay/Indonesian, Danish/Bokmål, Arabic dialects): their few
// distinguishing n-grams are drowned in the average of hundreds of shared
// ones. Multinomial naive Bayes sums the evidence of every n-gram instead,
// which is what separates close varieties. After the softmax is trained, the
// clusters are found from its own uncertainty on the training data, and one
// naive Bayes model is fitted per cluster. At prediction time, when the
// softmax's best language is in a cluster, the expert redistributes the
// cluster's probability mass among its members.

const (
	nbBucketsMax = 1 << 17
	nbAlpha      = 0.3 // additive smoothing, tuned on FLORES dev→devtest
)

type expert struct {
	classes []uint16  // model class ids
	logp    []float32 // nbBuckets × len(classes): log P(feature | class)
}

// findClusters groups classes the trained softmax confuses on the training
// data: a pair is linked when, over both classes' sentences, at least
// minShare of them give the other class a probability above pMin. Links are
// merged strongest first into clusters of at most maxSize classes.
func (m *Model) findClusters(data *trainData, pMin float32, minShare float64, maxSize int) [][]uint16 {
	nl := len(m.labels)
	conf := make([]int, nl*nl)
	per := make([]int, nl)
	s := m.scratch.Get().(*scratch)
	defer m.scratch.Put(s)
	for i := range data.labels {
		g := data.labels[i]
		per[g]++
		feats := data.row(i)
		if len(feats) == 0 {
			continue
		}
		m.hidden(s.hidden, feats)
		cands := m.candidates(data.scripts[i])
		softmax(s.scores, m.out, s.hidden, cands)
		for _, c := range cands {
			if c != g && s.scores[c] > pMin {
				conf[int(g)*nl+int(c)]++
			}
		}
	}
	type link struct {
		a, b  int
		share float64
	}
	var links []link
	for a := 0; a < nl; a++ {
		for b := a + 1; b < nl; b++ {
			n := per[a] + per[b]
			if n == 0 {
				continue
			}
			share := float64(conf[a*nl+b]+conf[b*nl+a]) / float64(n)
			if share >= minShare {
				links = append(links, link{a, b, share})
			}
		}
	}
	sort.Slice(links, func(i, j int) bool { return links[i].share > links[j].share })
	parent := make([]int, nl)
	size := make([]int, nl)
	for i := range parent {
		parent[i], size[i] = i, 1
	}
	var find func(int) int
	find = func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for _, l := range links {
		ra, rb := find(l.a), find(l.b)
		if ra != rb && size[ra]+size[rb] <= maxSize {
			parent[rb] = ra
			size[ra] += size[rb]
		}
	}
	groups := map[int][]uint16{}
	for c := 0; c < nl; c++ {
		r := find(c)
		groups[r] = append(groups[r], uint16(c))
	}
	var out [][]uint16
	for _, g := range groups {
		if len(g) > 1 {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// trainExperts fits one naive Bayes model per cluster on the training data.
func (m *Model) trainExperts(data *trainData, clusters [][]uint16) {
	m.nbBuckets = min(nbBucketsMax, m.buckets)
	m.experts = nil
	m.expertOf = make([]int16, len(m.labels))
	for i := range m.expertOf {
		m.expertOf[i] = -1
	}
	for ei, cl := range clusters {
		k := len(cl)
		slot := map[uint16]int{}
		for j, c := range cl {
			slot[c] = j
			m.expertOf[c] = int16(ei)
		}
		counts := make([]float64, int(m.nbBuckets)*k)
		tot := make([]float64, k)
		for i, g := range data.labels {
			j, ok := slot[g]
			if !ok {
				continue
			}
			for _, f := range data.row(i) {
				counts[int(f%m.nbBuckets)*k+j]++
				tot[j]++
			}
		}
		e := expert{classes: cl, logp: make([]float32, len(counts))}
		v := nbAlpha * float64(m.nbBuckets)
		for f := 0; f < int(m.nbBuckets); f++ {
			for j := 0; j < k; j++ {
				e.logp[f*k+j] = float32(math.Log((counts[f*k+j] + nbAlpha) / (tot[j] + v)))
			}
		}
		m.experts = append(m.experts, e)
	}
}

// refine applies the expert of the softmax's best class, if any: the
// cluster's total probability is shared among its members in proportion to
// their naive Bayes posteriors. It rewrites s.scores for those members.
func (m *Model) refine(s *scratch, best uint16) {
	if len(m.expertOf) == 0 || m.expertOf[best] < 0 {
		return
	}
	e := &m.experts[m.expertOf[best]]
	k := len(e.classes)
	if cap(s.nb) < k { // scratch made before the experts existed
		s.nb = make([]float64, k)
	}
	nb := s.nb[:k]
	clear(nb)
	for _, f := range s.ex.feats {
		row := e.logp[int(f%m.nbBuckets)*k : int(f%m.nbBuckets)*k+k]
		for j, v := range row {
			nb[j] += float64(v)
		}
	}
	// Members outside the script's candidates have score 0 and stay out.
	maxv := math.Inf(-1)
	var mass float64
	for j, c := range e.classes {
		if s.scores[c] > 0 {
			mass += float64(s.scores[c])
			maxv = max(maxv, nb[j])
		}
	}
	var z float64
	for j, c := range e.classes {
		if s.scores[c] > 0 {
			nb[j] = math.Exp(nb[j] - maxv)
			z += nb[j]
		}
	}
	for j, c := range e.classes {
		if s.scores[c] > 0 {
			s.scores[c] = float32(mass * nb[j] / z)
		}
	}
}
