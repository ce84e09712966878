package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bayling-go/bayling/internal/engine"
)

// Any request body gets a JSON answer: a completion or an OpenAI error,
// never a panic or a 5xx. Generation is capped at a few tokens so the
// fuzzer spends its time on parsing.
func FuzzRequests(f *testing.F) {
	for _, s := range []string{
		`{"model":"stories260K","messages":[{"role":"user","content":"hi"}],"max_tokens":2}`,
		`{"model":"stories260K","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"stop":["a","b"],"max_tokens":1,"temperature":0,"top_p":0.5,"seed":3}`,
		`{"model":"stories260K","prompt":[1,2,3],"max_tokens":1,"stream":true}`,
		`{"model":"stories260K","prompt":[[1,2]],"max_tokens":2,"echo":true}`,
		`{"model":"stories260K","text":"Hello","target":"de","max_tokens":1}`,
		`{"model":"x"}`, `[]`, `null`, `{"stop":7}`, `{"n":2}`,
	} {
		f.Add(s)
	}
	l := stories(f)
	eng, err := l.NewEngine(engine.Options{Context: 128})
	if err != nil {
		f.Fatal(err)
	}
	defer eng.Close()
	p, _ := engine.NewPrompter("bayling-llama2", l.Info, l.Checkpoint.Tokenizer)
	srv := New(eng, p, modelID, Options{MaxTokens: 3, MaxBodyBytes: 1 << 16})
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/v1/chat/completions", "/v1/completions", "/api/translate"} {
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader([]byte(body))))
			if rec.Code >= 500 {
				t.Fatalf("%s %q: status %d: %s", path, body, rec.Code, rec.Body)
			}
			if rec.Code != 200 {
				var e errorBody
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Message == "" {
					t.Fatalf("%s %q: status %d with body %q", path, body, rec.Code, rec.Body)
				}
			}
		}
	})
}
