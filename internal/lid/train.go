package lid

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bayling-go/bayling/internal/lang"
)

// TrainOptions controls Train. Zero values pick the defaults noted.
type TrainOptions struct {
	Dim  int // embedding size; default 64
	MinN int // shortest character n-gram; default 1
	MaxN int // longest character n-gram; default 5
	// WordNgrams is 1 for word features only, 2 to add word bigrams; default 2.
	WordNgrams int
	Buckets    int      // hash buckets for n-grams and words; default 1<<19
	Epochs     int      // passes over the data; default 5
	LR         float64  // initial learning rate, decayed linearly to 0; default 0.5
	Seed       uint64   // shuffling and initialisation; default 1
	Languages  []string // train only these (any spelling lang.Lookup accepts); default all files
	MaxLines   int      // lines per language; default all
	// NoExperts skips the second stage (naive Bayes per cluster of
	// confusable languages, see expert.go).
	NoExperts bool
	// Threads > 1 trains Hogwild-style as fastText does: lock-free updates
	// from several goroutines, faster but no longer bit-reproducible.
	// Default 1 (deterministic).
	Threads int
	Logger  *slog.Logger
}

func (o *TrainOptions) defaults() {
	if o.Dim == 0 {
		o.Dim = 64
	}
	if o.MinN == 0 {
		o.MinN = 1
	}
	if o.MaxN == 0 {
		o.MaxN = 5
	}
	if o.WordNgrams == 0 {
		o.WordNgrams = 2
	}
	if o.Buckets == 0 {
		o.Buckets = 1 << 18
	}
	if o.Epochs == 0 {
		o.Epochs = 6
	}
	if o.LR == 0 {
		o.LR = 1.0
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Threads <= 0 {
		o.Threads = 1
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

func (o *TrainOptions) validate() error {
	switch {
	case o.Dim < 1 || o.Dim > 1024:
		return fmt.Errorf("dim %d out of range [1, 1024]", o.Dim)
	case o.MinN < 1 || o.MaxN < o.MinN || o.MaxN > 8:
		return fmt.Errorf("n-gram range [%d, %d] invalid (want 1 <= minn <= maxn <= 8)", o.MinN, o.MaxN)
	case o.WordNgrams < 1 || o.WordNgrams > 2:
		return fmt.Errorf("word n-grams %d not supported (want 1 or 2)", o.WordNgrams)
	case o.Buckets < 1 || o.Buckets > 1<<24:
		return fmt.Errorf("buckets %d out of range [1, %d]", o.Buckets, 1<<24)
	case o.Epochs < 1 || o.LR <= 0:
		return fmt.Errorf("epochs %d and lr %g must be positive", o.Epochs, o.LR)
	}
	return nil
}

// Example is one labelled training or evaluation sentence.
type Example struct {
	Label string
	Text  string
}

// dataExts are the file extensions ReadDir accepts, FLORES-style.
var dataExts = []string{".dev", ".devtest", ".txt"}

// ReadDir reads a FLORES-style folder: one file per language named
// LABEL.dev, LABEL.devtest or LABEL.txt, one sentence a line. Labels that
// lang.Lookup resolves are normalised to FLORES-200 codes. If only is
// non-empty, other languages are skipped. maxLines > 0 caps lines per file.
func ReadDir(dir string, only []string, maxLines int) ([]Example, error) {
	want := map[string]bool{}
	for _, s := range only {
		l, err := lang.Lookup(s)
		if err != nil {
			return nil, err
		}
		want[l.Code] = true
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("lid: %w", err)
	}
	var out []Example
	seen := map[string]bool{}
	for _, e := range ents {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || !hasExt(ext) {
			continue
		}
		label := strings.TrimSuffix(e.Name(), ext)
		if l, err := lang.Lookup(label); err == nil && strings.EqualFold(l.Code, label) {
			label = l.Code
		}
		if len(want) > 0 && !want[label] {
			continue
		}
		seen[label] = true
		ex, err := readLines(filepath.Join(dir, e.Name()), label, maxLines)
		if err != nil {
			return nil, err
		}
		out = append(out, ex...)
	}
	for code := range want {
		if !seen[code] {
			return nil, fmt.Errorf("lid: %s: no file for language %s (want %s.dev, .devtest or .txt)", dir, code, code)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("lid: %s: no .dev, .devtest or .txt files with text", dir)
	}
	return out, nil
}

func hasExt(ext string) bool {
	for _, e := range dataExts {
		if ext == e {
			return true
		}
	}
	return false
}

func readLines(path, label string, maxLines int) ([]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("lid: %w", err)
	}
	defer f.Close()
	var out []Example
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			out = append(out, Example{label, t})
			if maxLines > 0 && len(out) >= maxLines {
				break
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("lid: %s: line %d: %w", path, len(out)+1, err)
	}
	return out, nil
}

// Train reads a FLORES-style folder (see ReadDir) and trains a model on it.
func Train(ctx context.Context, dir string, opts TrainOptions) (*Model, error) {
	ex, err := ReadDir(dir, opts.Languages, opts.MaxLines)
	if err != nil {
		return nil, err
	}
	return TrainExamples(ctx, ex, opts)
}

// TrainExamples trains a model on labelled sentences with plain SGD on the
// softmax loss, restricted to the languages of each sentence's script, with
// the learning rate decayed linearly to zero as fastText does. It is
// deterministic for a given Seed.
func TrainExamples(ctx context.Context, examples []Example, opts TrainOptions) (*Model, error) {
	opts.defaults()
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("lid: train: %w", err)
	}
	start := time.Now()
	m := &Model{minN: opts.MinN, maxN: opts.MaxN, wordNg: opts.WordNgrams, buckets: uint32(opts.Buckets), dim: opts.Dim}
	labelID := map[string]int{}
	for _, e := range examples {
		if _, ok := labelID[e.Label]; !ok {
			labelID[e.Label] = 0
			m.labels = append(m.labels, e.Label)
		}
	}
	if len(m.labels) < 2 || len(m.labels) > 65535 {
		return nil, fmt.Errorf("lid: train: need between 2 and 65535 labels, got %d", len(m.labels))
	}
	sort.Strings(m.labels)
	for i, l := range m.labels {
		labelID[l] = i
	}
	m.init()

	rng := rand.New(rand.NewPCG(opts.Seed, 0x6c6964))
	m.in = make([]float32, opts.Buckets*opts.Dim)
	for i := range m.in {
		m.in[i] = (rng.Float32()*2 - 1) / float32(opts.Dim)
	}
	m.out = make([]float32, len(m.labels)*opts.Dim)

	// Features are extracted once; epochs then only do arithmetic.
	data := m.extractAll(examples, labelID)
	count := make([][]int, numScripts)
	for i := range count {
		count[i] = make([]int, len(m.labels))
	}
	perLabel := make([]int, len(m.labels))
	for i := range examples {
		count[data.scripts[i]][data.labels[i]]++
		perLabel[data.labels[i]]++
	}
	m.cands = buildCandidates(count, perLabel)
	opts.Logger.Info("lid: features extracted", "sentences", len(examples), "features", len(data.feats), "elapsed", time.Since(start).Round(time.Millisecond))

	order := make([]int, len(examples))
	for i := range order {
		order[i] = i
	}
	n := len(order)
	for epoch := 0; epoch < opts.Epochs; epoch++ {
		rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		losses := make([]float64, opts.Threads)
		errs := make([]error, opts.Threads)
		var wg sync.WaitGroup
		for t := 0; t < opts.Threads; t++ {
			wg.Add(1)
			go func(t int) {
				defer wg.Done()
				s := m.scratch.Get().(*scratch)
				defer m.scratch.Put(s)
				part := order[t*n/opts.Threads : (t+1)*n/opts.Threads]
				for k, i := range part {
					if k%4096 == 0 && ctx.Err() != nil {
						errs[t] = ctx.Err()
						return
					}
					progress := (float64(epoch*n) + float64(k*opts.Threads)) / float64(opts.Epochs*n)
					lr := float32(opts.LR * max(0, 1-progress))
					losses[t] += m.update(s, data.row(i), data.scripts[i], data.labels[i], lr)
				}
			}(t)
		}
		wg.Wait()
		var loss float64
		for t := range losses {
			if errs[t] != nil {
				return nil, fmt.Errorf("lid: train: %w", errs[t])
			}
			loss += losses[t]
		}
		opts.Logger.Info("lid: epoch", "epoch", epoch+1, "loss", loss/float64(n), "elapsed", time.Since(start).Round(time.Millisecond))
	}
	roundF16(m.in) // the precision Save keeps, so a reloaded model is identical
	if !opts.NoExperts {
		clusters := m.findClusters(data, clusterPMin, clusterMinShare, clusterMaxSize)
		m.trainExperts(data, clusters)
		var names []string
		for _, c := range clusters {
			var l []string
			for _, id := range c {
				l = append(l, m.labels[id])
			}
			names = append(names, strings.Join(l, "+"))
		}
		opts.Logger.Info("lid: experts", "clusters", names, "elapsed", time.Since(start).Round(time.Millisecond))
	}
	return m, nil
}

// trainData holds every sentence's features in one arena.
type trainData struct {
	feats   []uint32
	starts  []int // sentence i has feats[starts[i]:starts[i+1]]
	scripts []uint8
	labels  []uint16
}

func (d *trainData) row(i int) []uint32 { return d.feats[d.starts[i]:d.starts[i+1]] }

func (m *Model) extractAll(examples []Example, labelID map[string]int) *trainData {
	d := &trainData{
		starts:  make([]int, 1, len(examples)+1),
		scripts: make([]uint8, len(examples)),
		labels:  make([]uint16, len(examples)),
	}
	ex := newExtractor(m.wordNg > 1)
	for i, e := range examples {
		d.labels[i] = uint16(labelID[e.Label])
		d.scripts[i] = ex.extract(e.Text, m.minN, m.maxN, m.buckets)
		d.feats = append(d.feats, ex.feats...)
		d.starts = append(d.starts, len(d.feats))
	}
	return d
}

// Cluster discovery thresholds (see findClusters).
const (
	clusterPMin     = 0.1
	clusterMinShare = 0.02
	clusterMaxSize  = 12
)

// buildCandidates admits a class for a script when at least 1% (and at least
// 2) of its sentences are mostly written in it, so a stray quotation does
// not make every script a candidate for every language.
func buildCandidates(count [][]int, perLabel []int) [][]uint16 {
	cands := make([][]uint16, len(count))
	for s := 1; s < len(count); s++ {
		for c, n := range count[s] {
			if n >= 2 && n*100 >= perLabel[c] {
				cands[s] = append(cands[s], uint16(c))
			}
		}
	}
	return cands
}

// update does one SGD step on (text, label) and returns its loss.
func (m *Model) update(s *scratch, feats []uint32, script uint8, label uint16, lr float32) float64 {
	if len(feats) == 0 {
		return 0
	}
	m.hidden(s.hidden, feats)
	cands := m.candidates(script)
	if !containsClass(cands, label) {
		cands = m.all
	}
	softmax(s.scores, m.out, s.hidden, cands)
	d := m.dim
	clear(s.grad)
	for _, c := range cands {
		target := float32(0)
		if c == label {
			target = 1
		}
		alpha := lr * (target - s.scores[c])
		row := m.out[int(c)*d : int(c)*d+d]
		axpy(s.grad, alpha, row)
		axpy(row, alpha, s.hidden)
	}
	scale(s.grad, 1/float32(len(feats)))
	for _, f := range feats {
		addTo(m.in[int(f)*d:int(f)*d+d], s.grad)
	}
	return -logf(s.scores[label])
}

func containsClass(cands []uint16, c uint16) bool {
	for _, x := range cands {
		if x == c {
			return true
		}
	}
	return false
}
