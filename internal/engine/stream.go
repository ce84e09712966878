package engine

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Finish reasons, as OpenAI's API names them.
const (
	FinishStop   = "stop"   // a stop token or stop string
	FinishLength = "length" // max tokens or the context is full
)

// Usage counts a request's tokens.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
}

// Delta is what a stream produced since the last Next.
type Delta struct {
	Text   string
	Done   bool   // the stream is over; Finish and Usage are final
	Finish string // FinishStop or FinishLength once Done
	Usage  Usage
}

// Stream is the output of one request. The scheduler never waits for the
// reader: text accumulates until Next collects it, so a slow client costs
// memory for its own text only, never time for the other sequences.
type Stream struct {
	mu      sync.Mutex
	text    strings.Builder
	usage   Usage
	done    bool
	finish  string
	err     error
	notify  chan struct{} // has a value when there is news
	created time.Time
}

func newStream(prompt int) *Stream {
	return &Stream{usage: Usage{PromptTokens: prompt}, notify: make(chan struct{}, 1), created: time.Now()}
}

func (s *Stream) signal() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (s *Stream) push(text string, generated int) {
	s.mu.Lock()
	s.text.WriteString(text)
	s.usage.CompletionTokens = generated
	s.mu.Unlock()
	s.signal()
}

func (s *Stream) end(reason string) {
	s.mu.Lock()
	s.done, s.finish = true, reason
	s.mu.Unlock()
	s.signal()
}

func (s *Stream) fail(err error) {
	s.mu.Lock()
	s.done, s.err = true, err
	s.mu.Unlock()
	s.signal()
}

// Next waits until there is new text or the stream ends, and returns it.
// After the final Delta (Done) it keeps returning Done with no text. The
// error is the request's failure (ErrClosed, a context error) or ctx's.
func (s *Stream) Next(ctx context.Context) (Delta, error) {
	for {
		s.mu.Lock()
		d := Delta{Text: s.text.String(), Done: s.done, Finish: s.finish, Usage: s.usage}
		err := s.err
		s.text.Reset()
		s.mu.Unlock()
		if err != nil {
			return d, err
		}
		if d.Text != "" || d.Done {
			return d, nil
		}
		select {
		case <-s.notify:
		case <-ctx.Done():
			return Delta{}, ctx.Err()
		}
	}
}

// Collect reads the stream to its end and returns the whole text.
func (s *Stream) Collect(ctx context.Context) (string, Delta, error) {
	var b strings.Builder
	for {
		d, err := s.Next(ctx)
		b.WriteString(d.Text)
		if err != nil || d.Done {
			d.Text = ""
			return b.String(), d, err
		}
	}
}
