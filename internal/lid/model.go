// Package lid identifies the language of a text. Its own classifier is
// fastText-style: hashed character n-grams of every word are averaged into a
// dense vector and scored by a linear softmax over languages. A first stage
// finds the text's dominant Unicode script, which narrows the candidates to
// the languages seen written in it during training (a Hangul sentence is only
// ever Korean). The package also reads fastText's own .bin models (GlotLID,
// OpenLID) and predicts exactly as fastText does.
package lid

import (
	"math"
	"sort"
	"sync"
)

// Predictor is what the CLI and the data builder need from a LID model.
type Predictor interface {
	// Predict returns the most likely label and its probability.
	Predict(text string) (label string, prob float64)
	// PredictK returns the k most likely labels, most likely first.
	PredictK(text string, k int) []Prediction
	// Labels lists every label the model can return.
	Labels() []string
}

// Prediction is one label with its probability.
type Prediction struct {
	Label string
	Prob  float64
}

// Model is a trained classifier. It is immutable after Train or Load and safe
// for concurrent use.
type Model struct {
	labels  []string
	minN    int
	maxN    int
	wordNg  int // 1: words only; 2: also word bigrams
	buckets uint32
	dim     int
	in      []float32 // buckets × dim: n-gram embeddings
	out     []float32 // len(labels) × dim: class vectors
	// cands[s] lists the classes seen written in script s; empty means all.
	cands [][]uint16
	all   []uint16
	// Second stage (expert.go): naive Bayes per cluster of close languages.
	nbBuckets uint32
	experts   []expert
	expertOf  []int16 // per class: index into experts, or -1

	scratch sync.Pool // *scratch
}

type scratch struct {
	nb     []float64 // expert posteriors
	ex     *extractor
	hidden []float32
	scores []float32
	grad   []float32
}

func (m *Model) init() {
	m.all = make([]uint16, len(m.labels))
	for i := range m.all {
		m.all[i] = uint16(i)
	}
	m.scratch.New = func() any {
		return &scratch{
			ex:     newExtractor(m.wordNg > 1),
			hidden: make([]float32, m.dim),
			scores: make([]float32, len(m.labels)),
			grad:   make([]float32, m.dim),
			nb:     make([]float64, m.maxExpert()),
		}
	}
}

func (m *Model) maxExpert() int {
	n := 0
	for _, e := range m.experts {
		n = max(n, len(e.classes))
	}
	return n
}

// Labels returns the model's labels (FLORES-200 codes for models trained here).
func (m *Model) Labels() []string { return append([]string(nil), m.labels...) }

// Predict returns the most likely language of text and its probability.
// Text without letters has no features: every language is equally likely
// (probability 1/len(Labels())) and the first label is returned, so callers
// should treat low probabilities as "unknown".
func (m *Model) Predict(text string) (string, float64) {
	s := m.scratch.Get().(*scratch)
	cands := m.forward(s, text)
	best := cands[0]
	for _, c := range cands[1:] {
		if s.scores[c] > s.scores[best] {
			best = c
		}
	}
	p := float64(s.scores[best])
	m.scratch.Put(s)
	return m.labels[best], p
}

// PredictK returns the k most likely languages, most likely first.
func (m *Model) PredictK(text string, k int) []Prediction {
	s := m.scratch.Get().(*scratch)
	defer m.scratch.Put(s)
	cands := m.forward(s, text)
	out := make([]Prediction, 0, len(cands))
	for _, c := range cands {
		out = append(out, Prediction{m.labels[c], float64(s.scores[c])})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Prob > out[j].Prob })
	if k < len(out) {
		out = out[:max(k, 0)]
	}
	return out
}

// forward computes the hidden vector and the softmax over the candidate
// classes into s.scores, returning the candidates.
func (m *Model) forward(s *scratch, text string) []uint16 {
	script := s.ex.extract(text, m.minN, m.maxN, m.buckets)
	m.hidden(s.hidden, s.ex.feats)
	cands := m.candidates(script)
	clear(s.scores)
	softmax(s.scores, m.out, s.hidden, cands)
	best := cands[0]
	for _, c := range cands[1:] {
		if s.scores[c] > s.scores[best] {
			best = c
		}
	}
	m.refine(s, best)
	return cands
}

func (m *Model) candidates(script uint8) []uint16 {
	if int(script) < len(m.cands) && len(m.cands[script]) > 0 {
		return m.cands[script]
	}
	return m.all
}

// hidden averages the embedding rows of feats into h.
func (m *Model) hidden(h []float32, feats []uint32) {
	clear(h)
	if len(feats) == 0 {
		return
	}
	d := m.dim
	for _, f := range feats {
		row := m.in[int(f)*d : int(f)*d+d]
		addTo(h, row)
	}
	scale(h, 1/float32(len(feats)))
}

// softmax writes p(c) for c in cands into scores (other entries untouched).
func softmax(scores, out, h []float32, cands []uint16) {
	d := len(h)
	maxv := float32(math.Inf(-1))
	for _, c := range cands {
		v := dot(out[int(c)*d:int(c)*d+d], h)
		scores[c] = v
		maxv = max(maxv, v)
	}
	var sum float32
	for _, c := range cands {
		e := float32(math.Exp(float64(scores[c] - maxv)))
		scores[c] = e
		sum += e
	}
	for _, c := range cands {
		scores[c] /= sum
	}
}

func scale(v []float32, a float32) {
	for i := range v {
		v[i] *= a
	}
}
