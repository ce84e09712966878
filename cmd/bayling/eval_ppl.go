package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bayling-go/bayling/internal/eval"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

type pplOptions struct {
	loadFlags
	ctx, chunks int
}

func init() { evalCmd.AddCommand(newEvalPPLCmd()) }

func newEvalPPLCmd() *cobra.Command {
	o := &pplOptions{}
	c := &cobra.Command{
		Use:   "ppl -m MODEL FILE",
		Short: "Perplexity of a text file with llama.cpp's llama-perplexity windowing",
		Long: `Perplexity of FILE as llama.cpp's llama-perplexity computes it.

The file (one trailing newline dropped, as llama.cpp's -f does) is tokenized
whole, with BOS when the model adds it, and cut into chunks of -c tokens; the
tail shorter than a chunk is dropped. Each chunk runs from an empty cache with
its first token replaced by BOS, and only its second half is scored, so every
scored token sees at least c/2 tokens of context. The running perplexity is
printed after each chunk as "[i]ppl," and the final estimate with llama.cpp's
± (PPL times the standard error of the mean negative log-likelihood).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPPL(cmd, args[0], o)
		},
	}
	f := c.Flags()
	o.loadFlags.register(f)
	f.IntVarP(&o.ctx, "ctx-size", "c", 512, "chunk length in tokens (llama-perplexity -c)")
	f.IntVar(&o.chunks, "chunks", 0, "score at most this many chunks; 0 = all")
	c.MarkFlagRequired("model")
	return c
}

func runPPL(cmd *cobra.Command, path string, o *pplOptions) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("ppl: %w", err)
	}
	text := strings.TrimSuffix(string(data), "\n")
	l, err := o.load()
	if err != nil {
		return err
	}
	defer l.Close()
	if n := l.Model.Config().MaxPositionEmbeddings; o.ctx > n {
		return fmt.Errorf("ppl: -c %d exceeds the model's context of %d", o.ctx, n)
	}
	tok := l.Checkpoint.Tokenizer
	addBOS := tokenizer.AddBOSByDefault(tok)
	ids := tok.Encode(text, tokenizer.EncodeOptions{AddBOS: addBOS})
	bos := -1
	if addBOS {
		bos = tok.BOS()
	}
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	fmt.Fprintf(errOut, "perplexity: %d tokens, %d chunks of %d, scoring the last %d of each\n", len(ids), len(ids)/max(o.ctx, 1), o.ctx, o.ctx-1-o.ctx/2)
	start := time.Now()
	r, err := eval.Perplexity(cmd.Context(), l.Model, ids, eval.PerplexityOptions{
		Ctx: o.ctx, BOS: bos, Chunks: o.chunks,
		Chunk: func(i int, ppl float64) { fmt.Fprintf(out, "[%d]%.4f,", i, ppl) },
	})
	if err != nil {
		return fmt.Errorf("ppl %s: %w", path, err)
	}
	io.WriteString(out, "\n")
	fmt.Fprintf(out, "Final estimate: PPL = %.4f +/- %.5f\n", r.PPL, r.Err)
	fmt.Fprintf(errOut, "perplexity: %d tokens scored in %.2f s\n", r.Count, time.Since(start).Seconds())
	return nil
}
