package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bayling-go/bayling/internal/bench"
	"github.com/bayling-go/bayling/internal/checkpoint"
	"github.com/bayling-go/bayling/internal/kernels"
	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/tensor"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

// benchOptions are the flags of `bayling bench`, named as llama-bench's.
type benchOptions struct {
	model         string
	prompt, gen   int
	threads, reps int
	batch         int
	cacheType     string
	seed          uint64
	json          bool
}

func init() { addCommand(newBenchCmd()) }

func newBenchCmd() *cobra.Command {
	o := &benchOptions{}
	c := &cobra.Command{
		Use:   "bench -m MODEL [-p 512] [-n 128] [-t THREADS] [-r REPS] [--json]",
		Short: "Measure prompt-processing and generation speed like llama.cpp's llama-bench",
		Long: `Measure a model's speed the way llama.cpp's llama-bench does: pp is one
batched prefill of -p random tokens into an empty cache, tg is -n
single-token decodes from an empty cache; each test has one warm-up run
(the whole prompt for pp, one token for tg) and is then timed -r times.
The first token is BOS when the model adds one. Tokens/s are reported as
mean ± sample standard deviation over the repetitions, with the peak
resident memory (weights are memory-mapped, so mapped pages count).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd, o)
		},
	}
	f := c.Flags()
	f.StringVarP(&o.model, "model", "m", "", "model file (.gguf, llama2.c .bin or HF directory; required)")
	f.IntVarP(&o.prompt, "n-prompt", "p", 512, "prompt tokens for the pp test; 0 skips it")
	f.IntVarP(&o.gen, "n-gen", "n", 128, "generated tokens for the tg test; 0 skips it")
	f.IntVarP(&o.threads, "threads", "t", runtime.NumCPU(), "threads")
	f.IntVarP(&o.reps, "repetitions", "r", 5, "timed repetitions of each test")
	f.IntVarP(&o.batch, "batch-size", "b", llama.DefaultBatch, "most tokens in one forward step of the prefill; larger costs scratch memory and was no faster")
	f.StringVar(&o.cacheType, "cache-type", "f16", "KV cache element type: f16 (llama.cpp's default) or f32")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the random tokens")
	f.BoolVar(&o.json, "json", false, "print one JSON object instead of the table")
	c.MarkFlagRequired("model")
	return c
}

// benchReport is the --json object.
type benchReport struct {
	Model         string    `json:"model"`
	ModelBytes    int64     `json:"model_bytes"`
	ModelParams   int64     `json:"model_params"`
	BytesPerToken int64     `json:"bytes_per_token"`
	Kernels       string    `json:"kernels"`
	Threads       int       `json:"threads"`
	Batch         int       `json:"batch"`
	Reps          int       `json:"reps"`
	KVType        string    `json:"kv_type"`
	KVBytes       int64     `json:"kv_bytes"`
	PPTokens      int       `json:"pp_tokens"`
	PPTps         float64   `json:"pp_tps"`
	PPTpsStddev   float64   `json:"pp_tps_stddev"`
	PPTpsSamples  []float64 `json:"pp_tps_samples"`
	TGTokens      int       `json:"tg_tokens"`
	TGTps         float64   `json:"tg_tps"`
	TGTpsStddev   float64   `json:"tg_tps_stddev"`
	TGTpsSamples  []float64 `json:"tg_tps_samples"`
	LoadSeconds   float64   `json:"load_seconds"`
	PeakRSSBytes  int64     `json:"peak_rss_bytes"`
}

func runBench(cmd *cobra.Command, o *benchOptions) error {
	if o.threads < 1 || o.reps < 1 || o.batch < 1 || o.prompt < 0 || o.gen < 0 || o.prompt+o.gen == 0 {
		return fmt.Errorf("bench: need -t, -r, -b >= 1 and -p, -n >= 0 with at least one > 0")
	}
	kvType, err := tensor.ParseDType(o.cacheType)
	if err != nil {
		return fmt.Errorf("bench: --cache-type: %w", err)
	}
	t0 := time.Now()
	ck, err := checkpoint.Load(o.model, checkpoint.Options{})
	if err != nil {
		return err
	}
	defer ck.Close()
	bos := -1
	if tokenizer.AddBOSByDefault(ck.Tokenizer) {
		bos = ck.Tokenizer.BOS()
	}
	// The tokenizer is not needed past BOS (a Llama-3 vocabulary with its
	// merges is ~60 MB of heap): drop it and hand the memory back, so the
	// peak resident set is weights + KV cache + the forward's buffers.
	ck.Tokenizer = nil
	debug.FreeOSMemory()
	m, err := llama.New(ck.Config, ck.Weights)
	if err != nil {
		return err
	}
	pool := kernels.NewPool(o.threads)
	defer pool.Close()
	m.SetPool(pool)
	ctxLen := max(o.prompt, o.gen)
	st, err := m.NewStateWith(llama.StateOptions{Context: ctxLen, KVType: kvType})
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	st.SetMaxBatch(o.batch)
	load := time.Since(t0)
	res, err := bench.Run(cmd.Context(), st, ck.Config.VocabSize, bench.Options{
		Prompt: o.prompt, Gen: o.gen, Reps: o.reps, BOS: bos, Seed: o.seed,
	})
	if err != nil {
		return err
	}
	rep, err := newBenchReport(o, ck, kvType, ctxLen, res)
	if err != nil {
		return err
	}
	rep.LoadSeconds = load.Seconds()
	if o.json {
		enc := json.NewEncoder(cmd.OutOrStdout())
		return enc.Encode(rep)
	}
	writeBenchTable(cmd.OutOrStdout(), rep)
	fmt.Fprintf(cmd.ErrOrStderr(), "peak RSS %.1f MiB (model file %.1f MiB + KV cache %.1f MiB); %.1f MB read per decoded token\n",
		mib(rep.PeakRSSBytes), mib(rep.ModelBytes), mib(rep.KVBytes), float64(rep.BytesPerToken)/1e6)
	return nil
}

func newBenchReport(o *benchOptions, ck *checkpoint.Model, kvType tensor.DType, ctxLen int, res bench.Result) (*benchReport, error) {
	size, err := modelBytes(ck.Path)
	if err != nil {
		return nil, err
	}
	rss, err := bench.PeakRSS()
	if err != nil {
		return nil, err
	}
	return &benchReport{
		Model: filepath.Base(ck.Path), ModelBytes: size, ModelParams: bench.Params(ck.Weights),
		BytesPerToken: bench.BytesPerToken(ck.Weights), Kernels: kernels.Active(),
		Threads: o.threads, Batch: o.batch, Reps: o.reps,
		KVType: kvType.String(), KVBytes: bench.KVBytes(ck.Config, ctxLen, kvType.BlockBytes()),
		PPTokens: res.PP.Tokens, PPTps: res.PP.Mean, PPTpsStddev: res.PP.Stddev, PPTpsSamples: res.PP.Samples,
		TGTokens: res.TG.Tokens, TGTps: res.TG.Mean, TGTpsStddev: res.TG.Stddev, TGTpsSamples: res.TG.Samples,
		PeakRSSBytes: rss,
	}, nil
}

// modelBytes is the size of a model file, or of a directory's files.
func modelBytes(path string) (int64, error) {
	var n int64
	err := filepath.WalkDir(path, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		n += fi.Size()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	return n, nil
}

// writeBenchTable prints llama-bench's markdown table, one row per test.
func writeBenchTable(w io.Writer, r *benchReport) {
	fmt.Fprintf(w, "| %-30s | %10s | %10s | %-12s | %7s | %13s | %20s |\n", "model", "size", "params", "kernels", "threads", "test", "t/s")
	fmt.Fprintf(w, "| %s | %s: | %s: | %s | %s: | %s: | %s: |\n", dashes(30), dashes(9), dashes(9), dashes(12), dashes(6), dashes(12), dashes(19))
	row := func(test string, mean, sd float64) {
		fmt.Fprintf(w, "| %-30s | %10s | %10s | %-12s | %7d | %13s | %20s |\n", r.Model, humanBytes(r.ModelBytes),
			humanParams(r.ModelParams), shortKernels(r.Kernels), r.Threads, test, fmt.Sprintf("%.2f ± %.2f", mean, sd))
	}
	if r.PPTokens > 0 {
		row(fmt.Sprintf("pp%d", r.PPTokens), r.PPTps, r.PPTpsStddev)
	}
	if r.TGTokens > 0 {
		row(fmt.Sprintf("tg%d", r.TGTokens), r.TGTps, r.TGTpsStddev)
	}
}

// shortKernels is the kernel set's name without its feature list.
func shortKernels(s string) string {
	name, _, _ := strings.Cut(s, " (")
	return name
}

func dashes(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '-'
	}
	return string(b)
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// humanBytes and humanParams format as llama-bench does.
func humanBytes(n int64) string {
	if n < 1<<30 {
		return fmt.Sprintf("%.2f MiB", mib(n))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}

func humanParams(n int64) string {
	if n < 1e9 {
		return fmt.Sprintf("%.2f M", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f B", float64(n)/1e9)
}
