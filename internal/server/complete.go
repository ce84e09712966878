package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bayling-go/bayling/internal/chat"
	"github.com/bayling-go/bayling/internal/engine"
	"github.com/bayling-go/bayling/internal/lang"
	"github.com/bayling-go/bayling/internal/sample"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

// request turns the shared sampling fields into an engine request for a
// prompt of n tokens, checking them against the server's limits.
func (s *Server) request(p *sampling, prompt []int, promptParam string) (engine.Request, error) {
	var r engine.Request
	if p.Model != s.modelID {
		if p.Model == "" {
			return r, invalid("model", "", "model: required; this server runs %q", s.modelID)
		}
		return r, s.unknownModel(p.Model)
	}
	if p.N != nil && *p.N != 1 {
		return r, invalid("n", "", "n: only 1 choice per request is supported")
	}
	maxTok := p.MaxTokens
	if p.MaxCompletionTokens != nil {
		maxTok = p.MaxCompletionTokens
	}
	ctx := s.eng.Context()
	if len(prompt) >= ctx {
		return r, invalid(promptParam, "context_length_exceeded", "the prompt is %d tokens; this model's context is %d tokens, which leaves no room for a reply", len(prompt), ctx)
	}
	if maxTok != nil {
		switch {
		case *maxTok < 1:
			return r, invalid("max_tokens", "", "max_tokens: %d must be at least 1", *maxTok)
		case *maxTok > s.opt.MaxTokens:
			return r, invalid("max_tokens", "", "max_tokens: %d is above this server's limit of %d", *maxTok, s.opt.MaxTokens)
		case len(prompt)+*maxTok > ctx:
			return r, invalid("max_tokens", "context_length_exceeded", "this model's context is %d tokens; the prompt (%d) plus max_tokens (%d) exceed it", ctx, len(prompt), *maxTok)
		}
		r.MaxTokens = *maxTok
	} else {
		r.MaxTokens = min(s.opt.MaxTokens, ctx-len(prompt))
	}
	r.Sample = sample.Params{Temperature: 1, Seed: uint64(time.Now().UnixNano())}
	if t := p.Temperature; t != nil {
		if !(*t >= 0 && *t <= 2) {
			return r, invalid("temperature", "", "temperature: %v must be between 0 and 2", *t)
		}
		r.Sample.Temperature = float32(*t)
	}
	if tp := p.TopP; tp != nil {
		if !(*tp > 0 && *tp <= 1) {
			return r, invalid("top_p", "", "top_p: %v must be in (0, 1]", *tp)
		}
		r.Sample.TopP = float32(*tp)
	}
	if p.Seed != nil {
		r.Sample.Seed = uint64(*p.Seed)
	}
	if len(p.Stop) > 4 {
		return r, invalid("stop", "", "stop: at most 4 sequences, got %d", len(p.Stop))
	}
	r.Stop = p.Stop
	r.Prompt = prompt
	return r, nil
}

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) error {
	var req chatRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	msgs, err := req.chatMessages()
	if err != nil {
		return err
	}
	return s.runChat(w, r, &req.sampling, msgs)
}

// runChat renders msgs in the model's chat format and answers as a chat
// completion (JSON or stream).
func (s *Server) runChat(w http.ResponseWriter, r *http.Request, p *sampling, msgs []chat.Message) error {
	if s.prompter == nil {
		return &httpError{400, apiError{Message: "this model has no chat format; start the server with --template, or use /v1/completions", Type: "invalid_request_error", Code: strp("no_chat_template")}}
	}
	base, err := s.prompter.Request(msgs, engine.Request{})
	if err != nil {
		return invalid("messages", "", "%v", err)
	}
	req, err := s.request(p, base.Prompt, "messages")
	if err != nil {
		return err
	}
	req.Stop = append(req.Stop, base.Stop...)
	req.StopIDs, req.Replacer = base.StopIDs, base.Replacer
	stream, err := s.eng.Submit(r.Context(), req)
	if err != nil {
		return err
	}
	out := chatResponse{ID: newID("chatcmpl-"), Created: time.Now().Unix(), Model: s.modelID}
	if !p.Stream {
		text, d, err := stream.Collect(r.Context())
		if err != nil {
			return err
		}
		out.Object = "chat.completion"
		c := content(text)
		out.Choices = []chatChoice{{Message: &message{Role: "assistant", Content: c}, FinishReason: &d.Finish}}
		out.Usage = usageOf(d.Usage)
		writeJSON(w, 200, out)
		return nil
	}
	out.Object = "chat.completion.chunk"
	sse := startSSE(w)
	empty := ""
	out.Choices = []chatChoice{{Delta: &delta{Role: "assistant", Content: &empty}}}
	if err := sse.send(out); err != nil {
		return err
	}
	for {
		d, err := stream.Next(r.Context())
		if err != nil {
			return err
		}
		if d.Text != "" || d.Done {
			text := d.Text
			ch := chatChoice{Delta: &delta{Content: &text}}
			if d.Done {
				ch.FinishReason = &d.Finish
				if text == "" {
					ch.Delta = &delta{}
				}
			}
			out.Choices = []chatChoice{ch}
			if err := sse.send(out); err != nil {
				return err
			}
		}
		if d.Done {
			if p.StreamOptions != nil && p.StreamOptions.IncludeUsage {
				out.Choices, out.Usage = []chatChoice{}, usageOf(d.Usage)
				if err := sse.send(out); err != nil {
					return err
				}
			}
			return sse.done()
		}
	}
}

func (s *Server) completions(w http.ResponseWriter, r *http.Request) error {
	var req completionRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Prompt == nil {
		return invalid("prompt", "", "prompt: required")
	}
	tok := s.eng.Tokenizer()
	ids := req.Prompt.ids
	if ids == nil {
		ids = tok.Encode(req.Prompt.text, tokenizer.EncodeOptions{AddBOS: true})
	} else if err := tokenizer.CheckIDs(tok, ids); err != nil {
		return invalid("prompt", "", "prompt: %v", err)
	}
	if len(ids) == 0 {
		return invalid("prompt", "", "prompt: empty, and the tokenizer has no BOS token")
	}
	er, err := s.request(&req.sampling, ids, "prompt")
	if err != nil {
		return err
	}
	stream, err := s.eng.Submit(r.Context(), er)
	if err != nil {
		return err
	}
	out := completionResponse{ID: newID("cmpl-"), Object: "text_completion", Created: time.Now().Unix(), Model: s.modelID}
	echo := ""
	if req.Echo {
		echo = req.Prompt.text
		if req.Prompt.ids != nil {
			echo = tok.Decode(ids)
		}
	}
	if !req.Stream {
		text, d, err := stream.Collect(r.Context())
		if err != nil {
			return err
		}
		out.Choices = []completionChoice{{Text: echo + text, FinishReason: &d.Finish}}
		out.Usage = usageOf(d.Usage)
		writeJSON(w, 200, out)
		return nil
	}
	sse := startSSE(w)
	if echo != "" {
		out.Choices = []completionChoice{{Text: echo}}
		if err := sse.send(out); err != nil {
			return err
		}
	}
	for {
		d, err := stream.Next(r.Context())
		if err != nil {
			return err
		}
		ch := completionChoice{Text: d.Text}
		if d.Done {
			ch.FinishReason = &d.Finish
		}
		out.Choices = []completionChoice{ch}
		if err := sse.send(out); err != nil {
			return err
		}
		if d.Done {
			if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
				out.Choices, out.Usage = []completionChoice{}, usageOf(d.Usage)
				if err := sse.send(out); err != nil {
					return err
				}
			}
			return sse.done()
		}
	}
}

// translate is the web page's translation: BayLing's instruction for one
// text, answered as a chat completion.
func (s *Server) translate(w http.ResponseWriter, r *http.Request) error {
	var req translateRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	to, err := lang.Lookup(req.Target)
	if err != nil {
		return invalid("target", "unknown_language", "target: %v", err)
	}
	from := lang.Language{}
	if req.Source != "" && req.Source != "auto" {
		if from, err = lang.Lookup(req.Source); err != nil {
			return invalid("source", "unknown_language", "source: %v", err)
		}
	}
	if req.Text == "" {
		return invalid("text", "", "text: required")
	}
	inst, err := engine.TranslationInstruction(req.Text, from, to, req.Prompt)
	if err != nil {
		return invalid("prompt_language", "", "%v", err)
	}
	if req.Model == "" {
		req.Model = s.modelID
	}
	return s.runChat(w, r, &req.sampling, []chat.Message{{Role: "user", Content: inst}})
}

func (s *Server) languages(w http.ResponseWriter, r *http.Request) {
	type entry struct {
		Code   string `json:"code"`
		Name   string `json:"name"`
		NameZh string `json:"name_zh"`
	}
	var out []entry
	for _, l := range lang.All() {
		out = append(out, entry{l.Code, l.Name, l.NameZh})
	}
	writeJSON(w, 200, out)
}

func usageOf(u engine.Usage) *usage {
	return &usage{u.PromptTokens, u.CompletionTokens, u.PromptTokens + u.CompletionTokens}
}

// sse writes Server-Sent Events.
type sse struct{ w http.ResponseWriter }

func startSSE(w http.ResponseWriter) *sse {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(200)
	return &sse{w}
}

func (e *sse) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(e.w, "data: %s\n\n", b); err != nil {
		return errors.Join(err, errClientGone)
	}
	flush(e.w)
	return nil
}

func (e *sse) done() error {
	if _, err := fmt.Fprint(e.w, "data: [DONE]\n\n"); err != nil {
		return errors.Join(err, errClientGone)
	}
	flush(e.w)
	return nil
}

var errClientGone = fmt.Errorf("client went away: %w", context.Canceled)
