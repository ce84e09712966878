// Package server is bayling's HTTP front end: OpenAI-compatible
// /v1/chat/completions, /v1/completions and /v1/models (JSON or SSE
// streams), /healthz, /metrics in Prometheus text format, and a web chat
// page at / that needs nothing from outside the binary.
package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bayling-go/bayling/internal/engine"
)

// Options configure a Server. Zero values take the defaults.
type Options struct {
	APIKey       string        // if set, /v1 and /api need "Authorization: Bearer KEY"
	MaxBodyBytes int64         // request body limit; 0 = 1 MiB
	MaxTokens    int           // cap on max_tokens; 0 = the engine's context
	Shutdown     time.Duration // how long running streams may finish on shutdown; 0 = 60 s
	Logger       *slog.Logger
}

// Server answers API requests with one engine and one chat format.
type Server struct {
	eng      *engine.Engine
	prompter *engine.Prompter
	modelID  string
	opt      Options
	log      *slog.Logger
	created  int64
	mux      *http.ServeMux
	metrics  *metrics
	draining atomic.Bool
}

// New makes a server for the model called modelID in API requests.
// prompter may be nil if the model has no chat format; then the chat
// endpoints and the page's chat answer with an error.
func New(eng *engine.Engine, prompter *engine.Prompter, modelID string, opt Options) *Server {
	if opt.MaxBodyBytes == 0 {
		opt.MaxBodyBytes = 1 << 20
	}
	if opt.MaxTokens == 0 {
		opt.MaxTokens = eng.Context()
	}
	if opt.Shutdown == 0 {
		opt.Shutdown = 60 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{eng: eng, prompter: prompter, modelID: modelID, opt: opt, log: opt.Logger, created: time.Now().Unix(), metrics: newMetrics()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.api(s.chatCompletions))
	mux.HandleFunc("POST /v1/completions", s.api(s.completions))
	mux.HandleFunc("GET /v1/models", s.api(s.models))
	mux.HandleFunc("GET /v1/models/{id}", s.api(s.model))
	mux.HandleFunc("POST /api/translate", s.api(s.translate))
	mux.HandleFunc("GET /api/languages", s.languages)
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /metrics", s.serveMetrics)
	mux.Handle("/", webHandler())
	mux.HandleFunc("/v1/", s.api(func(w http.ResponseWriter, r *http.Request) error {
		return &httpError{404, apiError{Message: fmt.Sprintf("no route %s %s", r.Method, r.URL.Path), Type: "invalid_request_error", Code: strp("not_found")}}
	}))
	s.mux = mux
	return s
}

// ServeHTTP counts every request by route and status.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w, status: 200}
	s.metrics.inflight.Add(1)
	defer s.metrics.inflight.Add(-1)
	s.mux.ServeHTTP(rec, r)
	_, pattern := s.mux.Handler(r)
	s.metrics.request(pattern, rec.status)
}

// Serve answers on ln until ctx ends, then stops accepting connections,
// lets running requests (streams included) finish for up to
// Options.Shutdown and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.draining.Store(true)
	s.log.Info("shutting down: finishing running requests", "timeout", s.opt.Shutdown)
	sctx, cancel := context.WithTimeout(context.Background(), s.opt.Shutdown)
	defer cancel()
	err := hs.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		hs.Close()
		return fmt.Errorf("server: shutdown: requests still running after %v", s.opt.Shutdown)
	}
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) {
		return e
	}
	return err
}

// api wraps a handler that returns OpenAI-shaped errors, checking the key.
func (s *Server) api(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := s.authorize(r)
		if err == nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.opt.MaxBodyBytes)
			err = h(w, r)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	}
}

func (s *Server) authorize(r *http.Request) error {
	if s.opt.APIKey == "" {
		return nil
	}
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if ok && subtle.ConstantTimeCompare([]byte(key), []byte(s.opt.APIKey)) == 1 {
		return nil
	}
	return &httpError{401, apiError{Message: "missing or wrong API key (send Authorization: Bearer KEY)", Type: "invalid_request_error", Code: strp("invalid_api_key")}}
}

// writeError answers with the OpenAI error shape. Errors after a stream
// began cannot change the status; they are logged and sent as an SSE event.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
	case errors.As(err, &mbe):
		he = &httpError{413, apiError{Message: fmt.Sprintf("request body larger than %d bytes", mbe.Limit), Type: "invalid_request_error", Code: strp("request_too_large")}}
	case errors.Is(err, engine.ErrQueueFull):
		he = &httpError{429, apiError{Message: "server busy: request queue is full, retry later", Type: "rate_limit_error", Code: strp("queue_full")}}
	case errors.Is(err, engine.ErrClosed):
		he = &httpError{503, apiError{Message: "server is shutting down", Type: "server_error", Code: strp("unavailable")}}
	case errors.Is(err, context.Canceled):
		return // the client went away
	default:
		he = &httpError{500, apiError{Message: err.Error(), Type: "server_error"}}
	}
	if he.status >= 500 {
		s.log.Error("request failed", "path", r.URL.Path, "err", err)
	}
	if sw, ok := w.(*recorder); ok && sw.wrote {
		// The stream has started: report in-band, as OpenAI does.
		b, _ := json.Marshal(errorBody{he.apiError})
		fmt.Fprintf(w, "data: %s\n\n", b)
		flush(w)
		return
	}
	if he.status == 429 {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, he.status, errorBody{he.apiError})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = 500, []byte(`{"error":{"message":"encoding the response failed","type":"server_error","param":null,"code":null}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// decode reads a JSON body strictly enough to catch mistakes.
func decode(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return invalid("", "invalid_json", "request body is not valid JSON: %v (at byte %d)", se, se.Offset)
		case errors.As(err, &te):
			return invalid(te.Field, "invalid_type", "field %q: want %s, got JSON %s", te.Field, te.Type, te.Value)
		}
		return invalid("", "invalid_json", "request body: %v", err)
	}
	return nil
}

func newID(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, 503, map[string]string{"status": "shutting down"})
		return
	}
	writeJSON(w, 200, map[string]any{"status": "ok", "model": s.modelID, "queued": s.eng.Queued(), "active": s.eng.Stats().Active.Load()})
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, 200, modelList{Object: "list", Data: []modelObject{s.modelObject()}})
	return nil
}

func (s *Server) model(w http.ResponseWriter, r *http.Request) error {
	if id := r.PathValue("id"); id != s.modelID {
		return s.unknownModel(id)
	}
	writeJSON(w, 200, s.modelObject())
	return nil
}

func (s *Server) modelObject() modelObject {
	return modelObject{ID: s.modelID, Object: "model", Created: s.created, OwnedBy: "bayling"}
}

func (s *Server) unknownModel(id string) error {
	return &httpError{404, apiError{Message: fmt.Sprintf("model %q does not exist; this server runs %q", id, s.modelID), Type: "invalid_request_error", Param: strp("model"), Code: strp("model_not_found")}}
}

// recorder remembers the status and whether the body has begun; it
// passes flushes through for streaming.
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status = code
	}
	r.wrote = true
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}
