package engine

import (
	"slices"
	"time"

	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/sample"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

// seq is a job holding a slot: its state, the tokens still to feed and
// the text pipeline (decoder, stop matcher, replacer).
type seq struct {
	*job
	st      *llama.State
	pending []int // prompt tokens not yet fed; empty once decoding
	history []int // prompt + generated
	gen     int   // tokens generated
	next    int   // token to feed at the next step while decoding
	dec     *tokenizer.StreamDecoder
	match   *sample.StopMatcher
	chunk   int // prompt tokens fed in the current step
}

// loop is the scheduler: the only goroutine that runs the model. Each
// iteration admits waiting requests into free slots and runs one step in
// which every decoding sequence feeds one token and prefilling sequences
// feed prompt chunks, up to stepTokens rows in all.
func (e *Engine) loop(first *llama.State) {
	defer close(e.done)
	stepper := e.m.NewStepper()
	var (
		free   = []*llama.State{first} // len(active)+len(free) <= e.slots
		active []*seq
		states []*llama.State
		tokens [][]int
		one    []int
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
			if err := j.ctx.Err(); err != nil {
				e.stats.Canceled.Add(1)
				e.stats.Finished.Add(1)
				j.out.fail(err)
				continue
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
			active = append(active, e.admit(j, st))
			e.stats.Active.Add(1)
		}
		// Drop sequences whose callers went away.
		active = slices.DeleteFunc(active, func(s *seq) bool {
			if s.ctx.Err() == nil {
				return false
			}
			e.stats.Canceled.Add(1)
			s.out.fail(s.ctx.Err())
			e.release(s, &free)
			return true
		})
		if len(active) == 0 {
			continue
		}
		// Decoding sequences first, then prompt chunks in arrival order
		// while the step has room (at least one chunk per step).
		states, tokens, one = states[:0], tokens[:0], one[:0]
		rows, decode := 0, 0
		for _, s := range active {
			s.chunk = 0
			if len(s.pending) == 0 {
				one = append(one, s.next)
				decode++
			}
		}
		k := 0
		for _, s := range active {
			if len(s.pending) == 0 {
				states, tokens = append(states, s.st), append(tokens, one[k:k+1])
				k++
				rows++
			}
		}
		for _, s := range active {
			if len(s.pending) == 0 {
				continue
			}
			room := stepTokens - rows
			if room <= 0 && rows > 0 {
				break
			}
			s.chunk = min(len(s.pending), max(room, 1))
			states, tokens = append(states, s.st), append(tokens, s.pending[:s.chunk])
			rows += s.chunk
		}
		t0 := time.Now()
		err := stepper.Step(states, tokens)
		e.stats.StepNanos.Add(int64(time.Since(t0)))
		e.stats.Steps.Add(1)
		e.stats.StepRows.Add(int64(rows))
		e.stats.DecodeRows.Add(int64(decode))
		active = slices.DeleteFunc(active, func(s *seq) bool {
			done := false
			switch {
			case err != nil:
				s.out.fail(err)
				done = true
			case s.chunk > 0:
				s.pending = s.pending[s.chunk:]
				e.stats.PromptTokens.Add(int64(s.chunk))
				if len(s.pending) == 0 {
					done = e.accept(s, s.sampler.Sample(s.st.Logits(), s.history))
				}
			case len(s.pending) == 0:
				done = e.accept(s, s.sampler.Sample(s.st.Logits(), s.history))
			}
			if done {
				e.release(s, &free)
			}
			return done
		})
	}
}

// stepTokens bounds the rows of one step, so a long prompt is prefilled in
// chunks between decode steps of the other sequences instead of stalling
// them.
const stepTokens = llama.DefaultBatch

// admit gives j the slot st; its prompt is fed by the following steps.
func (e *Engine) admit(j *job, st *llama.State) *seq {
	e.stats.QueueWaitNanos.Add(int64(time.Since(j.out.created)))
	st.Reset()
	return &seq{
		job:     j,
		st:      st,
		pending: j.req.Prompt,
		history: append(make([]int, 0, len(j.req.Prompt)+j.limit), j.req.Prompt...),
		dec:     tokenizer.NewStreamDecoder(e.tok),
		match:   sample.NewStopMatcher(j.req.Stop),
	}
}

func (e *Engine) release(s *seq, free *[]*llama.State) {
	e.stats.Finished.Add(1)
	e.stats.Active.Add(-1)
	*free = append(*free, s.st)
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
