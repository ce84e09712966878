package metrics

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// A Segment is one hypothesis with its references. Segments of a corpus may
// have different numbers of references (sacreBLEU's None placeholders); the
// signature then says nrefs:var.
type Segment struct {
	Hyp  string
	Refs []string
}

// Segments zips a hypothesis stream with reference streams (refs[k][i] is
// the k-th reference of hypothesis i), as sacreBLEU's corpus_score takes
// them. Every stream must have len(hyps) lines.
func Segments(hyps []string, refs [][]string) ([]Segment, error) {
	if len(refs) == 0 {
		return nil, errors.New("no reference streams")
	}
	for k, r := range refs {
		if len(r) != len(hyps) {
			return nil, fmt.Errorf("reference stream %d has %d lines, hypotheses have %d", k+1, len(r), len(hyps))
		}
	}
	flat := make([]string, len(hyps)*len(refs))
	segs := make([]Segment, len(hyps))
	for i, h := range hyps {
		rs := flat[i*len(refs) : (i+1)*len(refs) : (i+1)*len(refs)]
		for k := range refs {
			rs[k] = refs[k][i]
		}
		segs[i] = Segment{Hyp: h, Refs: rs}
	}
	return segs, nil
}

// validate rejects what sacreBLEU could never have been given: an empty
// corpus, a segment without references, text that is not UTF-8.
func validate(segs []Segment) error {
	if len(segs) == 0 {
		return errors.New("no segments to score")
	}
	for i, s := range segs {
		if len(s.Refs) == 0 {
			return fmt.Errorf("segment %d: no reference", i+1)
		}
		if !utf8.ValidString(s.Hyp) {
			return fmt.Errorf("segment %d: hypothesis is not valid UTF-8", i+1)
		}
		for k, r := range s.Refs {
			if !utf8.ValidString(r) {
				return fmt.Errorf("segment %d: reference %d is not valid UTF-8", i+1, k+1)
			}
		}
	}
	return nil
}

// chunk is how many segments a worker claims at a time: large enough to
// amortize the atomic, small enough to balance long and short lines.
const chunk = 64

// forEachSegment runs fn(w, i) for every segment index i in [0, n) on up to
// GOMAXPROCS workers, each with its own state from newWorker. It stops
// early when ctx is cancelled or fn fails and returns the first error.
func forEachSegment[W any](ctx context.Context, n int, newWorker func() W, fn func(w W, i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), (n+chunk-1)/chunk)
	if workers <= 1 {
		w := newWorker()
		for i := range n {
			if i%chunk == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if err := fn(w, i); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		failed   atomic.Bool
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newWorker()
			for !failed.Load() {
				start := int(next.Add(chunk)) - chunk
				if start >= n {
					return
				}
				if err := ctx.Err(); err != nil {
					errOnce.Do(func() { firstErr = err })
					failed.Store(true)
					return
				}
				for i := start; i < min(start+chunk, n); i++ {
					if err := fn(w, i); err != nil {
						errOnce.Do(func() { firstErr = err })
						failed.Store(true)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}
