package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bayling-go/bayling/internal/checkpoint"
	"github.com/bayling-go/bayling/internal/kernels"
	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/sample"
	"github.com/bayling-go/bayling/internal/tensor"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

// generateOptions are the flags of `bayling generate`. Defaults follow
// llama.cpp's llama-cli so its users' expectations carry over.
type generateOptions struct {
	model, tokenizer, prompt string
	promptFile               string
	quantize                 string
	n, ctx, threads          int
	seed                     int64
	params                   sample.Params
	stops                    []string
	stopIDs                  []int
	cacheType                string
	ids, noPrompt            bool
}

func init() { addCommand(newGenerateCmd()) }

func newGenerateCmd() *cobra.Command {
	o := &generateOptions{}
	c := &cobra.Command{
		Use:   "generate -m MODEL -p PROMPT",
		Short: "Continue a prompt with a model (GGUF or llama2.c .bin), streaming the text",
		Long: `Continue a prompt with a model, streaming the text to stdout.

The prompt is encoded with BOS (when the model declares one) and echoed (like llama2.c's run and llama.cpp's
llama-simple). Sampling applies temperature, repetition penalty, top-p, top-k
and min-p in that order; --temp 0 is greedy. Generation ends after -n tokens,
at an end-of-generation token (for llama2.c models also BOS, as run.c does),
at a --stop string, or when the context is full. A timing line goes to stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runGenerate(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := c.Flags()
	f.StringVarP(&o.model, "model", "m", "", "model: .gguf, Hugging Face directory, llama2.c .bin, or ORG/NAME[@REV] from the HF cache (required)")
	f.StringVar(&o.quantize, "quantize", "", "quantize a Hugging Face directory's matrices while loading: q8_0, q4_0, q4_k, q6_k (memory stays near the quantized size)")
	f.StringVar(&o.tokenizer, "tokenizer", "", "tokenizer file (default: the GGUF's own, or tokenizer.bin / tok<vocab>.bin beside a .bin)")
	f.StringVarP(&o.prompt, "prompt", "p", "", "prompt text")
	f.StringVarP(&o.promptFile, "file", "f", "", "read the prompt from a file (\"-\" = stdin) instead of -p")
	f.IntVarP(&o.n, "n-predict", "n", -1, "tokens to generate; -1 = until a stop token or the context is full")
	f.IntVarP(&o.ctx, "ctx-size", "c", 0, "context length in tokens; 0 = the model's")
	f.IntVarP(&o.threads, "threads", "t", 0, "threads; 0 = all cores")
	f.Int64VarP(&o.seed, "seed", "s", -1, "RNG seed; -1 = random")
	f.Float32Var(&o.params.Temperature, "temp", 0.8, "temperature; 0 = greedy")
	f.Float32Var(&o.params.TopP, "top-p", 0.95, "top-p (nucleus) mass; 1 = off")
	f.IntVar(&o.params.TopK, "top-k", 40, "top-k; 0 = off")
	f.Float32Var(&o.params.MinP, "min-p", 0.05, "min-p relative to the most likely token; 0 = off")
	f.Float32Var(&o.params.RepeatPenalty, "repeat-penalty", 1, "repetition penalty; 1 = off")
	f.IntVar(&o.params.RepeatLastN, "repeat-last-n", 64, "tokens of history the penalty looks at; 0 = all")
	f.StringArrayVar(&o.stops, "stop", nil, "stop string (repeatable); the text ends before it")
	f.IntSliceVar(&o.stopIDs, "stop-id", nil, "extra token id that ends generation (repeatable)")
	f.StringVar(&o.cacheType, "cache-type", "f32", "KV cache element type: f32 or f16 (half the memory)")
	f.BoolVar(&o.ids, "ids", false, "print the generated token ids (not the prompt's) on one line instead of text; a --stop string still ends generation, its last token included")
	f.BoolVar(&o.noPrompt, "no-display-prompt", false, "do not echo the prompt")
	c.MarkFlagRequired("model")
	return c
}

func runGenerate(ctx context.Context, in io.Reader, out, errOut io.Writer, o *generateOptions) error {
	if o.n < -1 {
		return fmt.Errorf("generate: -n %d: want -1 or a count >= 0", o.n)
	}
	if err := o.readPrompt(in); err != nil {
		return err
	}
	ck, err := checkpoint.Load(o.model, checkpoint.Options{Tokenizer: o.tokenizer, Quantize: o.quantize})
	if err != nil {
		return err
	}
	defer ck.Close()
	st, closePool, err := o.newState(ck)
	if err != nil {
		return err
	}
	defer closePool()
	if o.seed < 0 {
		o.params.Seed = uint64(time.Now().UnixNano())
	} else {
		o.params.Seed = uint64(o.seed)
	}
	sp, err := sample.New(o.params, ck.Config.VocabSize)
	if err != nil {
		return err
	}
	// BOS as the model declares (GGUF add_bos_token, tokenizer_config.json):
	// Llama 2/3 and llama2.c models start with it, Qwen-style ones do not.
	prompt := ck.Tokenizer.Encode(o.prompt, tokenizer.EncodeOptions{AddBOS: tokenizer.AddBOSByDefault(ck.Tokenizer)})
	if len(prompt) == 0 {
		return fmt.Errorf("generate: empty prompt and the model adds no BOS token")
	}
	stop, err := o.stopTokens(ck)
	if err != nil {
		return err
	}
	g := &generation{out: out, tok: ck.Tokenizer, ids: o.ids, stop: stop, match: sample.NewStopMatcher(o.stops)}
	stats, err := g.run(ctx, st, sp, prompt, o.n, !o.noPrompt)
	if err != nil {
		return err
	}
	fmt.Fprintln(errOut, stats)
	return nil
}

// readPrompt takes the prompt from -f if given.
func (o *generateOptions) readPrompt(in io.Reader) error {
	if o.promptFile == "" {
		return nil
	}
	if o.prompt != "" {
		return fmt.Errorf("generate: give the prompt with -p or -f, not both")
	}
	b, err := readInput(o.promptFile, in)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	o.prompt = string(b)
	return nil
}

// newState builds the model on a worker pool (closed by the returned
// function) and one sequence with the requested context and cache type.
func (o *generateOptions) newState(ck *checkpoint.Model) (*llama.State, func(), error) {
	kvType, err := tensor.ParseDType(o.cacheType)
	if err != nil {
		return nil, nil, fmt.Errorf("generate: --cache-type: %w", err)
	}
	m, err := llama.New(ck.Config, ck.Weights)
	if err != nil {
		return nil, nil, err
	}
	pool := kernels.NewPool(o.threads)
	m.SetPool(pool)
	st, err := m.NewStateWith(llama.StateOptions{Context: o.ctx, KVType: kvType})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return st, pool.Close, nil
}

// stopTokens is the model's stop ids plus --stop-id.
func (o *generateOptions) stopTokens(ck *checkpoint.Model) ([]int, error) {
	for _, id := range o.stopIDs {
		if id < 0 || id >= ck.Config.VocabSize {
			return nil, fmt.Errorf("generate: --stop-id %d outside vocabulary of %d", id, ck.Config.VocabSize)
		}
	}
	return append(slices.Clone(ck.Stop), o.stopIDs...), nil
}

// generation streams one completion to out.
type generation struct {
	out   io.Writer
	tok   tokenizer.Tokenizer
	dec   *tokenizer.StreamDecoder
	ids   bool
	stop  []int
	match *sample.StopMatcher
	gen   []int
}

// run prefills prompt, then samples up to n tokens (n < 0: no limit).
func (g *generation) run(ctx context.Context, st *llama.State, sp *sample.Sampler, prompt []int, n int, echo bool) (string, error) {
	g.dec = tokenizer.NewStreamDecoder(g.tok)
	for _, id := range prompt {
		s := g.dec.Add(id)
		if echo && !g.ids {
			if _, err := io.WriteString(g.out, s); err != nil {
				return "", err
			}
		}
	}
	t0 := time.Now()
	logits, err := st.Forward(prompt)
	if err != nil {
		return "", err
	}
	t1 := time.Now()
	history := append([]int(nil), prompt...)
	reason := "length"
	for n < 0 || len(g.gen) < n {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		next := sp.Sample(logits, history)
		if slices.Contains(g.stop, next) {
			reason = "stop token " + strconv.Itoa(next)
			break
		}
		history = append(history, next)
		g.gen = append(g.gen, next)
		stopped, err := g.emit(next)
		if err != nil {
			return "", err
		}
		if stopped {
			reason = "stop string"
			break
		}
		if st.Pos() == st.Context() {
			reason = fmt.Sprintf("context full (%d)", st.Context())
			break
		}
		if logits, err = st.Forward([]int{next}); err != nil {
			return "", err
		}
	}
	if err := g.finish(); err != nil {
		return "", err
	}
	t2 := time.Now()
	return fmt.Sprintf("prompt %d tokens in %v (%.1f tok/s); generated %d tokens in %v (%.1f tok/s); ended by %s",
		len(prompt), t1.Sub(t0).Round(time.Microsecond), rate(len(prompt), t1.Sub(t0)),
		len(g.gen), t2.Sub(t1).Round(time.Microsecond), rate(len(g.gen), t2.Sub(t1)), reason), nil
}

// emit writes the text of one more token and reports whether a stop
// string completed. In --ids mode the text is only matched, not written.
func (g *generation) emit(id int) (bool, error) {
	text, stopped := g.match.Push(g.dec.Add(id))
	if g.ids {
		return stopped, nil
	}
	_, err := io.WriteString(g.out, text)
	return stopped, err
}

// finish writes what the decoder and stop matcher still hold, and the
// final newline (or the id line).
func (g *generation) finish() error {
	if g.ids {
		s := make([]string, len(g.gen))
		for i, id := range g.gen {
			s[i] = strconv.Itoa(id)
		}
		_, err := fmt.Fprintln(g.out, strings.Join(s, " "))
		return err
	}
	tail := ""
	if !g.match.Stopped() {
		tail, _ = g.match.Push(g.dec.Flush())
		tail += g.match.Flush()
	}
	_, err := io.WriteString(g.out, tail+"\n")
	return err
}

// readInput reads a file, or all of in for "-".
func readInput(path string, in io.Reader) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(in)
	}
	return os.ReadFile(path)
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
