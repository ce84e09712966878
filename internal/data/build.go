package data

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"

	"github.com/bayling-go/bayling/internal/lid"
)

// Counts reconcile a build: In = Out + the sum of Dropped.
type Counts struct {
	In      int64            `json:"in"`
	Out     int64            `json:"out"`
	Dropped map[string]int64 `json:"dropped"`
}

func (c *Counts) drop(reason string) {
	if c.Dropped == nil {
		c.Dropped = map[string]int64{}
	}
	c.Dropped[reason]++
}

func (c *Counts) add(o Counts) {
	c.In += o.In
	c.Out += o.Out
	for k, v := range o.Dropped {
		if c.Dropped == nil {
			c.Dropped = map[string]int64{}
		}
		c.Dropped[k] += v
	}
}

// Options are the parts of a build that are not in the recipe.
type Options struct {
	LID      lid.Predictor               // language identifier for the LID filter; nil disables it
	Progress func(stage string, n int64) // called now and then with records done
	Log      *slog.Logger
}

// workDir holds the per-input spill files that let a killed build resume.
const workDir = ".work"

// Build runs a recipe into outDir. Each input is generated, filtered and
// deduplicated into its own spill file, written atomically; a rerun after a
// kill skips finished inputs (replaying their records into the dedup state)
// and rebuilds the rest, so the output bytes are the same as an
// uninterrupted build's.
func Build(ctx context.Context, r *Recipe, outDir string, opt Options) (*Manifest, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	work := filepath.Join(outDir, workDir, r.Hash())
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	gen := &GenConfig{Seed: r.Seed, Hubs: r.Hubs, Pairs: r.Pairs, TemplateMix: r.TemplateMix, MultiTurnRate: r.MultiTurn, Name: DefaultNamer}
	dd := NewDedup(r.near())
	var total Counts
	var malformed []string
	for i, in := range r.Inputs {
		spill := filepath.Join(work, fmt.Sprintf("input-%03d.jsonl", i))
		countsPath := spill + ".counts.json"
		var c Counts
		if err := readJSON(countsPath, &c); err == nil {
			opt.Log.Info("resume: input already built", "input", in.Path)
			if err := replay(spill, dd); err != nil {
				return nil, err
			}
		} else {
			bad, err := buildInput(ctx, r, i, in, gen, dd, opt, spill, &c)
			if err != nil {
				return nil, err
			}
			malformed = append(malformed, bad...)
			if err := writeJSONAtomic(countsPath, c); err != nil {
				return nil, err
			}
		}
		total.add(c)
	}
	return finish(ctx, r, outDir, work, total, malformed, opt)
}

// unit is one piece of input: an aligned sentence, an instruction, or a
// parallel instruction.
type unit struct {
	par  *Parallel
	ins  *Instruction
	pins *ParallelInstruction
}

func buildInput(ctx context.Context, r *Recipe, index int, in Input, gen *GenConfig, dd *Dedup, opt Options, spill string, c *Counts) ([]string, error) {
	var malformed []string
	bad := func(where string, err error) {
		c.In++
		c.drop(DropMalformed)
		if len(malformed) < 1000 {
			malformed = append(malformed, fmt.Sprintf("%s: %v", where, err))
		}
		opt.Log.Warn("skipping malformed input", "at", where, "err", err)
	}
	units, err := openInput(r, index, in, bad)
	if err != nil {
		return nil, err
	}
	if in.Limit > 0 {
		units = limit(units, in.Limit)
	}
	w, err := newAtomicWriter(spill)
	if err != nil {
		return nil, err
	}
	defer w.abort()
	enc := json.NewEncoder(w.buf)
	workers := r.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// Units are processed in batches: generation and filters run in
	// parallel, dedup and writing in input order, so output is deterministic.
	// A multiway unit yields hundreds of records (every language, both
	// directions, both hubs), so its batches are small to bound memory.
	batchSize := 256
	if in.Kind == "multiway" {
		batchSize = 16
	}
	batch := make([]unit, 0, batchSize)
	results := make([][]Record, batchSize)
	keys := make([][]dedupKeys, batchSize)
	drops := make([][]string, batchSize)
	flush := func() error {
		var wg sync.WaitGroup
		next := make(chan int, len(batch))
		for i := range batch {
			next <- i
		}
		close(next)
		for range min(workers, len(batch)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					results[i], drops[i] = process(r, gen, batch[i], opt.LID, results[i][:0], drops[i][:0])
					keys[i] = keys[i][:0]
					for j := range results[i] {
						keys[i] = append(keys[i], dd.Keys(&results[i][j]))
					}
				}
			}()
		}
		wg.Wait()
		for i := range batch {
			for _, reason := range drops[i] {
				c.In++
				c.drop(reason)
			}
			for j := range results[i] {
				rec := &results[i][j]
				c.In++
				if reason := dd.CheckKeys(keys[i][j]); reason != "" {
					c.drop(reason)
					continue
				}
				c.Out++
				if err := enc.Encode(spillRecord{rec, rec.payloadSrc}); err != nil {
					return err
				}
			}
		}
		if opt.Progress != nil {
			opt.Progress("generate", c.In)
		}
		batch = batch[:0]
		return ctx.Err()
	}
	for u, err := range units {
		if err != nil {
			return nil, err
		}
		batch = append(batch, u)
		if len(batch) == batchSize {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return malformed, w.commit()
}

// process generates the records of one unit and applies the filters.
func process(r *Recipe, gen *GenConfig, u unit, id lid.Predictor, keep []Record, drops []string) ([]Record, []string) {
	// The texts of one unit recur across its records (a sentence is the
	// source of some directions and the answer of others): identify each once.
	var memo lid.Predictor
	if id != nil {
		memo = &memoLID{Predictor: id, seen: map[string][]lid.Prediction{}}
	}
	emit := func(rec Record) {
		if reason := r.Filters.check(&rec, memo); reason != "" {
			drops = append(drops, reason)
			return
		}
		keep = append(keep, rec)
	}
	switch {
	case u.par != nil:
		gen.Translations(*u.par, emit)
		gen.MultiTurn(*u.par, emit)
	case u.ins != nil:
		emit(Passthrough(*u.ins))
	case u.pins != nil:
		gen.CrossLingual(*u.pins, emit)
	}
	return keep, drops
}

// spillRecord carries the unexported payload through the spill file.
type spillRecord struct {
	*Record
	Src string `json:"payload_src,omitempty"`
}

func readSpill(path string) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		f, err := os.Open(path)
		if err != nil {
			yield(Record{}, err)
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 1<<16), maxLine)
		for n := 1; sc.Scan(); n++ {
			var s struct {
				Record
				Src string `json:"payload_src"`
			}
			if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
				yield(Record{}, fmt.Errorf("%s:%d: %w", path, n, err))
				return
			}
			s.Record.payloadSrc = s.Src
			if !yield(s.Record, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(Record{}, fmt.Errorf("%s: %w", path, err))
		}
	}
}

// replay feeds a finished spill back into the dedup state.
func replay(spill string, dd *Dedup) error {
	for rec, err := range readSpill(spill) {
		if err != nil {
			return err
		}
		if reason := dd.Check(&rec); reason != "" {
			return fmt.Errorf("%s: record %s is a duplicate on replay (%s): the spill does not match this recipe; delete %s", spill, rec.ID, reason, filepath.Dir(spill))
		}
	}
	return nil
}

// openInput reads one input as units. A unit's Origin, which record ids
// and template choices derive from, is its input's position in the recipe
// and its own position in the input: the same recipe gives the same
// records wherever its files are.
func openInput(r *Recipe, index int, in Input, bad Reporter) (iter.Seq2[unit, error], error) {
	origin := func(n int) string { return UnitOrigin(index, n) }
	wrapPar := func(seq iter.Seq2[Parallel, error]) iter.Seq2[unit, error] {
		return func(yield func(unit, error) bool) {
			n := 0
			for p, err := range seq {
				n++
				p.Origin = origin(n)
				if !yield(unit{par: &p}, err) || err != nil {
					return
				}
			}
		}
	}
	switch in.Kind {
	case "multiway":
		seq, _, err := ReadMultiway(in.Path, in.Ext, r.Languages)
		if err != nil {
			return nil, err
		}
		return wrapPar(seq), nil
	case "tsv":
		return wrapPar(ReadTSV(in.Path, in.Src, in.Tgt, bad)), nil
	case "moses":
		return wrapPar(ReadMoses(in.Path, in.TgtPath, in.Src, in.Tgt)), nil
	case "bitext-jsonl":
		return wrapPar(ReadBitextJSONL(in.Path, in.Src, in.Tgt, in.SrcField, in.TgtField, bad)), nil
	case "instructions":
		return func(yield func(unit, error) bool) {
			n := 0
			for ins, err := range ReadInstructions(in.Path, in.Lang, bad) {
				n++
				ins.Origin = origin(n)
				if !yield(unit{ins: &ins}, err) || err != nil {
					return
				}
			}
		}, nil
	case "parallel-instructions":
		return func(yield func(unit, error) bool) {
			n := 0
			for pi, err := range ReadParallelInstructions(in.Path, bad) {
				n++
				pi.Origin = origin(n)
				if pi.ID == "" {
					pi.ID = pi.Origin
				}
				if !yield(unit{pins: &pi}, err) || err != nil {
					return
				}
			}
		}, nil
	}
	return nil, fmt.Errorf("unknown input kind %q", in.Kind)
}

func limit[T any](seq iter.Seq2[T, error], n int) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		i := 0
		for v, err := range seq {
			if i == n || !yield(v, err) {
				return
			}
			i++
		}
	}
}

// ReadParallelInstructions reads {"id", "instruction": {lang: text}, "output": {lang: text}} lines.
func ReadParallelInstructions(path string, bad Reporter) iter.Seq2[ParallelInstruction, error] {
	return func(yield func(ParallelInstruction, error) bool) {
		lr, err := openLines(path)
		if err != nil {
			yield(ParallelInstruction{}, err)
			return
		}
		defer lr.Close()
		for {
			line, ok := lr.next()
			if !ok {
				if err := lr.err(); err != nil {
					yield(ParallelInstruction{}, err)
				}
				return
			}
			if len(line) == 0 {
				continue
			}
			var pi ParallelInstruction
			if err := json.Unmarshal([]byte(line), &pi); err != nil {
				bad(lr.where(), fmt.Errorf("invalid JSON: %v", err))
				continue
			}
			if len(pi.Instruction) == 0 || len(pi.Output) == 0 {
				bad(lr.where(), errors.New("want non-empty \"instruction\" and \"output\" maps of language to text"))
				continue
			}
			pi.Origin = lr.where()
			if !yield(pi, nil) {
				return
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// memoLID caches predictions per text for one unit; not safe for
// concurrent use (each worker has its own).
type memoLID struct {
	lid.Predictor
	seen map[string][]lid.Prediction
}

func (m *memoLID) PredictK(text string, k int) []lid.Prediction {
	if p, ok := m.seen[text]; ok && len(p) >= k {
		return p[:k]
	}
	p := m.Predictor.PredictK(text, k)
	m.seen[text] = p
	return p
}
