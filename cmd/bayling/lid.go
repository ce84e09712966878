package main

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/bayling-go/bayling/internal/lang"
	"github.com/bayling-go/bayling/internal/lid"
)

func init() {
	var modelPath string
	var k int
	c := &cobra.Command{
		Use:   "lid -m MODEL < lines",
		Short: "Identify the language of each input line (prints code<TAB>probability)",
		Long: `Reads lines on standard input and prints, for each, the most likely language
and its probability, separated by a tab. With -k N it prints the N best
labels and probabilities, tab-separated. MODEL is a model trained with
"bayling lid train" or a fastText .bin (GlotLID, OpenLID, lid.176.bin).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if modelPath == "" {
				return fmt.Errorf("lid: -m MODEL is required")
			}
			p, err := lid.Open(modelPath)
			if err != nil {
				return err
			}
			return lidStream(p, cmd.InOrStdin(), cmd.OutOrStdout(), k)
		},
	}
	c.Flags().StringVarP(&modelPath, "model", "m", "", "LID model (bayling or fastText .bin)")
	c.Flags().IntVarP(&k, "k", "k", 1, "labels to print per line")
	c.AddCommand(lidTrainCmd(), lidEvalCmd())
	addCommand(c)
}

// lidStream labels stdin in batches on every CPU, writing results in order.
func lidStream(p lid.Predictor, in io.Reader, out io.Writer, k int) error {
	if k < 1 {
		return fmt.Errorf("lid: -k must be at least 1, got %d", k)
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	w := bufio.NewWriterSize(out, 1<<16)
	defer w.Flush()
	const batch = 8192
	lines := make([]string, 0, batch)
	results := make([]string, batch)
	workers := runtime.GOMAXPROCS(0)
	flush := func() {
		var wg sync.WaitGroup
		for g := 0; g < workers; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				var sb strings.Builder
				for i := g; i < len(lines); i += workers {
					sb.Reset()
					if k == 1 {
						label, prob := p.Predict(lines[i])
						writePred(&sb, label, prob)
					} else {
						for j, pr := range p.PredictK(lines[i], k) {
							if j > 0 {
								sb.WriteByte('\t')
							}
							writePred(&sb, pr.Label, pr.Prob)
						}
					}
					results[i] = sb.String()
				}
			}(g)
		}
		wg.Wait()
		for i := range lines {
			w.WriteString(results[i])
			w.WriteByte('\n')
		}
		lines = lines[:0]
	}
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) == batch {
			flush()
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		return fmt.Errorf("lid: reading input: %w", err)
	}
	return w.Flush()
}

func writePred(sb *strings.Builder, label string, prob float64) {
	sb.WriteString(label)
	sb.WriteByte('\t')
	sb.WriteString(strconv.FormatFloat(prob, 'f', 4, 64))
}

func lidTrainCmd() *cobra.Command {
	var out string
	var opts lid.TrainOptions
	var langs string
	c := &cobra.Command{
		Use:   "train -o MODEL DIR",
		Short: "Train a language identifier on a FLORES-style folder (DIR/<code>.dev|.devtest|.txt)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("lid train: -o MODEL is required")
			}
			if langs != "" {
				opts.Languages = strings.Split(langs, ",")
			}
			opts.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			start := time.Now()
			m, err := lid.Train(cmd.Context(), args[0], opts)
			if err != nil {
				return err
			}
			if err := m.Save(out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "trained %d languages in %s; wrote %s\n", len(m.Labels()), time.Since(start).Round(time.Millisecond), out)
			return nil
		},
	}
	f := c.Flags()
	f.StringVarP(&out, "output", "o", "", "model file to write")
	f.IntVar(&opts.Dim, "dim", 0, "embedding size (default 64)")
	f.IntVar(&opts.Epochs, "epoch", 0, "passes over the data (default from lid.TrainOptions)")
	f.Float64Var(&opts.LR, "lr", 0, "initial learning rate (default from lid.TrainOptions)")
	f.IntVar(&opts.Buckets, "bucket", 0, "hash buckets (default from lid.TrainOptions)")
	f.IntVar(&opts.MinN, "minn", 0, "shortest char n-gram (default 1)")
	f.IntVar(&opts.MaxN, "maxn", 0, "longest char n-gram (default 5)")
	f.IntVar(&opts.MaxLines, "max-lines", 0, "lines per language (default all)")
	f.IntVar(&opts.Threads, "thread", runtime.GOMAXPROCS(0), "training goroutines (1 = reproducible)")
	f.Uint64Var(&opts.Seed, "seed", 0, "random seed (default 1)")
	f.StringVar(&langs, "langs", "", "comma-separated languages to train (default every file)")
	return c
}

func lidEvalCmd() *cobra.Command {
	var modelPath string
	var top int
	c := &cobra.Command{
		Use:   "eval -m MODEL DIR",
		Short: "Score a LID model on a FLORES-style folder: accuracy, macro-F1, worst languages, confusions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if modelPath == "" {
				return fmt.Errorf("lid eval: -m MODEL is required")
			}
			p, err := lid.Open(modelPath)
			if err != nil {
				return err
			}
			ex, err := lid.ReadDir(args[0], nil, 0)
			if err != nil {
				return err
			}
			start := time.Now()
			r := lid.Evaluate(p, ex)
			el := time.Since(start)
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "sentences %d  languages %d  accuracy %.4f  macro-F1 %.4f  (%.0f sentences/s)\n",
				r.N, len(r.Worst(1<<30)), r.Accuracy, r.MacroF1, float64(r.N)/el.Seconds())
			fmt.Fprintf(w, "\nworst languages:\n")
			for _, l := range r.Worst(top) {
				s := r.PerLabel[l]
				fmt.Fprintf(w, "  %-9s %-28s F1 %.4f  P %.4f  R %.4f\n", l, langName(l), s.F1, s.Precision, s.Recall)
			}
			fmt.Fprintf(w, "\ntop confusions (gold -> predicted):\n")
			for _, c := range r.TopConfusions(top) {
				fmt.Fprintf(w, "  %-9s -> %-9s %5d\n", c.Gold, c.Predicted, c.Count)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&modelPath, "model", "m", "", "LID model (bayling or fastText .bin)")
	c.Flags().IntVar(&top, "top", 20, "how many worst languages and confusions to list")
	return c
}

func langName(code string) string {
	if l, err := lang.Lookup(code); err == nil {
		return l.Name
	}
	return ""
}
