package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bayling-go/bayling/internal/chat"
	"github.com/bayling-go/bayling/internal/engine"
	"github.com/bayling-go/bayling/internal/sample"
	"github.com/bayling-go/bayling/internal/tensor"
)

type chatOptions struct {
	loadFlags
	template, system string
	cacheType        string
	ctx, maxTokens   int
	seed             int64
	params           sample.Params
}

func init() { addCommand(newChatCmd()) }

func newChatCmd() *cobra.Command {
	o := &chatOptions{}
	c := &cobra.Command{
		Use:   "chat -m MODEL",
		Short: "Chat with a model in the terminal, streaming its replies",
		Long: `Chat with a model in the terminal. Each line you type is a user turn; the
reply streams as it is generated, in the model's chat format (or --template).

Commands:
  /reset         forget the conversation
  /system TEXT   set the system message (empty TEXT: the format's default)
  /exit          quit (as does end of input)

When the conversation outgrows the context, the oldest exchanges are left
out of the prompt, keeping room for a reply of --max-tokens.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runChat(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := c.Flags()
	o.loadFlags.register(f)
	f.StringVar(&o.template, "template", "auto", "chat format: auto or one of bayling-llama2, bayling-llama3, llama-2-chat, llama-3-instruct, jinja")
	f.StringVar(&o.system, "system", "", "system message (default: the format's own)")
	f.IntVarP(&o.ctx, "ctx-size", "c", 0, "context in tokens; 0 = the model's, at most 4096")
	f.StringVar(&o.cacheType, "cache-type", "f16", "KV cache element type: f16 (half the memory) or f32")
	f.IntVarP(&o.maxTokens, "max-tokens", "n", 512, "tokens per reply at most")
	f.Int64VarP(&o.seed, "seed", "s", -1, "RNG seed; -1 = random")
	f.Float32Var(&o.params.Temperature, "temp", 0.7, "temperature; 0 = greedy")
	f.Float32Var(&o.params.TopP, "top-p", 0.9, "top-p (nucleus) mass; 1 = off")
	f.IntVar(&o.params.TopK, "top-k", 0, "top-k; 0 = off")
	f.Float32Var(&o.params.RepeatPenalty, "repeat-penalty", 1, "repetition penalty; 1 = off")
	c.MarkFlagRequired("model")
	return c
}

func runChat(ctx context.Context, in io.Reader, out, errOut io.Writer, o *chatOptions) error {
	if o.maxTokens < 1 {
		return fmt.Errorf("chat: --max-tokens %d must be >= 1", o.maxTokens)
	}
	kvType, err := tensor.ParseDType(o.cacheType)
	if err != nil {
		return fmt.Errorf("chat: --cache-type: %w", err)
	}
	l, err := o.load()
	if err != nil {
		return err
	}
	defer l.Close()
	p, err := engine.NewPrompter(o.template, l.Info, l.Checkpoint.Tokenizer)
	if err != nil {
		return fmt.Errorf("chat: %w (choose one with --template)", err)
	}
	eng, err := l.NewEngine(engine.Options{Context: o.ctx, Slots: 1, Queue: 1, KVType: kvType})
	if err != nil {
		return err
	}
	defer eng.Close()
	if o.seed < 0 {
		o.params.Seed = uint64(time.Now().UnixNano())
	} else {
		o.params.Seed = uint64(o.seed)
	}
	reply := min(o.maxTokens, eng.Context()/2)
	fmt.Fprintf(errOut, "bayling chat: %s, format %s, context %d. /reset, /system TEXT, /exit.\n", l.ID, p.T.Name(), eng.Context())
	s := &chatSession{p: p, eng: eng, out: out, errOut: errOut, system: o.system, params: o.params, budget: eng.Context() - reply, reply: reply}
	sc := bufio.NewScanner(in)
	sc.Buffer(nil, 1<<20)
	for {
		fmt.Fprint(errOut, "> ")
		if !sc.Scan() {
			fmt.Fprintln(errOut)
			return sc.Err()
		}
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case line == "/exit" || line == "/quit":
			return nil
		case line == "/reset":
			s.history = nil
			fmt.Fprintln(errOut, "(conversation cleared)")
		case line == "/system" || strings.HasPrefix(line, "/system "):
			s.system = strings.TrimSpace(strings.TrimPrefix(line, "/system"))
			fmt.Fprintln(errOut, "(system message set)")
		case strings.HasPrefix(line, "/"):
			fmt.Fprintf(errOut, "unknown command %s (/reset, /system TEXT, /exit)\n", strings.Fields(line)[0])
		default:
			if err := s.turn(ctx, line); err != nil {
				return err
			}
		}
	}
}

// chatSession is the conversation and what answers it.
type chatSession struct {
	p           *engine.Prompter
	eng         *engine.Engine
	out, errOut io.Writer
	system      string
	history     []chat.Message
	params      sample.Params
	budget      int // prompt tokens at most
	reply       int // reply tokens at most
}

// turn answers one user message, streaming the reply to out.
func (s *chatSession) turn(ctx context.Context, text string) error {
	msgs := []chat.Message{}
	if s.system != "" {
		msgs = append(msgs, chat.Message{Role: "system", Content: s.system})
	}
	msgs = append(append(msgs, s.history...), chat.Message{Role: "user", Content: text})
	ids, dropped, err := s.p.Fit(msgs, s.budget)
	if err != nil {
		fmt.Fprintf(s.errOut, "(%v)\n", err)
		return nil
	}
	if dropped > 0 {
		// The dropped turns are gone for good, so later prompts need not
		// re-render them.
		s.history = s.history[dropped:]
		fmt.Fprintf(s.errOut, "(context full: left out the %d oldest messages)\n", dropped)
	}
	req := s.p.Finish(engine.Request{Prompt: ids, MaxTokens: s.reply, Sample: s.params})
	s.params.Seed++ // a fresh draw next turn, still reproducible
	stream, err := s.eng.Submit(ctx, req)
	if err != nil {
		return err
	}
	var b strings.Builder
	for {
		d, err := stream.Next(ctx)
		if err != nil {
			return err
		}
		b.WriteString(d.Text)
		if _, err := io.WriteString(s.out, d.Text); err != nil {
			return err
		}
		if d.Done {
			break
		}
	}
	fmt.Fprintln(s.out)
	s.history = append(s.history, chat.Message{Role: "user", Content: text}, chat.Message{Role: "assistant", Content: strings.TrimSpace(b.String())})
	return nil
}
