package engine

import (
	"slices"
	"time"

	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/sample"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

// seq is a job holding a slot: its state, the token to feed next and the
// text pipeline (decoder, stop matcher, replacer).
type seq struct {
	*job
	st      *llama.State
	history []int // prompt + generated
	gen     int   // tokens generated
	next    int   // token to feed at the next decode step
	dec     *tokenizer.StreamDecoder
	match   *sample.StopMatcher
	started time.Time
}

// loop is the scheduler: the only goroutine that runs the model.
func (e *Engine) loop(first *llama.State) {
	defer close(e.done)
	batch := e.m.NewBatch()
	var (
		free   = []*llama.State{first} // len(active)+len(free) <= e.slots
		active []*seq
		states []*llama.State
		tokens []int
	)
	for {
		// Admit waiting requests into free slots; block only when idle.
		for len(active) < e.slots {
			var j *job
			if len(active) == 0 {
				select {
				case j = <-e.queue:
				case <-e.quit:
					e.shutdown(active)
					return
				}
			} else {
				select {
				case j = <-e.queue:
				case <-e.quit:
					e.shutdown(active)
					return
				default:
				}
			}
			if j == nil {
				break
			}
			if len(free) == 0 {
				st, err := e.newState()
				if err != nil {
					e.stats.Finished.Add(1)
					j.out.fail(err)
					continue
				}
				free = append(free, st)
			}
			st := free[len(free)-1]
			free = free[:len(free)-1]
			if s := e.start(j, st); s != nil {
				active = append(active, s)
				e.stats.Active.Add(1)
			} else {
				free = append(free, st)
			}
		}
		// Drop sequences whose callers went away.
		active = slices.DeleteFunc(active, func(s *seq) bool {
			if s.ctx.Err() == nil {
				return false
			}
			e.stats.Canceled.Add(1)
			s.out.fail(s.ctx.Err())
			e.stats.Finished.Add(1)
			e.stats.Active.Add(-1)
			free = append(free, s.st)
			return true
		})
		if len(active) == 0 {
			continue
		}
		states, tokens = states[:0], tokens[:0]
		for _, s := range active {
			states = append(states, s.st)
			tokens = append(tokens, s.next)
		}
		t0 := time.Now()
		err := batch.Decode(states, tokens)
		e.stats.DecodeNanos.Add(int64(time.Since(t0)))
		e.stats.Steps.Add(1)
		e.stats.StepRows.Add(int64(len(active)))
		active = slices.DeleteFunc(active, func(s *seq) bool {
			var done bool
			if err != nil {
				s.out.fail(err)
				done = true
			} else {
				done = e.accept(s, s.sampler.Sample(s.st.Logits(), s.history))
			}
			if done {
				e.stats.Finished.Add(1)
				e.stats.Active.Add(-1)
				free = append(free, s.st)
			}
			return done
		})
	}
}

// start prefills j's prompt on st and takes its first token. It returns
// nil when the request is already over.
func (e *Engine) start(j *job, st *llama.State) *seq {
	if err := j.ctx.Err(); err != nil {
		e.stats.Canceled.Add(1)
		e.stats.Finished.Add(1)
		j.out.fail(err)
		return nil
	}
	e.stats.QueueWaitNanos.Add(int64(time.Since(j.out.created)))
	st.Reset()
	t0 := time.Now()
	logits, err := st.Forward(j.req.Prompt)
	e.stats.PrefillNanos.Add(int64(time.Since(t0)))
	if err != nil {
		e.stats.Finished.Add(1)
		j.out.fail(err)
		return nil
	}
	e.stats.PromptTokens.Add(int64(len(j.req.Prompt)))
	s := &seq{
		job:     j,
		st:      st,
		history: append(make([]int, 0, len(j.req.Prompt)+j.limit), j.req.Prompt...),
		dec:     tokenizer.NewStreamDecoder(e.tok),
		match:   sample.NewStopMatcher(j.req.Stop),
		started: t0,
	}
	if e.accept(s, s.sampler.Sample(logits, s.history)) {
		e.stats.Finished.Add(1)
		return nil
	}
	return s
}

// accept handles a sampled token: it stops the sequence, or emits the
// token's text and schedules it as the next input. It reports whether the
// sequence is finished.
func (e *Engine) accept(s *seq, id int) bool {
	if s.gen == 0 {
		e.stats.TimeToFirstNanos.Add(int64(time.Since(s.out.created)))
	}
	if slices.Contains(e.stop, id) || slices.Contains(s.req.StopIDs, id) {
		e.finish(s, FinishStop)
		return true
	}
	s.gen++
	e.stats.GeneratedTokens.Add(1)
	s.history = append(s.history, id)
	text, stopped := s.match.Push(s.dec.Add(id))
	if s.req.Replacer != nil {
		text = s.req.Replacer.Push(text)
	}
	s.out.push(text, s.gen)
	switch {
	case stopped:
		e.finish(s, FinishStop)
	case s.gen >= s.limit:
		e.finish(s, FinishLength)
	default:
		s.next = id
		return false
	}
	return true
}

// finish emits what the text pipeline still holds and ends the stream.
func (e *Engine) finish(s *seq, reason string) {
	tail, _ := s.match.Push(s.dec.Flush())
	tail += s.match.Flush()
	if r := s.req.Replacer; r != nil {
		tail = r.Push(tail) + r.Flush()
	}
	s.out.push(tail, s.gen)
	s.out.end(reason)
}

// shutdown ends every running and queued request with ErrClosed.
func (e *Engine) shutdown(active []*seq) {
	for _, s := range active {
		s.out.fail(ErrClosed)
		e.stats.Finished.Add(1)
		e.stats.Active.Add(-1)
	}
	for {
		select {
		case j := <-e.queue:
			j.out.fail(ErrClosed)
			e.stats.Finished.Add(1)
		default:
			return
		}
	}
}
