package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/bayling-go/bayling/internal/quickstart"
	"github.com/bayling-go/bayling/internal/train"
)

func init() {
	var (
		opt     quickstart.Options
		addr    string
		noServe bool
		check   bool
	)
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Run the whole recipe offline on built-in data: build alignment data, tune, evaluate, serve",
		Long: `Runs BayLing 2's recipe in miniature, offline and without ../shared:

  1. a multilingual corpus of CLDR names (16 languages) and zh/en instructions
  2. bayling data build, twice: with and without cross-lingual instructions
  3. a byte-level BPE tokenizer and a tiny Llama, randomly initialised
  4. bayling train on each dataset, same steps
  5. translation scores on a direction neither saw in training
     (fra_Latn -> deu_Latn) and one both saw (eng_Latn -> zho_Hans)

then prints the report, writes report.md and report.png, and serves the
model trained with cross-lingual data on --addr with the web chat page.
Each step prints the config file that reruns it as its own command.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			opt.Log = out
			bars := map[string]*progressbar.ProgressBar{}
			opt.Progress = func(model string, p train.Progress) {
				b, ok := bars[model]
				if !ok {
					b = newProgress("train "+model, int64(p.Steps))
					bars[model] = b
				}
				b.Describe(fmt.Sprintf("train %s  loss %.3f  %.0f tok/s", model, p.Loss, p.TokensPerS))
				b.Set(p.Step)
			}
			start := time.Now()
			rep, err := quickstart.Run(cmd.Context(), opt)
			for _, b := range bars {
				b.Finish()
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "\n%s\nchart: %s   (%s in all)\n", rep.Markdown, rep.Chart, time.Since(start).Round(time.Second))
			if noServe {
				return nil
			}
			model := ""
			for _, v := range rep.Variants {
				if v.Key == "with" {
					model = v.Model
				}
			}
			fmt.Fprintf(out, "\nserving %s — rerun: bayling serve -m %s --addr %s\n", filepath.Base(model), model, addr)
			so := &serveOptions{loadFlags: loadFlags{model: model}, addr: addr, template: "auto", cacheType: "f16"}
			so.engine.Slots, so.engine.Queue = 4, 16
			if !check {
				so.ready = func(a string) { fmt.Fprintf(out, "open http://%s/ (Ctrl-C stops)\n", a) }
				return runServe(cmd.Context(), cmd.ErrOrStderr(), so)
			}
			// --check: answer one chat request through the API, then stop.
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			answer := make(chan error, 1)
			so.ready = func(a string) {
				go func() {
					reply, err := askOnce(ctx, "http://"+a, "Provide the French translation for this sentence: German")
					if err == nil {
						fmt.Fprintf(out, "chat check: %q\n", reply)
					}
					answer <- err
					cancel()
				}()
			}
			err = runServe(ctx, io.Discard, so)
			select {
			case aerr := <-answer:
				return aerr
			default:
				return err
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&opt.Dir, "dir", "quickstart", "working folder for corpus, data, models and report")
	f.IntVar(&opt.Steps, "steps", 0, "training steps per model (default 600)")
	f.IntVarP(&opt.Threads, "threads", "t", 0, "threads; 0 = all cores")
	f.IntVar(&opt.EvalN, "eval-items", 0, "items scored per direction (default 120)")
	f.IntVar(&opt.Merges, "merges", 0, "BPE merges of the tokenizer (default 1500)")
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "address to serve on")
	f.BoolVar(&noServe, "no-serve", false, "stop after the report")
	f.BoolVar(&check, "check", false, "after the report, answer one chat request through the server and exit")
	addCommand(cmd)
}

// askOnce sends one chat message to an OpenAI-compatible server.
func askOnce(ctx context.Context, base, msg string) (string, error) {
	body, _ := json.Marshal(map[string]any{
		"model": "bayling-quickstart", "max_tokens": 24, "temperature": 0,
		"messages": []map[string]string{{"role": "user", "content": msg}},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var r struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
		Error *struct{ Message string } `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return "", fmt.Errorf("chat check: %s: %w", resp.Status, err)
	}
	if r.Error != nil || len(r.Choices) == 0 {
		return "", fmt.Errorf("chat check: %s: %+v", resp.Status, r.Error)
	}
	return r.Choices[0].Message.Content, nil
}
