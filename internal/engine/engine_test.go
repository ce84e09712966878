package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bayling-go/bayling/internal/chat"
	"github.com/bayling-go/bayling/internal/sample"
	"github.com/bayling-go/bayling/internal/tensor"
	"github.com/bayling-go/bayling/internal/testenv"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

func loadStories(t testing.TB) *Loaded {
	t.Helper()
	l, err := Load(testenv.SharedPath(t, "fixtures", "stories260K", "stories260K.bin"), LoadOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

func newEngine(t testing.TB, l *Loaded, opt Options) *Engine {
	t.Helper()
	e, err := l.NewEngine(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// greedyAlone decodes prompt one token at a time on a fresh state, the
// reference for what the engine must produce.
func greedyAlone(t *testing.T, l *Loaded, prompt []int, n int) string {
	t.Helper()
	st, err := l.Model.NewState(0)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := st.Forward(prompt)
	if err != nil {
		t.Fatal(err)
	}
	var gen []int
	for len(gen) < n {
		id := sample.Argmax(logits)
		if containsInt(l.Checkpoint.Stop, id) {
			break
		}
		gen = append(gen, id)
		if logits, err = st.Forward([]int{id}); err != nil {
			t.Fatal(err)
		}
	}
	return l.Checkpoint.Tokenizer.Decode(gen)
}

func containsInt(s []int, x int) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func encode(l *Loaded, s string) []int {
	return l.Checkpoint.Tokenizer.Encode(s, tokenizer.EncodeOptions{AddBOS: true})
}

// One prompt is longer than a step, so it is prefilled in chunks while the
// others decode.
var prompts = []string{"Once upon a time", "Lily and Tom", "The dog", "One day, a little girl named Sue went to the park", "He",
	strings.Repeat("The dog ran to the park with a red ball. ", 12)}

// Requests decoded together give exactly the text each gives alone.
func TestBatchedMatchesAlone(t *testing.T) {
	l := loadStories(t)
	e := newEngine(t, l, Options{Slots: 3, Queue: 16})
	const n = 40
	got := make([]string, len(prompts))
	usage := make([]Usage, len(prompts))
	var wg sync.WaitGroup
	for i, p := range prompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := e.Submit(t.Context(), Request{Prompt: encode(l, p), MaxTokens: n})
			if err != nil {
				t.Error(err)
				return
			}
			text, d, err := s.Collect(t.Context())
			if err != nil {
				t.Error(err)
			}
			got[i], usage[i] = text, d.Usage
		}()
	}
	wg.Wait()
	for i, p := range prompts {
		if want := greedyAlone(t, l, encode(l, p), n); got[i] != want {
			t.Errorf("prompt %q:\nbatched %q\nalone   %q", p, got[i], want)
		}
		if usage[i].PromptTokens != len(encode(l, p)) || usage[i].CompletionTokens == 0 || usage[i].CompletionTokens > n {
			t.Errorf("prompt %q: usage %+v", p, usage[i])
		}
	}
	st := e.Stats()
	if st.Steps.Load() == 0 || st.DecodeRows.Load() <= st.Steps.Load() {
		t.Errorf("no batching: %d steps, %d decode rows", st.Steps.Load(), st.DecodeRows.Load())
	}
}

func TestMaxTokensAndStopString(t *testing.T) {
	l := loadStories(t)
	e := newEngine(t, l, Options{Slots: 2})
	prompt := encode(l, "Once upon a time")
	full := greedyAlone(t, l, prompt, 60)
	s, _ := e.Submit(t.Context(), Request{Prompt: prompt, MaxTokens: 5})
	text, d, err := s.Collect(t.Context())
	if err != nil || d.Finish != FinishLength || d.Usage.CompletionTokens != 5 || !strings.HasPrefix(full, text) {
		t.Fatalf("max 5: %q %+v %v (full %q)", text, d, err, full)
	}
	// Stop at a word from the middle of the greedy text.
	words := strings.Fields(full)
	stop := " " + words[len(words)/2]
	want := full[:strings.Index(full, stop)]
	s, _ = e.Submit(t.Context(), Request{Prompt: prompt, MaxTokens: 60, Stop: []string{stop}})
	text, d, err = s.Collect(t.Context())
	if err != nil || d.Finish != FinishStop || text != want {
		t.Fatalf("stop %q: got %q %+v %v, want %q", stop, text, d, err, want)
	}
}

func TestRejects(t *testing.T) {
	l := loadStories(t)
	e := newEngine(t, l, Options{Slots: 1, Queue: 1, Context: 32})
	var ce *ContextError
	if _, err := e.Submit(t.Context(), Request{Prompt: make([]int, 32)}); !errors.As(err, &ce) {
		t.Fatalf("over-long prompt: %v", err)
	}
	if _, err := e.Submit(t.Context(), Request{Prompt: []int{1, 100000}}); err == nil {
		t.Fatal("out-of-vocabulary token accepted")
	}
	if _, err := e.Submit(t.Context(), Request{Prompt: []int{1}, Sample: sample.Params{Temperature: -1}}); err == nil {
		t.Fatal("negative temperature accepted")
	}
	// One running, one queued, the third is refused.
	ctx, cancel := context.WithCancel(t.Context())
	var streams []*Stream
	var full bool
	for range 10 {
		s, err := e.Submit(ctx, Request{Prompt: []int{1}})
		if errors.Is(err, ErrQueueFull) {
			full = true
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, s)
	}
	if !full || len(streams) > 3 {
		t.Fatalf("queue of 1 with 1 slot took %d requests", len(streams))
	}
	cancel()
	for _, s := range streams {
		if _, _, err := s.Collect(t.Context()); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled stream: %v", err)
		}
	}
	// The engine is free again.
	s, err := e.Submit(t.Context(), Request{Prompt: []int{1}, MaxTokens: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, d, err := s.Collect(t.Context()); err != nil || !d.Done {
		t.Fatalf("after cancel: %+v %v", d, err)
	}
}

// A canceled request leaves its slot within a step or two.
func TestCancelFreesSlot(t *testing.T) {
	l := loadStories(t)
	e := newEngine(t, l, Options{Slots: 1, Context: 512})
	ctx, cancel := context.WithCancel(t.Context())
	s, err := e.Submit(ctx, Request{Prompt: []int{1}, Sample: sample.Params{Temperature: 1, Seed: 1}, StopIDs: nil})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(t.Context()); err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for e.Stats().Active.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("canceled sequence still active")
		}
		time.Sleep(time.Millisecond)
	}
	if e.Stats().Canceled.Load() == 0 {
		// It may have finished on its own before the cancel was seen.
		if _, d, _ := s.Collect(t.Context()); !d.Done {
			t.Fatal("neither canceled nor finished")
		}
	}
}

func TestCloseEndsStreams(t *testing.T) {
	l := loadStories(t)
	e, err := l.NewEngine(Options{Slots: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := e.Submit(t.Context(), Request{Prompt: []int{1}, Sample: sample.Params{Temperature: 1, Seed: 2}})
	e.Close()
	if _, _, err := s.Collect(t.Context()); err != nil && !errors.Is(err, ErrClosed) {
		t.Fatalf("stream after close: %v", err)
	}
	if _, err := e.Submit(t.Context(), Request{Prompt: []int{1}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after close: %v", err)
	}
}

func TestModelID(t *testing.T) {
	l := loadStories(t)
	if l.ID != "stories260K" || l.Info.TokenizerKind != "spm" {
		t.Fatalf("id %q kind %q", l.ID, l.Info.TokenizerKind)
	}
	g, err := Load(filepath.Join(testenv.Shared(t), "fixtures", "gguf", "stories260K.llamacpp-c392e50.gguf"), LoadOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.Info.TokenizerKind != "spm" || g.Info.Arch != "llama" {
		t.Fatalf("gguf info %+v", g.Info)
	}
}

// An F16 KV cache gives the same greedy text on stories260K for a short
// continuation, and slots are made only when needed.
func TestF16CacheAndLazySlots(t *testing.T) {
	l := loadStories(t)
	e := newEngine(t, l, Options{Slots: 4, KVType: tensor.F16})
	prompt := encode(l, "Once upon a time")
	s, err := e.Submit(t.Context(), Request{Prompt: prompt, MaxTokens: 12})
	if err != nil {
		t.Fatal(err)
	}
	text, _, err := s.Collect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := greedyAlone(t, l, prompt, 12); text != want {
		t.Fatalf("f16 cache %q, f32 %q", text, want)
	}
	if _, err := l.NewEngine(Options{KVType: tensor.Q4_0}); err == nil {
		t.Fatal("Q4_0 KV cache accepted")
	}
}

// TestLoadPassesQuantize: the option reaches the checkpoint loader, which
// quantizes only Hugging Face directories and says so for anything else.
func TestLoadPassesQuantize(t *testing.T) {
	p := testenv.SharedPath(t, "fixtures", "stories260K", "stories260K.bin")
	if _, err := Load(p, LoadOptions{Quantize: "q8_0", Threads: 1}); err == nil || !strings.Contains(err.Error(), "bayling quantize") {
		t.Fatalf("want the loader's quantize error, got %v", err)
	}
}

func TestHFInfoReadsChatTemplate(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"chat_template": "{{ messages }}"}`), 0o644)
	info, err := hfInfo(chat.ModelInfo{Arch: "llama"}, dir)
	if err != nil || info.ChatTemplate != "{{ messages }}" || info.Arch != "llama" {
		t.Fatalf("%+v, %v", info, err)
	}
	os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"chat_template": 7}`), 0o644)
	if _, err := hfInfo(chat.ModelInfo{}, dir); err == nil {
		t.Fatal("a bad chat_template was accepted")
	}
}
