package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/spf13/cobra"

	"github.com/bayling-go/bayling/internal/engine"
	"github.com/bayling-go/bayling/internal/server"
	"github.com/bayling-go/bayling/internal/tensor"
)

type serveOptions struct {
	loadFlags
	template, addr, apiKey string
	cacheType              string
	engine                 engine.Options
	server                 server.Options
	ready                  func(addr string) // tests: called once listening
}

func init() { addCommand(newServeCmd()) }

func newServeCmd() *cobra.Command {
	o := &serveOptions{}
	c := &cobra.Command{
		Use:   "serve -m MODEL [--addr 127.0.0.1:8080] [--api-key KEY]",
		Short: "Serve a model over an OpenAI-compatible HTTP API, with a web chat page at /",
		Long: `Serve a model over HTTP:

  POST /v1/chat/completions, POST /v1/completions, GET /v1/models
       OpenAI request and response JSON; "stream": true answers with
       Server-Sent Events ending in "data: [DONE]".
  GET  /            a web chat and translation page (no external assets)
  GET  /healthz     200 while serving, 503 while shutting down
  GET  /metrics     Prometheus text format

Requests are decoded together: each forward step advances every running
request by one token (continuous batching, --slots at a time). Requests
beyond --slots wait in a queue of --queue; beyond that the answer is 429.
The chat format follows the model (see 'bayling generate' and docs/chat.md);
--template overrides it. On SIGTERM or Ctrl-C the server stops accepting
connections and lets running streams finish.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), cmd.ErrOrStderr(), o)
		},
	}
	f := c.Flags()
	o.loadFlags.register(f)
	f.StringVar(&o.template, "template", "auto", "chat format: auto or one of bayling-llama2, bayling-llama3, llama-2-chat, llama-3-instruct, jinja")
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	f.StringVar(&o.apiKey, "api-key", "", "require this key as 'Authorization: Bearer KEY' on /v1 and /api")
	f.IntVarP(&o.engine.Context, "ctx-size", "c", 0, "context per request in tokens; 0 = the model's, at most 4096")
	f.IntVar(&o.engine.Slots, "slots", 8, "requests decoded together")
	f.StringVar(&o.cacheType, "cache-type", "f16", "KV cache element type: f16 (half the memory) or f32")
	f.IntVar(&o.engine.Queue, "queue", 64, "requests waiting for a slot before 429")
	f.IntVar(&o.server.MaxTokens, "max-tokens", 0, "largest max_tokens a request may ask for; 0 = the context")
	f.Int64Var(&o.server.MaxBodyBytes, "max-body", 1<<20, "largest request body in bytes")
	f.DurationVar(&o.server.Shutdown, "shutdown-timeout", 0, "how long running requests may finish on shutdown; 0 = 60s")
	c.MarkFlagRequired("model")
	return c
}

func runServe(ctx context.Context, errOut io.Writer, o *serveOptions) error {
	log := slog.New(slog.NewTextHandler(errOut, nil))
	if o.cacheType != "" {
		t, err := tensor.ParseDType(o.cacheType)
		if err != nil {
			return fmt.Errorf("serve: --cache-type: %w", err)
		}
		o.engine.KVType = t
	}
	l, err := o.load()
	if err != nil {
		return err
	}
	defer l.Close()
	prompter, err := engine.NewPrompter(o.template, l.Info, l.Checkpoint.Tokenizer)
	if err != nil {
		if o.template != "auto" && o.template != "" {
			return err
		}
		log.Warn("no chat format: /v1/chat/completions is off; pass --template to turn it on", "err", err)
		prompter = nil
	}
	eng, err := l.NewEngine(o.engine)
	if err != nil {
		return err
	}
	defer eng.Close()
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	o.server.APIKey, o.server.Logger = o.apiKey, log
	srv := server.New(eng, prompter, l.ID, o.server)
	format := "none"
	if prompter != nil {
		format = prompter.T.Name()
	}
	log.Info("serving", "url", "http://"+ln.Addr().String(), "model", l.ID, "chat_format", format,
		"context", eng.Context(), "slots", eng.Slots())
	if o.ready != nil {
		o.ready(ln.Addr().String())
	}
	return srv.Serve(ctx, ln)
}
