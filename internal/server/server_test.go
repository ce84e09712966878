package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"

	"github.com/bayling-go/bayling/internal/chat"
	"github.com/bayling-go/bayling/internal/engine"
	"github.com/bayling-go/bayling/internal/testenv"
)

const modelID = "stories260K"

type testServer struct {
	url   string
	eng   *engine.Engine
	srv   *Server
	stop  context.CancelFunc
	done  chan error
	model *engine.Loaded
}

var (
	loadOnce sync.Once
	loaded   *engine.Loaded
	loadErr  error
)

// stories is stories260K, loaded once for the package's tests.
func stories(t testing.TB) *engine.Loaded {
	t.Helper()
	path := testenv.SharedPath(t, "fixtures", "stories260K", "stories260K.bin")
	loadOnce.Do(func() { loaded, loadErr = engine.Load(path, engine.LoadOptions{Threads: 1}) })
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return loaded
}

// start serves stories260K in the BayLing Llama-2 chat format on
// 127.0.0.1:0 and stops the server when the test ends.
func start(t testing.TB, eo engine.Options, so Options) *testServer {
	t.Helper()
	l := stories(t)
	eng, err := l.NewEngine(eo)
	if err != nil {
		t.Fatal(err)
	}
	p, err := engine.NewPrompter("bayling-llama2", l.Info, l.Checkpoint.Tokenizer)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{url: "http://" + ln.Addr().String(), eng: eng, srv: New(eng, p, modelID, so), stop: cancel, done: make(chan error, 1), model: l}
	go func() { ts.done <- ts.srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ts.done; err != nil {
			t.Errorf("serve: %v", err)
		}
		eng.Close()
	})
	return ts
}

func (ts *testServer) client(opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{option.WithBaseURL(ts.url + "/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0)}, opts...)...)
}

func chatParams(content string, maxTokens int64) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:       modelID,
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage(content)},
		MaxTokens:   openai.Int(maxTokens),
		Temperature: openai.Float(0),
	}
}

// The official client gets the same greedy reply streamed and not, equal
// to what the engine produces for the rendered prompt.
func TestOpenAIChat(t *testing.T) {
	ts := start(t, engine.Options{Slots: 4}, Options{})
	c := ts.client()
	ctx := t.Context()
	params := chatParams("Tell me a story about a cat.", 40)

	resp, err := c.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 1 || resp.Model != modelID || resp.Object != "chat.completion" || !strings.HasPrefix(resp.ID, "chatcmpl-") {
		t.Fatalf("response %+v", resp)
	}
	text := resp.Choices[0].Message.Content
	want := engineReply(t, ts, "Tell me a story about a cat.", 40)
	if text != want || text == "" {
		t.Fatalf("reply %q, engine alone %q", text, want)
	}
	if resp.Usage.CompletionTokens < 1 || resp.Usage.CompletionTokens > 40 || resp.Usage.TotalTokens != resp.Usage.PromptTokens+resp.Usage.CompletionTokens {
		t.Fatalf("usage %+v", resp.Usage)
	}
	if fr := resp.Choices[0].FinishReason; fr != "length" && fr != "stop" {
		t.Fatalf("finish reason %q", fr)
	}

	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := c.Chat.Completions.NewStreaming(ctx, params)
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	for stream.Next() {
		acc.AddChunk(stream.Current())
		chunks++
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.Content; got != text {
		t.Fatalf("streamed %q, non-streamed %q", got, text)
	}
	if chunks < 3 || acc.Usage.CompletionTokens != resp.Usage.CompletionTokens || acc.Usage.PromptTokens != resp.Usage.PromptTokens {
		t.Fatalf("%d chunks, usage %+v vs %+v", chunks, acc.Usage, resp.Usage)
	}
	if acc.Choices[0].FinishReason != resp.Choices[0].FinishReason {
		t.Fatalf("finish %q vs %q", acc.Choices[0].FinishReason, resp.Choices[0].FinishReason)
	}

	// A stop string from the middle of the reply cuts it there.
	words := strings.Fields(text)
	stop := " " + words[len(words)/2]
	params = chatParams("Tell me a story about a cat.", 40)
	params.Stop = openai.ChatCompletionNewParamsStopUnion{OfString: openai.String(stop)}
	resp, err = c.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != text[:strings.Index(text, stop)] || resp.Choices[0].FinishReason != "stop" {
		t.Fatalf("stop %q: %q (%s)", stop, got, resp.Choices[0].FinishReason)
	}

	models, err := c.Models.List(ctx)
	if err != nil || len(models.Data) != 1 || models.Data[0].ID != modelID {
		t.Fatalf("models %+v %v", models, err)
	}
}

// engineReply is the greedy reply the engine gives on its own.
func engineReply(t *testing.T, ts *testServer, user string, maxTokens int) string {
	t.Helper()
	p, _ := engine.NewPrompter("bayling-llama2", ts.model.Info, ts.model.Checkpoint.Tokenizer)
	req, err := p.Request([]chat.Message{{Role: "user", Content: user}}, engine.Request{MaxTokens: maxTokens})
	if err != nil {
		t.Fatal(err)
	}
	s, err := ts.eng.Submit(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	text, _, err := s.Collect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func TestOpenAICompletions(t *testing.T) {
	ts := start(t, engine.Options{Slots: 2}, Options{})
	c := ts.client()
	ctx := t.Context()
	params := openai.CompletionNewParams{
		Model:       openai.CompletionNewParamsModel(modelID),
		Prompt:      openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once upon a time")},
		MaxTokens:   openai.Int(30),
		Temperature: openai.Float(0),
		Seed:        openai.Int(7),
	}
	resp, err := c.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	// stories260K's greedy continuation, as llama2.c's run prints it.
	if got := resp.Choices[0].Text; !strings.HasPrefix(got, ", there was a little girl named Lily.") {
		t.Fatalf("completion %q", got)
	}
	if resp.Usage.PromptTokens != 5 || resp.Usage.CompletionTokens != 30 || resp.Choices[0].FinishReason != "length" {
		t.Fatalf("usage %+v finish %q", resp.Usage, resp.Choices[0].FinishReason)
	}
	stream := c.Completions.NewStreaming(ctx, params)
	var b strings.Builder
	finish := ""
	for stream.Next() {
		ch := stream.Current()
		b.WriteString(ch.Choices[0].Text)
		if fr := ch.Choices[0].FinishReason; fr != "" {
			finish = string(fr)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if b.String() != resp.Choices[0].Text || finish != "length" {
		t.Fatalf("streamed %q (%s), want %q", b.String(), finish, resp.Choices[0].Text)
	}
	// Sampling with a seed is reproducible.
	params.Temperature, params.TopP = openai.Float(1), openai.Float(0.9)
	a, err := c.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := c.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if a.Choices[0].Text != b2.Choices[0].Text {
		t.Fatalf("same seed, different text: %q vs %q", a.Choices[0].Text, b2.Choices[0].Text)
	}
}

// 32 concurrent streams through 8 slots all complete, each well formed and
// equal to the reply its prompt gets alone.
func TestLoad32Streams(t *testing.T) {
	ts := start(t, engine.Options{Slots: 8, Queue: 64}, Options{})
	c := ts.client()
	ctx := t.Context()
	const n = 32
	topics := []string{"a cat", "a dog", "the sun", "a ball", "a tree", "a girl", "a boy", "the sea"}
	want := map[string]string{}
	for _, tp := range topics {
		want[tp] = engineReply(t, ts, "Tell me about "+tp+".", 48)
	}
	st := ts.eng.Stats()
	steps0, rows0 := st.Steps.Load(), st.DecodeRows.Load()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tp := topics[i%len(topics)]
			errs <- checkStream(ctx, c, "Tell me about "+tp+".", want[tp])
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	steps, rows := st.Steps.Load()-steps0, st.DecodeRows.Load()-rows0
	mean := float64(rows) / float64(steps)
	if mean < 4 {
		t.Errorf("mean batch %.2f: requests were not decoded together", mean)
	}
	t.Logf("32 streams: mean batch %.2f over %d steps", mean, steps)
}

func checkStream(ctx context.Context, c openai.Client, prompt, want string) error {
	p := chatParams(prompt, 48)
	stream := c.Chat.Completions.NewStreaming(ctx, p)
	var b strings.Builder
	id, finishes, chunks := "", 0, 0
	for stream.Next() {
		ch := stream.Current()
		chunks++
		if id == "" {
			id = ch.ID
			if ch.Choices[0].Delta.Role != "assistant" {
				return fmt.Errorf("first chunk has role %q", ch.Choices[0].Delta.Role)
			}
		}
		if ch.ID != id || ch.Object != "chat.completion.chunk" || ch.Model != modelID || len(ch.Choices) != 1 {
			return fmt.Errorf("chunk %d malformed: %+v", chunks, ch)
		}
		if finishes > 0 {
			return fmt.Errorf("chunk after the finish: %+v", ch)
		}
		if ch.Choices[0].FinishReason != "" {
			finishes++
		}
		b.WriteString(ch.Choices[0].Delta.Content)
	}
	if err := stream.Err(); err != nil {
		return err
	}
	if finishes != 1 || b.String() != want {
		return fmt.Errorf("prompt %q: %d finishes, text %q, want %q", prompt, finishes, b.String(), want)
	}
	return nil
}

// The raw stream is SSE: "data: {json}" events and a final "data: [DONE]".
func TestSSEWireFormat(t *testing.T) {
	ts := start(t, engine.Options{}, Options{})
	for _, path := range []string{"/v1/chat/completions", "/v1/completions"} {
		body := `{"model":"stories260K","messages":[{"role":"user","content":"Hi"}],"prompt":"Hi","max_tokens":12,"stream":true}`
		resp, err := http.Post(ts.url+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("%s: content type %q", path, ct)
		}
		sc := bufio.NewScanner(resp.Body)
		var events []string
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				continue
			}
			data, ok := strings.CutPrefix(line, "data: ")
			if !ok {
				t.Fatalf("%s: line %q is not a data event", path, line)
			}
			events = append(events, data)
		}
		resp.Body.Close()
		if len(events) < 2 || events[len(events)-1] != "[DONE]" {
			t.Fatalf("%s: events %q", path, events)
		}
		for _, e := range events[:len(events)-1] {
			if !json.Valid([]byte(e)) {
				t.Fatalf("%s: event %q is not JSON", path, e)
			}
		}
	}
}

func wantError(t *testing.T, resp *http.Response, status int, code string) apiError {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
	// The exact OpenAI shape: all four keys present.
	var raw map[string]map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("error body %s: %v", b, err)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := raw["error"][k]; !ok {
			t.Fatalf("error body %s lacks %q", b, k)
		}
	}
	var e errorBody
	json.Unmarshal(b, &e)
	if e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("error body %s", b)
	}
	if code != "" && (e.Error.Code == nil || *e.Error.Code != code) {
		t.Fatalf("error code in %s, want %q", b, code)
	}
	return e.Error
}

func post(t *testing.T, url, body string, header ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestErrors(t *testing.T) {
	ts := start(t, engine.Options{Context: 256}, Options{MaxBodyBytes: 4096})
	chatURL := ts.url + "/v1/chat/completions"
	wantError(t, post(t, chatURL, `{"model": "stories260K", "messages": [`), 400, "invalid_json")
	wantError(t, post(t, chatURL, `{"model": "stories260K", "messages": "hi"}`), 400, "invalid_type")
	wantError(t, post(t, chatURL, `{"model": "gpt-4o", "messages": [{"role":"user","content":"hi"}]}`), 404, "model_not_found")
	long := strings.Repeat("word ", 400)
	e := wantError(t, post(t, chatURL, `{"model": "stories260K", "messages": [{"role":"user","content":"`+long+`"}]}`), 400, "context_length_exceeded")
	if e.Param == nil || *e.Param != "messages" {
		t.Fatalf("over-long input: param %v", e.Param)
	}
	wantError(t, post(t, chatURL, `{"model": "stories260K", "max_tokens": 250, "messages": [{"role":"user","content":"hi"}]}`), 400, "context_length_exceeded")
	wantError(t, post(t, ts.url+"/v1/completions", `{"model": "stories260K", "prompt": "`+strings.Repeat("x", 5000)+`"}`), 413, "request_too_large")
	wantError(t, post(t, ts.url+"/v1/completions", `{"model": "stories260K", "prompt": [1, 99999]}`), 400, "")
	wantError(t, post(t, chatURL, `{"model": "stories260K", "temperature": 3, "messages": [{"role":"user","content":"hi"}]}`), 400, "")
	wantError(t, post(t, chatURL, `{"model": "stories260K", "messages": [{"role":"tool","content":"hi"}]}`), 400, "")
	wantError(t, post(t, ts.url+"/v1/nothing", `{}`), 404, "not_found")

	// Through the official client the same errors arrive as *openai.Error.
	c := ts.client()
	_, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "nope", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.StatusCode != 404 || oe.Code != "model_not_found" {
		t.Fatalf("unknown model via client: %v", err)
	}
}

func TestAPIKey(t *testing.T) {
	ts := start(t, engine.Options{}, Options{APIKey: "sekret"})
	wantError(t, post(t, ts.url+"/v1/completions", `{"model":"stories260K","prompt":"a","max_tokens":2}`), 401, "invalid_api_key")
	resp := post(t, ts.url+"/v1/completions", `{"model":"stories260K","prompt":"a","max_tokens":2}`, "Authorization", "Bearer sekret")
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("with key: %d", resp.StatusCode)
	}
	c := ts.client(option.WithAPIKey("sekret"))
	if _, err := c.Models.List(t.Context()); err != nil {
		t.Fatal(err)
	}
	r, err := http.Get(ts.url + "/healthz")
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("healthz needs no key: %v %v", r, err)
	}
	r.Body.Close()
}

// With one slot and a queue of one, concurrent requests beyond two get 429.
func TestQueueFull429(t *testing.T) {
	ts := start(t, engine.Options{Slots: 1, Queue: 1, Context: 512}, Options{})
	body := `{"model":"stories260K","prompt":"Once","max_tokens":500,"temperature":1,"seed":3,"stream":true}`
	const n = 16
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := post(t, ts.url+"/v1/completions", body)
			if resp.StatusCode == 429 {
				if resp.Header.Get("Retry-After") == "" {
					t.Error("429 without Retry-After")
				}
				wantError(t, resp, 429, "queue_full")
			} else {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			codes <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[429] == 0 || count[200] < 2 || count[200]+count[429] != n {
		t.Fatalf("status counts %v: want some 429 and at least 2 served", count)
	}
	if got := ts.eng.Stats().Rejected.Load(); got != int64(count[429]) {
		t.Fatalf("engine rejected %d, clients saw %d", got, count[429])
	}
}

// A client that goes away mid-stream frees its slot.
func TestCancelOnDisconnect(t *testing.T) {
	ts := start(t, engine.Options{Slots: 1, Context: 512}, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "POST", ts.url+"/v1/completions",
		strings.NewReader(`{"model":"stories260K","prompt":"Once","max_tokens":500,"temperature":1,"seed":5,"stream":true}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for ts.eng.Stats().Active.Load() != 0 || ts.eng.Stats().Finished.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("sequence still running after the client left")
		}
		time.Sleep(5 * time.Millisecond)
	}
	st := ts.eng.Stats()
	if st.Canceled.Load() != 1 || st.GeneratedTokens.Load() >= 500 {
		t.Fatalf("canceled %d, generated %d", st.Canceled.Load(), st.GeneratedTokens.Load())
	}
}

// Shutdown lets a running stream finish, then refuses new connections.
func TestGracefulShutdown(t *testing.T) {
	ts := start(t, engine.Options{Context: 512}, Options{})
	resp := post(t, ts.url+"/v1/completions", `{"model":"stories260K","prompt":"Once","max_tokens":300,"temperature":1,"seed":9,"stream":true}`)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	ts.stop() // as SIGTERM does in bayling serve
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(rest), "data: [DONE]\n\n") {
		t.Fatalf("stream cut short by shutdown: ...%q", tail(string(rest)))
	}
	if err := <-ts.done; err != nil {
		t.Fatal(err)
	}
	ts.done <- nil // for the cleanup
	if _, err := http.Get(ts.url + "/healthz"); err == nil {
		t.Fatal("server still accepts connections after shutdown")
	}
}

func tail(s string) string {
	if len(s) > 200 {
		return s[len(s)-200:]
	}
	return s
}

func TestHealthAndMetrics(t *testing.T) {
	ts := start(t, engine.Options{}, Options{})
	resp := post(t, ts.url+"/v1/completions", `{"model":"stories260K","prompt":"Once","max_tokens":5}`)
	resp.Body.Close()
	r, err := http.Get(ts.url + "/healthz")
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("healthz %v %v", r, err)
	}
	r.Body.Close()
	r, err = http.Get(ts.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	text := string(b)
	for _, want := range []string{
		`bayling_http_requests_total{method="POST",route="/v1/completions",code="200"} 1`,
		"# TYPE bayling_generated_tokens_total counter",
		"bayling_generated_tokens_total 5",
		"bayling_prompt_tokens_total 2",
		"bayling_queue_depth 0",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q:\n%s", want, text)
		}
	}
	// Every sample line is "name{labels} value" or "name value".
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		if f := strings.Fields(line); len(f) != 2 || !strings.HasPrefix(f[0], "bayling_") {
			t.Errorf("bad sample line %q", line)
		}
	}
}

func TestWebPageAndLanguages(t *testing.T) {
	ts := start(t, engine.Options{}, Options{})
	r, err := http.Get(ts.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	page := string(b)
	if r.StatusCode != 200 || !strings.Contains(page, "/v1/chat/completions") || !strings.Contains(page, "/api/languages") {
		t.Fatalf("page %d: %.200s", r.StatusCode, page)
	}
	for _, ext := range []string{"http://", "https://", "//cdn"} {
		if strings.Contains(page, "src=\""+ext) || strings.Contains(page, "href=\""+ext) {
			t.Fatalf("page loads an external asset (%s)", ext)
		}
	}
	r, err = http.Get(ts.url + "/api/languages")
	if err != nil {
		t.Fatal(err)
	}
	var langs []struct{ Code, Name string }
	json.NewDecoder(r.Body).Decode(&langs)
	r.Body.Close()
	if len(langs) < 200 {
		t.Fatalf("%d languages", len(langs))
	}
	// Translation through the page's endpoint uses BayLing's instruction.
	resp := post(t, ts.url+"/api/translate", `{"text":"Hello","target":"de","max_tokens":8,"temperature":0}`)
	var out chatResponse
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(out.Choices) != 1 || out.Usage.CompletionTokens == 0 {
		t.Fatalf("translate %d %+v", resp.StatusCode, out)
	}
	wantError(t, post(t, ts.url+"/api/translate", `{"text":"Hello","target":"klingon"}`), 400, "unknown_language")
}
