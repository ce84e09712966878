// Package engine runs generation requests on one model: a continuous
// batching scheduler (one goroutine owns the model; requests join and leave
// between forward steps, and every step decodes one token for each running
// sequence in a single batched forward pass), the per-sequence generation
// loop with its streamed text, and beam search for translation.
package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/bayling-go/bayling/internal/chat"
	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/sample"
	"github.com/bayling-go/bayling/internal/tensor"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

var (
	// ErrQueueFull is returned by Submit when every slot is busy and the
	// waiting queue is at its bound.
	ErrQueueFull = errors.New("engine: request queue is full")
	// ErrClosed is returned by Submit after Close, and ends streams that
	// were still running when the engine closed.
	ErrClosed = errors.New("engine: closed")
)

// Options size an Engine. Zero values take the defaults.
type Options struct {
	Context int // positions per sequence; 0 = the model's, at most 4096
	Slots   int // sequences decoded together; 0 = 8
	Queue   int // requests waiting for a slot; 0 = 64
	// KVType is the KV cache element type: F32 (the zero value) or F16,
	// which halves the cache memory.
	KVType tensor.DType
}

// Engine schedules generation on one model. Its methods are safe for
// concurrent use.
type Engine struct {
	m      *llama.Model
	tok    tokenizer.Tokenizer
	stop   []int
	ctxLen int
	slots  int
	kvType tensor.DType

	mu     sync.Mutex
	closed bool
	queue  chan *job
	quit   chan struct{}
	done   chan struct{}

	stats Stats
}

// Stats are running totals for metrics. Read them with Engine.Stats.
type Stats struct {
	Requests         atomic.Int64 // accepted by Submit
	Rejected         atomic.Int64 // refused with ErrQueueFull
	Finished         atomic.Int64 // ended for any reason
	Canceled         atomic.Int64 // ended because the caller went away
	PromptTokens     atomic.Int64 // prefilled
	GeneratedTokens  atomic.Int64
	Steps            atomic.Int64 // forward steps
	StepRows         atomic.Int64 // tokens summed over steps (prefill and decode)
	DecodeRows       atomic.Int64 // decoding sequences summed over steps
	Active           atomic.Int64 // sequences holding a slot now
	StepNanos        atomic.Int64 // time in forward steps
	QueueWaitNanos   atomic.Int64 // time from Submit to a slot, summed
	TimeToFirstNanos atomic.Int64 // time from Submit to the first token, summed
}

// New starts an engine on m with tokenizer tok. stop lists token ids that
// end every generation (the checkpoint's end-of-generation ids).
func New(m *llama.Model, tok tokenizer.Tokenizer, stop []int, opt Options) (*Engine, error) {
	cfg := m.Config()
	ctxLen := opt.Context
	if ctxLen == 0 {
		ctxLen = min(cfg.MaxPositionEmbeddings, 4096)
	}
	if ctxLen < 2 || ctxLen > cfg.MaxPositionEmbeddings {
		return nil, fmt.Errorf("engine: context %d outside 2..%d", ctxLen, cfg.MaxPositionEmbeddings)
	}
	if opt.Slots < 0 || opt.Queue < 0 {
		return nil, fmt.Errorf("engine: negative slots %d or queue %d", opt.Slots, opt.Queue)
	}
	slots := cmpOr(opt.Slots, 8)
	queue := cmpOr(opt.Queue, 64)
	e := &Engine{
		m: m, tok: tok, stop: slices.Clone(stop), ctxLen: ctxLen, slots: slots, kvType: opt.KVType,
		queue: make(chan *job, queue),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	// One state up front checks the options; the others are made when
	// first needed, so an idle server holds one KV cache.
	st, err := e.newState()
	if err != nil {
		return nil, err
	}
	go e.loop(st)
	return e, nil
}

func (e *Engine) newState() (*llama.State, error) {
	return e.m.NewStateWith(llama.StateOptions{Context: e.ctxLen, KVType: e.kvType})
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Context is the number of positions a sequence may use: prompt plus
// generated tokens.
func (e *Engine) Context() int { return e.ctxLen }

// Slots is the number of sequences decoded together.
func (e *Engine) Slots() int { return e.slots }

// Tokenizer is the engine's tokenizer.
func (e *Engine) Tokenizer() tokenizer.Tokenizer { return e.tok }

// Model is the engine's model. Only the engine's goroutine runs it.
func (e *Engine) Model() *llama.Model { return e.m }

// Stats returns the engine's running totals.
func (e *Engine) Stats() *Stats { return &e.stats }

// Queued is the number of requests waiting for a slot.
func (e *Engine) Queued() int { return len(e.queue) }

// Request is one generation.
type Request struct {
	Prompt    []int         // token ids, BOS included if wanted
	MaxTokens int           // 0 = until a stop or the context is full
	Sample    sample.Params // temperature 0 = greedy
	Stop      []string      // stop strings; the text ends before the first
	StopIDs   []int         // token ids that stop besides the engine's
	// Replacer post-processes the emitted text (BayLing's placeholders);
	// nil for none. It must not be shared between requests.
	Replacer *chat.Replacer
}

// job is a request waiting for or holding a slot.
type job struct {
	ctx     context.Context
	req     Request
	sampler *sample.Sampler
	out     *Stream
	limit   int // tokens to generate at most
}

// Submit queues r and returns its stream at once. The request is dropped
// when ctx ends. Invalid requests fail here, not on the stream.
func (e *Engine) Submit(ctx context.Context, r Request) (*Stream, error) {
	j, err := e.newJob(ctx, r)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	select {
	case e.queue <- j:
		e.stats.Requests.Add(1)
		return j.out, nil
	default:
		e.stats.Rejected.Add(1)
		return nil, ErrQueueFull
	}
}

// ContextError reports a prompt that leaves no room to generate.
type ContextError struct{ Prompt, Context int }

func (e *ContextError) Error() string {
	return fmt.Sprintf("engine: prompt of %d tokens leaves no room in a context of %d", e.Prompt, e.Context)
}

func (e *Engine) newJob(ctx context.Context, r Request) (*job, error) {
	if len(r.Prompt) == 0 {
		return nil, fmt.Errorf("engine: empty prompt")
	}
	if len(r.Prompt) >= e.ctxLen {
		return nil, &ContextError{len(r.Prompt), e.ctxLen}
	}
	if err := tokenizer.CheckIDs(e.tok, r.Prompt); err != nil {
		return nil, fmt.Errorf("engine: prompt: %w", err)
	}
	if r.MaxTokens < 0 {
		return nil, fmt.Errorf("engine: max tokens %d must be >= 0", r.MaxTokens)
	}
	sp, err := sample.New(r.Sample, e.m.Config().VocabSize)
	if err != nil {
		return nil, err
	}
	limit := e.ctxLen - len(r.Prompt)
	if r.MaxTokens > 0 {
		limit = min(limit, r.MaxTokens)
	}
	return &job{ctx: ctx, req: r, sampler: sp, out: newStream(len(r.Prompt)), limit: limit}, nil
}

// Close stops the engine: queued and running requests end with ErrClosed.
// Callers that want running streams to finish wait for them first.
func (e *Engine) Close() {
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		close(e.quit)
	}
	e.mu.Unlock()
	<-e.done
}
