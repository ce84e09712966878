package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/bayling-go/bayling/internal/train"
)

func init() { addCommand(newTrainCmd()) }

func newTrainCmd() *cobra.Command {
	var cfgPath, out string
	var quiet bool
	c := &cobra.Command{
		Use:   "train -c TRAIN.yaml [-o OUTDIR]",
		Short: "Fine-tune a Llama model (full or LoRA) on chat JSONL, with resumable checkpoints",
		Long: `Fine-tune a model on the JSONL that 'bayling data build' writes (OpenAI
"messages" or ShareGPT "conversations"), taking loss only on assistant tokens
in the model's chat format. See docs/training.md for every TRAIN.yaml key.

OUTDIR (default: the config's name without .yaml) receives
checkpoint.safetensors (after every save_interval steps, atomic), log.csv
(step,loss,lr,tokens_per_s,eval_loss,grad_norm), loss.png and the exports
(model.gguf, hf/, adapter/). Running again with the same OUTDIR resumes from
the checkpoint; the result is bit-identical to an uninterrupted run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfgPath == "" {
				return fmt.Errorf("train: -c TRAIN.yaml is required")
			}
			cfg, err := train.LoadConfig(cfgPath)
			if err != nil {
				return err
			}
			if out == "" {
				out = strings.TrimSuffix(filepath.Base(cfgPath), filepath.Ext(cfgPath))
			}
			var bar *progressbar.ProgressBar
			errOut := cmd.ErrOrStderr()
			if quiet {
				errOut = io.Discard
			}
			progress := func(p train.Progress) {
				if bar == nil {
					bar = progressbar.NewOptions(p.Steps, progressbar.OptionSetWriter(errOut),
						progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true),
						progressbar.OptionSetWidth(30), progressbar.OptionSetDescription("train"))
					bar.Set(p.Step - 1)
				}
				desc := fmt.Sprintf("loss %.4f  %.0f tok/s", p.Loss, p.TokensPerS)
				if !math.IsNaN(p.EvalLoss) {
					desc += fmt.Sprintf("  eval %.4f", p.EvalLoss)
				}
				bar.Describe(desc)
				bar.Set(p.Step)
			}
			if err := train.Run(cmd.Context(), cfg, out, progress); err != nil {
				return err
			}
			if bar != nil {
				bar.Finish()
			}
			fmt.Fprintf(errOut, "\ntrain: wrote %s\n", out)
			return nil
		},
	}
	c.Flags().StringVarP(&cfgPath, "config", "c", "", "training config (YAML)")
	c.Flags().StringVarP(&out, "out", "o", "", "output folder for checkpoints, log and exports")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	return c
}
