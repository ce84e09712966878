package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bayling-go/bayling/internal/atomicfile"
	"github.com/bayling-go/bayling/internal/eval"
)

type mcOptions struct {
	loadFlags
	task, data, out string
	subsets         []string
	shots, limit    int
	seed            uint32
	addBOS          bool
}

func init() { evalCmd.AddCommand(newEvalMCCmd()) }

func newEvalMCCmd() *cobra.Command {
	o := &mcOptions{}
	c := &cobra.Command{
		Use:   "mc -m MODEL --task TASK --data DIR",
		Short: "Multiple-choice accuracy by log-likelihood (lm-evaluation-harness semantics)",
		Long: `Score a multiple-choice task the way lm-evaluation-harness does.

Each choice is the continuation " "+choice of the task's prompt; its
log-likelihood is summed over the continuation's tokens (the pair is encoded
whole and the continuation is what follows the encoded context). acc picks the
highest log-likelihood, acc_norm the highest per character; ties go to the
first choice. Few-shot examples (--shots) are drawn as the harness does
(Python's random.Random(--seed).sample, or the first n for Belebele and
m_mmlu) and joined with blank lines.

Tasks: ` + strings.Join(eval.Tasks, ", ") + `. XCOPA reads its repository's
layout (DIR/LANG/test.LANG.jsonl); the others DIR/SUBSET/SPLIT.jsonl with the
Hugging Face datasets' field names, or SPLIT.parquet (flat columns; Snappy,
gzip or none) when there is no JSONL file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runMC(cmd, o) },
	}
	f := c.Flags()
	o.loadFlags.register(f)
	f.StringVar(&o.task, "task", "", "task: "+strings.Join(eval.Tasks, ", ")+" (required)")
	f.StringVar(&o.data, "data", "", "task data folder (required)")
	f.StringSliceVar(&o.subsets, "subsets", nil, "subsets (languages) to run; default every folder under --data")
	f.IntVar(&o.shots, "shots", 0, "few-shot examples per question")
	f.Uint32Var(&o.seed, "seed", 1234, "few-shot seed (the harness's fewshot_random_seed)")
	f.IntVar(&o.limit, "limit", 0, "first N questions per subset; 0 = all")
	f.BoolVar(&o.addBOS, "add-bos", false, "prepend BOS to every encoding (the harness's add_bos_token)")
	f.StringVarP(&o.out, "output", "o", "", "write the results as JSON to this file")
	c.MarkFlagRequired("model")
	c.MarkFlagRequired("task")
	c.MarkFlagRequired("data")
	return c
}

func runMC(cmd *cobra.Command, o *mcOptions) error {
	subs, err := eval.LoadTask(o.task, o.data, o.subsets, o.shots)
	if err != nil {
		return err
	}
	l, err := o.load()
	if err != nil {
		return err
	}
	defer l.Close()
	s, err := eval.NewScorer(l.Model, l.Checkpoint.Tokenizer, o.addBOS)
	if err != nil {
		return err
	}
	start := time.Now()
	errOut := cmd.ErrOrStderr()
	res, err := eval.RunMC(cmd.Context(), s, subs, eval.MCOptions{
		Shots: o.shots, Seed: o.seed, Limit: o.limit,
		Doc: func(sub string, done, total int) {
			if done == total {
				fmt.Fprintf(errOut, "%s: %d questions\n", sub, total)
			}
		},
	})
	if err != nil {
		return err
	}
	writeMCTable(cmd.OutOrStdout(), o, res)
	fmt.Fprintf(errOut, "%s: %.1f s\n", o.task, time.Since(start).Seconds())
	if o.out != "" {
		rep := struct {
			Task    string          `json:"task"`
			Model   string          `json:"model"`
			Shots   int             `json:"shots"`
			Results []eval.MCResult `json:"results"`
		}{o.task, o.model, o.shots, res}
		return atomicfile.Write(o.out, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		})
	}
	return nil
}

func writeMCTable(w io.Writer, o *mcOptions, res []eval.MCResult) {
	fmt.Fprintf(w, "| %s (%d-shot) | n | acc | ± | acc_norm |\n|---|---:|---:|---:|---:|\n", o.task, o.shots)
	var n int
	var acc, norm float64
	for _, r := range res {
		fmt.Fprintf(w, "| %s | %d | %.4f | %.4f | %.4f |\n", r.Name, r.N, r.Acc, r.AccErr, r.AccNorm)
		acc += r.Acc
		norm += r.AccNorm
		n += r.N
	}
	if len(res) > 1 {
		k := float64(len(res))
		fmt.Fprintf(w, "| mean of %d | %d | %.4f | | %.4f |\n", len(res), n, acc/k, norm/k)
	}
}
