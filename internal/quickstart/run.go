package quickstart

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/bayling-go/bayling/internal/data"
	"github.com/bayling-go/bayling/internal/engine"
	"github.com/bayling-go/bayling/internal/eval/metrics"
	"github.com/bayling-go/bayling/internal/lang"
	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/plot"
	"github.com/bayling-go/bayling/internal/train"
)

// Options size the quickstart.
type Options struct {
	Dir     string // working folder: corpus, data, models, report
	Steps   int    // optimizer steps per model (default 600)
	Threads int    // 0 = all cores
	Merges  int    // BPE merges (default 1500)
	EvalN   int    // held-out items scored (default 120)
	Seed    uint64
	// Log receives the step-by-step narration, including the command that
	// reruns each step on its own.
	Log io.Writer
	// Progress is told about training steps.
	Progress func(model string, p train.Progress)
}

func (o *Options) defaults() {
	if o.Steps == 0 {
		o.Steps = 600
	}
	if o.Merges == 0 {
		o.Merges = 1500
	}
	if o.EvalN == 0 {
		o.EvalN = 120
	}
	if o.Seed == 0 {
		o.Seed = 20241125
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// Variant is one of the two trained models.
type Variant struct {
	Name  string // "with cross-lingual", "without cross-lingual"
	Key   string // with, without
	Model string // GGUF path of the tuned model
	// Scores on the held-out direction and on a direction both saw.
	HeldOutChrF, HeldOutExact float64
	SeenChrF, SeenExact       float64
	Records                   int64
	FinalLoss                 float64
}

// Report is what the quickstart found.
type Report struct {
	HeldOut, Seen [2]string
	Items         int
	Variants      []Variant
	Chart         string
	Markdown      string
}

// Run performs every step and returns the report. Each step writes the
// config file that reruns it as a normal subcommand.
func Run(ctx context.Context, opt Options) (*Report, error) {
	opt.defaults()
	dir := opt.Dir
	say := func(format string, a ...any) { fmt.Fprintf(opt.Log, format+"\n", a...) }

	corpus := filepath.Join(dir, "corpus")
	n, err := WriteCorpus(corpus)
	if err != nil {
		return nil, err
	}
	say("1/5 corpus: %d entities named in %d languages (CLDR, golang.org/x/text) in %s", n, len(Locales), corpus)

	// Data: the same zh/en instructions, with and without the cross-lingual
	// translation instructions that link every language to English and Chinese.
	var variants []Variant
	for _, v := range []struct{ key, name, langs string }{
		{"with", "with cross-lingual", ""},
		{"without", "without cross-lingual", "languages: [eng_Latn, zho_Hans]\n"},
	} {
		recipe := filepath.Join(dir, "recipe-"+v.key+".yaml")
		y := fmt.Sprintf(`# bayling data build -c %s -o %s
seed: %d
no_mix: true
%stemplate_mix: {en: 0.5, zh: 0.5}
inputs:
  - kind: multiway
    path: corpus
    ext: txt
  - kind: instructions
    path: corpus/en.jsonl
    lang: eng_Latn
  - kind: instructions
    path: corpus/zh.jsonl
    lang: zho_Hans
`, recipe, filepath.Join(dir, "data-"+v.key), opt.Seed, v.langs)
		if err := os.WriteFile(recipe, []byte(y), 0o644); err != nil {
			return nil, err
		}
		r, err := data.LoadRecipe(recipe)
		if err != nil {
			return nil, err
		}
		m, err := data.Build(ctx, r, filepath.Join(dir, "data-"+v.key), data.Options{})
		if err != nil {
			return nil, err
		}
		say("2/5 data (%s): %d records in, %d out  — rerun: bayling data build -c %s -o %s", v.name, m.Counts.In, m.Counts.Out, recipe, filepath.Join(dir, "data-"+v.key))
		variants = append(variants, Variant{Name: v.name, Key: v.key, Records: m.Counts.Out})
	}

	// Tokenizer and the untrained model both variants start from.
	texts, err := messageTexts(filepath.Join(dir, "data-with", "messages"))
	if err != nil {
		return nil, err
	}
	kvs, vocab, err := TrainBPE(texts, opt.Merges)
	if err != nil {
		return nil, err
	}
	cfg := TinyConfig(vocab)
	init := filepath.Join(dir, "init.gguf")
	p, err := train.NewParams(cfg)
	if err != nil {
		return nil, err
	}
	randomInit(p, opt.Seed)
	if err := train.ExportGGUF(init, "bayling-quickstart", p, kvs); err != nil {
		return nil, err
	}
	say("3/5 model: byte-level BPE with %d tokens; Llama with dim %d, %d layers, %d heads (%d kv), random init in %s", vocab, cfg.HiddenSize, cfg.NumHiddenLayers, cfg.NumAttentionHeads, cfg.NumKeyValueHeads, init)

	for i := range variants {
		v := &variants[i]
		out := filepath.Join(dir, "train-"+v.Key)
		conf := filepath.Join(dir, "train-"+v.Key+".yaml")
		y := fmt.Sprintf(`# bayling train -c %s -o %s
model: init.gguf
name: bayling-quickstart
data: [data-%s/messages]
eval_every: 40
seq_len: 128
batch_size: 16
steps: %d
lr: 0.003
min_lr: 0.0003
warmup: %d
weight_decay: 0.01
clip: 1.0
seed: %d
threads: %d
eval_interval: 100
save_interval: 100
export: [gguf]
`, conf, out, v.Key, opt.Steps, min(30, opt.Steps/10), opt.Seed, opt.Threads)
		if err := os.WriteFile(conf, []byte(y), 0o644); err != nil {
			return nil, err
		}
		tc, err := train.LoadConfig(conf)
		if err != nil {
			return nil, err
		}
		err = train.Run(ctx, tc, out, func(p train.Progress) {
			v.FinalLoss = p.Loss
			if opt.Progress != nil {
				opt.Progress(v.Name, p)
			}
		})
		if err != nil {
			return nil, fmt.Errorf("quickstart: training %s: %w", v.Name, err)
		}
		v.Model = filepath.Join(out, train.GGUFName)
		say("4/5 trained (%s): final loss %.3f — rerun: bayling train -c %s -o %s", v.Name, v.FinalLoss, conf, out)
	}

	rep := &Report{HeldOut: HeldOut, Seen: [2]string{"eng_Latn", "zho_Hans"}}
	items, err := evalItems(corpus, opt.EvalN, opt.Seed)
	if err != nil {
		return nil, err
	}
	rep.Items = len(items)
	for i := range variants {
		v := &variants[i]
		if v.HeldOutChrF, v.HeldOutExact, err = score(ctx, v.Model, items, rep.HeldOut, opt.Threads); err != nil {
			return nil, err
		}
		if v.SeenChrF, v.SeenExact, err = score(ctx, v.Model, items, rep.Seen, opt.Threads); err != nil {
			return nil, err
		}
	}
	rep.Variants = variants
	say("5/5 evaluated %d items on %s→%s (held out) and %s→%s (seen by both)", rep.Items, rep.HeldOut[0], rep.HeldOut[1], rep.Seen[0], rep.Seen[1])
	rep.Markdown = rep.markdown()
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(rep.Markdown), 0o644); err != nil {
		return nil, err
	}
	rep.Chart = filepath.Join(dir, "report.png")
	if err := rep.chart(); err != nil {
		return nil, err
	}
	return rep, nil
}

// TinyConfig is the quickstart model: small enough to train in minutes on
// two cores, with grouped-query attention like Llama-3.
func TinyConfig(vocab int) llama.Config {
	return llama.Config{
		HiddenSize: 128, IntermediateSize: 352, NumHiddenLayers: 4,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, RMSNormEps: 1e-5, RopeTheta: 10000,
		VocabSize: vocab, MaxPositionEmbeddings: 256, TieWordEmbeddings: true,
	}
}

// randomInit draws matrices from N(0, 0.02) (output projections scaled by
// 1/sqrt(2·layers), as GPT-2 does) and sets norms to one.
func randomInit(p *train.Params, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	fillN := func(t *train.Tensor, std float64) {
		for i := range t.W {
			t.W[i] = float32(rng.NormFloat64() * std)
		}
	}
	ones := func(t *train.Tensor) {
		for i := range t.W {
			t.W[i] = 1
		}
	}
	resid := 0.02 / math.Sqrt(2*float64(len(p.Layers)))
	fillN(p.Embd, 0.02)
	for _, l := range p.Layers {
		ones(l.AttnNorm)
		ones(l.FFNNorm)
		fillN(l.Wq, 0.02)
		fillN(l.Wk, 0.02)
		fillN(l.Wv, 0.02)
		fillN(l.Wo, resid)
		fillN(l.Gate, 0.02)
		fillN(l.Up, 0.02)
		fillN(l.Down, resid)
	}
	ones(p.OutNorm)
	if p.Output != p.Embd {
		fillN(p.Output, 0.02)
	}
}

// messageTexts reads every message of the JSONL shards in dir.
func messageTexts(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			var r struct {
				Messages []data.Message `json:"messages"`
			}
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				fh.Close()
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			for _, m := range r.Messages {
				out = append(out, m.Content)
			}
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// evalItems picks entities named in all four evaluated languages.
func evalItems(corpus string, n int, seed uint64) ([]map[string]string, error) {
	codes := []string{HeldOut[0], HeldOut[1], "eng_Latn", "zho_Hans"}
	cols := map[string][]string{}
	for _, c := range codes {
		b, err := os.ReadFile(filepath.Join(corpus, c+".txt"))
		if err != nil {
			return nil, err
		}
		cols[c] = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
	var items []map[string]string
	for i := range cols[codes[0]] {
		it := map[string]string{}
		for _, c := range codes {
			if cols[c][i] == "" {
				it = nil
				break
			}
			it[c] = cols[c][i]
		}
		if it != nil {
			items = append(items, it)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	rng.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
	return items[:min(n, len(items))], nil
}

// score translates items from dir[0] to dir[1] greedily with BayLing's
// English instruction and returns corpus chrF++ and exact-match accuracy.
func score(ctx context.Context, model string, items []map[string]string, dir [2]string, threads int) (chrf, exact float64, err error) {
	l, err := engine.Load(model, engine.LoadOptions{Threads: threads})
	if err != nil {
		return 0, 0, err
	}
	defer l.Close()
	pr, err := engine.NewPrompter("", l.Info, l.Checkpoint.Tokenizer)
	if err != nil {
		return 0, 0, err
	}
	from, to := lang.MustLookup(dir[0]), lang.MustLookup(dir[1])
	tr := &engine.Translator{Model: l.Model, Tokenizer: l.Checkpoint.Tokenizer, Prompter: pr, StopIDs: l.Checkpoint.Stop,
		From: from, To: to, PromptLang: engine.PromptEnglish, Beams: 1, MaxTokens: 24}
	src := make([]string, len(items))
	refs := make([]string, len(items))
	for i, it := range items {
		src[i], refs[i] = it[dir[0]], it[dir[1]]
	}
	hyps, err := tr.Translate(ctx, src)
	if err != nil {
		return 0, 0, err
	}
	c, err := metrics.NewCHRF(metrics.CHRFOptions{WordOrder: 2})
	if err != nil {
		return 0, 0, err
	}
	segs, err := metrics.Segments(hyps, [][]string{refs})
	if err != nil {
		return 0, 0, err
	}
	s, err := c.CorpusScore(ctx, segs)
	if err != nil {
		return 0, 0, err
	}
	hit := 0
	for i := range hyps {
		if strings.EqualFold(strings.TrimSpace(hyps[i]), refs[i]) {
			hit++
		}
	}
	return s.Score, 100 * float64(hit) / float64(len(hyps)), nil
}

func (r *Report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Quickstart report\n\nThe same tiny Llama trained for the same number of steps, with and without the cross-lingual translation instructions; scored on %d CLDR names.\n\n", r.Items)
	fmt.Fprintf(&b, "| model | records | final loss | %s→%s chrF++ (held out) | exact %% | %s→%s chrF++ (seen) | exact %% |\n|---|---:|---:|---:|---:|---:|---:|\n", r.HeldOut[0], r.HeldOut[1], r.Seen[0], r.Seen[1])
	for _, v := range r.Variants {
		fmt.Fprintf(&b, "| %s | %d | %.3f | %.1f | %.1f | %.1f | %.1f |\n", v.Name, v.Records, v.FinalLoss, v.HeldOutChrF, v.HeldOutExact, v.SeenChrF, v.SeenExact)
	}
	return b.String()
}

func (r *Report) chart() error {
	// One row per (direction, variant): Bars stacks series, and stacked
	// scores would read as a sum.
	var rows []string
	var vals []float64
	for _, d := range []struct {
		label string
		val   func(Variant) float64
	}{
		{"held-out " + short(r.HeldOut), func(v Variant) float64 { return v.HeldOutChrF }},
		{"seen " + short(r.Seen), func(v Variant) float64 { return v.SeenChrF }},
	} {
		for _, v := range r.Variants {
			rows = append(rows, d.label+" "+v.Key)
			vals = append(vals, d.val(v))
		}
	}
	img, err := plot.Bars{Title: "chrF++ with and without cross-lingual instructions", Labels: rows, Series: []plot.Series{{Name: "chrF++", Values: vals}}}.Draw()
	if err != nil {
		return err
	}
	return plot.Save(r.Chart, img)
}

func short(d [2]string) string { return d[0][:3] + "-" + d[1][:3] }
