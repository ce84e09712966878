package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/bayling-go/bayling/internal/engine"
	"github.com/bayling-go/bayling/internal/eval"
	"github.com/bayling-go/bayling/internal/lang"
)

type evalTranslateOptions struct {
	loadFlags
	template                       string
	data, split, pairs, out, spm   string
	promptLang                     string
	limit, beams, batch, maxTokens int
}

func init() { evalCmd.AddCommand(newEvalTranslateCmd()) }

func newEvalTranslateCmd() *cobra.Command {
	o := &evalTranslateOptions{}
	c := &cobra.Command{
		Use:   "translate -m MODEL --data DIR --pairs PAIRS --out DIR",
		Short: "Translation run over FLORES-style files: BLEU, spBLEU, chrF++ per direction",
		Long: `Translate every selected direction of a FLORES-style folder and score it.

--data holds one file per language named by FLORES-200 code: CODE.devtest,
CODE.dev or CODE.txt (directly or under DIR/devtest, DIR/dev), line-aligned.
--pairs selects directions: comma-separated SRC-TGT with codes or *, e.g.
'eng_Latn-*,*-eng_Latn,zho_Hans-*'. Each segment is sent with BayLing's
translation instruction in the model's chat format; --batch segments are
decoded together (greedy or --beams beam search).

Hypotheses are cached in OUT/hyps/SRC-TGT.hyp (rewritten atomically after
every batch) with OUT/progress.json recording how far each direction got and
the run's settings, so a killed run started again continues where it stopped
and produces the same outputs. Scores: BLEU (sacreBLEU default tokenizer for
the target; char for Japanese/Korean), spBLEU (flores200 tokenizer; needs
--spm-model) and chrF++, averaged by group (en→X, X→en, zh→X, X→zh, other) and
by resource level where known. Writes OUT/report.json, OUT/report.md and
OUT/heatmap.png.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runEvalTranslate(cmd, o) },
	}
	f := c.Flags()
	o.loadFlags.register(f)
	f.StringVar(&o.template, "template", "auto", "chat format: auto or one of bayling-llama2, bayling-llama3, llama-2-chat, llama-3-instruct, jinja")
	f.StringVar(&o.data, "data", "", "folder of CODE.devtest / CODE.dev / CODE.txt files (required)")
	f.StringVar(&o.split, "split", "", "devtest, dev or txt (default: the first found)")
	f.StringVar(&o.pairs, "pairs", "eng_Latn-*,*-eng_Latn", "directions: SRC-TGT with FLORES-200 codes or *, comma-separated")
	f.StringVar(&o.out, "out", "", "run folder for hypotheses, progress and reports (required)")
	f.StringVar(&o.spm, "spm-model", "", "flores200 SentencePiece model for spBLEU (without it spBLEU is unavailable)")
	f.StringVar(&o.promptLang, "prompt-lang", engine.PromptAuto, "instruction language: en, zh or auto")
	f.IntVar(&o.limit, "limit", 0, "first N segments per direction; 0 = all")
	f.IntVar(&o.beams, "beams", 1, "beam size; 1 = greedy (BayLing's evaluation uses 5)")
	f.IntVar(&o.batch, "batch", 8, "segments decoded together")
	f.IntVarP(&o.maxTokens, "max-tokens", "n", 256, "tokens generated per segment at most")
	c.MarkFlagRequired("model")
	c.MarkFlagRequired("data")
	c.MarkFlagRequired("out")
	return c
}

func runEvalTranslate(cmd *cobra.Command, o *evalTranslateOptions) error {
	if o.beams < 1 || o.batch < 1 || o.maxTokens < 1 {
		return fmt.Errorf("eval translate: --beams %d, --batch %d and --max-tokens %d must be >= 1", o.beams, o.batch, o.maxTokens)
	}
	if _, err := engine.TranslationInstruction("", lang.Language{}, lang.Language{}, o.promptLang); err != nil {
		return err
	}
	l, err := o.load()
	if err != nil {
		return err
	}
	defer l.Close()
	p, err := engine.NewPrompter(o.template, l.Info, l.Checkpoint.Tokenizer)
	if err != nil {
		return fmt.Errorf("eval translate: %w (choose one with --template)", err)
	}
	errOut := cmd.ErrOrStderr()
	// Absolute, so that a resumed run from another folder matches.
	modelPath, err := filepath.Abs(o.model)
	if err != nil {
		return err
	}
	rep, err := eval.RunTranslate(cmd.Context(), eval.TranslateOptions{
		Data: o.data, Split: o.split, Pairs: o.pairs, Limit: o.limit, Batch: o.batch, Out: o.out, SPMModel: o.spm,
		Settings: map[string]string{
			"model": modelPath, "model_id": l.ID, "template": p.T.Name(), "prompt_lang": o.promptLang,
			"beams": strconv.Itoa(o.beams), "max_tokens": strconv.Itoa(o.maxTokens), "batch": strconv.Itoa(o.batch),
			"tokenizer": o.tokenizer,
		},
		Translate: func(ctx context.Context, from, to lang.Language, segs []string) ([]string, error) {
			tr := engine.Translator{Model: l.Model, Tokenizer: l.Checkpoint.Tokenizer, Prompter: p, StopIDs: l.Checkpoint.Stop,
				From: from, To: to, PromptLang: o.promptLang, Beams: o.beams, MaxTokens: o.maxTokens}
			return tr.Translate(ctx, segs)
		},
		Progress: func(d eval.Direction, done, total int) {
			if done == total {
				fmt.Fprintf(errOut, "%s: %d segments\n", d.Name(), total)
			}
		},
	})
	if err != nil {
		return err
	}
	if err := eval.WriteMarkdown(cmd.OutOrStdout(), rep); err != nil {
		return err
	}
	fmt.Fprintf(errOut, "reports in %s (report.md, report.json, heatmap.png)\n", o.out)
	return nil
}
