package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/bayling-go/bayling/internal/eval/metrics"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// scoreFlags are sacreBLEU's command-line options under the same names.
type scoreFlags struct {
	refs, inputs, metricNames []string
	numRefs                   int
	encoding, langPair        string
	sentenceLevel             bool

	smoothMethod   string
	smoothValue    float64
	smoothValueSet bool
	tokenize       string
	lowercase      bool
	force          bool
	spmModel       string

	chrfCharOrder, chrfWordOrder, chrfBeta   int
	chrfWhitespace, chrfLowercase, chrfEps   bool
	terCase, terAsian, terNoPunct, terNormal bool

	quiet, short, scoreOnly, noColor, json bool
	unsupported                            [][2]string // long name, reason
	width                                  int
	format                                 string
}

func (f *scoreFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&f.refs, "ref", "r", nil, "reference file (repeat for several references; positional references work too)")
	fs.StringArrayVarP(&f.inputs, "input", "i", nil, "hypothesis file (default: standard input)")
	fs.StringSliceVarP(&f.metricNames, "metrics", "m", []string{"bleu"}, "metrics: bleu, chrf, ter (comma- or space-separated)")
	fs.IntVar(&f.numRefs, "num-refs", 1, "split each reference line on tabs into this many references (-nr)")
	fs.StringVarP(&f.encoding, "encoding", "e", "utf-8", "input encoding (only utf-8)")
	fs.StringVarP(&f.langPair, "language-pair", "l", "", "source-target pair; the target picks BLEU's default tokenizer")
	fs.BoolVar(&f.sentenceLevel, "sentence-level", false, "score each sentence (-sl)")

	fs.StringVarP(&f.smoothMethod, "smooth-method", "s", "exp", "BLEU smoothing: exp, floor, add-k, none")
	fs.Float64Var(&f.smoothValue, "smooth-value", 0, "BLEU smoothing value for floor (default 0.1) and add-k (default 1) (-sv)")
	fs.StringVar(&f.tokenize, "tokenize", "", "BLEU tokenizer: 13a (default), intl, zh, char, none (-tok)")
	fs.BoolVar(&f.lowercase, "lowercase", false, "case-insensitive BLEU (-lc)")
	fs.BoolVar(&f.force, "force", false, "accepted for compatibility (sacreBLEU's tokenized-input warning is not printed)")
	fs.StringVar(&f.spmModel, "spm-model", "", "SentencePiece model for the flores101/flores200 tokenizers")

	fs.IntVar(&f.chrfCharOrder, "chrf-char-order", 6, "chrF character n-gram order (-cc)")
	fs.IntVar(&f.chrfWordOrder, "chrf-word-order", 0, "chrF word n-gram order; 2 is chrF++ (-cw)")
	fs.IntVar(&f.chrfBeta, "chrf-beta", 2, "chrF recall weight")
	fs.BoolVar(&f.chrfWhitespace, "chrf-whitespace", false, "keep whitespace in chrF character n-grams")
	fs.BoolVar(&f.chrfLowercase, "chrf-lowercase", false, "case-insensitive chrF")
	fs.BoolVar(&f.chrfEps, "chrf-eps-smoothing", false, "chrF++.py epsilon smoothing instead of effective order")

	fs.BoolVar(&f.terCase, "ter-case-sensitive", false, "case-sensitive TER")
	fs.BoolVar(&f.terAsian, "ter-asian-support", false, "TER: split CJK characters (with --ter-normalized) / drop CJK punctuation (with --ter-no-punct)")
	fs.BoolVar(&f.terNoPunct, "ter-no-punct", false, "TER: remove punctuation")
	fs.BoolVar(&f.terNormal, "ter-normalized", false, "TER: Tercom normalization and tokenization")

	fs.BoolVarP(&f.quiet, "quiet", "q", false, "accepted for compatibility")
	fs.BoolVar(&f.short, "short", false, "short signatures (-sh)")
	fs.BoolVarP(&f.scoreOnly, "score-only", "b", false, "print only the scores")
	fs.IntVarP(&f.width, "width", "w", 1, "decimals")
	fs.StringVarP(&f.format, "format", "f", "text", "output format: text or json")
	fs.BoolVar(&f.json, "json", false, "same as --format json")
	fs.BoolVar(&f.noColor, "no-color", false, "accepted for compatibility (-nc)")

	// sacreBLEU options this command does not offer, so that a copied
	// command line fails with a reason rather than "unknown flag".
	for _, u := range []struct{ long, short, why string }{
		{"test-set", "t", "built-in test sets need downloads; give the reference files"},
		{"confidence", "", "bootstrap confidence intervals are not implemented"},
		{"paired-bs", "", "paired significance tests are not implemented"},
		{"paired-ar", "", "paired significance tests are not implemented"},
		{"detail", "d", "origlang/subset breakdowns need test-set metadata"},
	} {
		fs.StringP(u.long, u.short, "", u.why)
		fs.Lookup(u.long).NoOptDefVal = "set"
		fs.Lookup(u.long).Hidden = true
		f.unsupported = append(f.unsupported, [2]string{u.long, u.why})
	}
}

// checkUnsupported reports the first sacreBLEU option given that this
// command does not implement.
func (f *scoreFlags) checkUnsupported(fs *pflag.FlagSet) error {
	for _, u := range f.unsupported {
		if fs.Changed(u[0]) {
			return fmt.Errorf("--%s: %s", u[0], u[1])
		}
	}
	return nil
}

// sacreAliases are sacreBLEU's multi-letter single-dash options, which
// pflag cannot express as shorthands.
var sacreAliases = map[string]string{
	"-nr": "--num-refs", "-sl": "--sentence-level", "-sv": "--smooth-value", "-tok": "--tokenize",
	"-lc": "--lowercase", "-cc": "--chrf-char-order", "-cw": "--chrf-word-order", "-sh": "--short",
	"-nc": "--no-color",
}

// normalizeArgs rewrites a sacreBLEU command line for pflag: multi-letter
// single-dash options become long ones, and -i/-m take every following
// non-option word as argparse's nargs does ("-m bleu chrf ter").
func normalizeArgs(args []string) []string {
	var out []string
	for k := 0; k < len(args); k++ {
		a := args[k]
		if long, ok := sacreAliases[a]; ok {
			a = long
		} else if name, val, ok := strings.Cut(a, "="); ok {
			if long, ok := sacreAliases[name]; ok {
				a = long + "=" + val
			}
		}
		switch a {
		case "-i", "--input", "-m", "--metrics":
			long := map[string]string{"-i": "--input", "-m": "--metrics"}[a]
			if long == "" {
				long = a
			}
			n := 0
			for k+1 < len(args) && (!strings.HasPrefix(args[k+1], "-") || args[k+1] == "-") {
				k++
				n++
				out = append(out, long+"="+args[k])
			}
			if n == 0 {
				out = append(out, a) // let pflag report the missing value
			}
			continue
		}
		out = append(out, a)
	}
	return out
}

func init() {
	cmd := &cobra.Command{
		Use:   "score [REF...] -i HYP [-r REF ...] [-m bleu,chrf,ter] [--json]",
		Short: "Score a system output with BLEU, chrF/chrF++ and TER exactly as sacreBLEU 2.6.0 does",
		Long: `Score a system output against one or more references with sacreBLEU 2.6.0's
BLEU, chrF/chrF++ and TER: same numbers, same signatures, same output lines.

Options carry sacreBLEU's names, so "sacrebleu REF -i HYP -m bleu chrf -tok zh"
works as "bayling eval score REF -i HYP -m bleu chrf -tok zh". References are
positional or given with -r; the output is text lines unless --json or -f json
(sacreBLEU's JSON objects, one per metric). Built-in test sets (-t) are not
available: give the reference files.`,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			f := &scoreFlags{}
			fs := pflag.NewFlagSet("score", pflag.ContinueOnError)
			fs.SetOutput(io.Discard)
			f.register(fs)
			help := fs.BoolP("help", "h", false, "help")
			if err := fs.Parse(normalizeArgs(args)); err != nil {
				return fmt.Errorf("eval score: %w", err)
			}
			if *help {
				cmd.Flags().AddFlagSet(fs)
				return cmd.Help()
			}
			if err := f.checkUnsupported(fs); err != nil {
				return fmt.Errorf("eval score: %w", err)
			}
			f.refs = append(fs.Args(), f.refs...)
			f.smoothValueSet = fs.Changed("smooth-value")
			return runScore(cmd, f)
		},
	}
	evalCmd.AddCommand(cmd)
}

// readLines reads a text file (or "-" for standard input, .gz
// transparently) the way sacreBLEU does: lines end at '\n' only, each is
// rstripped by the caller, and the text must be UTF-8.
func readLines(path string, stdin io.Reader) ([]string, error) {
	var r io.Reader
	if path == "-" {
		r = stdin
	} else {
		fh, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		r = fh
		if strings.HasSuffix(path, ".gz") {
			gz, err := gzip.NewReader(fh)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			defer gz.Close()
			r = gz
		}
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) == 0 {
		return nil, nil
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if !utf8.ValidString(l) {
			return nil, fmt.Errorf("%s: line %d: not valid UTF-8", path, i+1)
		}
		lines[i] = rstrip(l)
	}
	return lines, nil
}

// rstrip is Python's str.rstrip(), which sacreBLEU applies to every line.
func rstrip(s string) string {
	return strings.TrimRightFunc(s, func(r rune) bool {
		return r == ' ' || (r >= '\t' && r <= '\r') || (r >= 0x1c && r <= 0x1f) || r == 0x85 || r == 0xa0 ||
			r == 0x1680 || (r >= 0x2000 && r <= 0x200a) || r == 0x2028 || r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000
	})
}

// scorer is one configured metric.
type scorer struct {
	name     string // upper-case, for sacreBLEU's sorted order
	corpus   func(segs []metrics.Segment) (metrics.Score, error)
	sentence func(segs []metrics.Segment) ([]metrics.Score, error)
}

func (f *scoreFlags) scorers(cmd *cobra.Command) ([]scorer, error) {
	ctx := cmd.Context()
	var out []scorer
	seen := map[string]bool{}
	for _, name := range f.metricNames {
		name = strings.ToLower(strings.TrimSpace(name))
		if seen[name] {
			continue
		}
		seen[name] = true
		switch name {
		case "bleu":
			opts := metrics.BLEUOptions{
				Lowercase: f.lowercase, Tokenize: f.tokenize, SmoothMethod: f.smoothMethod,
				EffectiveOrder: f.sentenceLevel, SPMModel: f.spmModel,
			}
			if _, trg, ok := strings.Cut(f.langPair, "-"); ok {
				opts.TrgLang = trg
			}
			if f.smoothValueSet {
				opts.SmoothValue = &f.smoothValue
			}
			m, err := metrics.NewBLEU(opts)
			if err != nil {
				return nil, err
			}
			out = append(out, scorer{"BLEU",
				func(s []metrics.Segment) (metrics.Score, error) { return m.CorpusScore(ctx, s) },
				func(s []metrics.Segment) ([]metrics.Score, error) { return asScores(m.SentenceScores(ctx, s)) }})
		case "chrf":
			m, err := metrics.NewCHRF(metrics.CHRFOptions{
				CharOrder: f.chrfCharOrder, WordOrder: f.chrfWordOrder, Beta: f.chrfBeta,
				CharOrderSet: true, BetaSet: true,
				Lowercase: f.chrfLowercase, Whitespace: f.chrfWhitespace, EpsSmoothing: f.chrfEps,
			})
			if err != nil {
				return nil, err
			}
			out = append(out, scorer{"CHRF",
				func(s []metrics.Segment) (metrics.Score, error) { return m.CorpusScore(ctx, s) },
				func(s []metrics.Segment) ([]metrics.Score, error) { return asScores(m.SentenceScores(ctx, s)) }})
		case "ter":
			m := metrics.NewTER(metrics.TEROptions{
				Normalized: f.terNormal, NoPunct: f.terNoPunct, AsianSupport: f.terAsian, CaseSensitive: f.terCase,
			})
			out = append(out, scorer{"TER",
				func(s []metrics.Segment) (metrics.Score, error) { return m.CorpusScore(ctx, s) },
				func(s []metrics.Segment) ([]metrics.Score, error) { return asScores(m.SentenceScores(ctx, s)) }})
		default:
			return nil, fmt.Errorf("unknown metric %q (bleu, chrf, ter)", name)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].name < out[b].name })
	return out, nil
}

func asScores[S metrics.Score](s []S, err error) ([]metrics.Score, error) {
	if err != nil {
		return nil, err
	}
	out := make([]metrics.Score, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out, nil
}

// loadSegments reads the hypothesis and reference files into segments.
func (f *scoreFlags) loadSegments(stdin io.Reader) ([]metrics.Segment, error) {
	if len(f.refs) == 0 {
		return nil, errors.New("no references: give reference files as arguments or with -r (built-in test sets are not available)")
	}
	if f.numRefs != 1 && len(f.refs) > 1 {
		return nil, errors.New("--num-refs splits one tab-separated reference file; it cannot be used with several reference files")
	}
	if f.numRefs < 1 {
		return nil, fmt.Errorf("--num-refs %d: must be at least 1", f.numRefs)
	}
	var refs [][]string
	for _, path := range f.refs {
		lines, err := readLines(path, stdin)
		if err != nil {
			return nil, err
		}
		if f.numRefs == 1 {
			refs = append(refs, lines)
			continue
		}
		refs = make([][]string, f.numRefs)
		for i, l := range lines {
			parts := strings.SplitN(l, "\t", f.numRefs)
			if len(parts) != f.numRefs {
				return nil, fmt.Errorf("%s: line %d: expected %d tab-separated references, found %d", path, i+1, f.numRefs, len(parts))
			}
			for k, p := range parts {
				refs[k] = append(refs[k], p)
			}
		}
	}
	input := "-"
	switch len(f.inputs) {
	case 0:
	case 1:
		input = f.inputs[0]
	default:
		return nil, fmt.Errorf("%d inputs given: eval score scores one system per run", len(f.inputs))
	}
	hyps, err := readLines(input, stdin)
	if err != nil {
		return nil, err
	}
	if len(hyps) == 0 {
		return nil, fmt.Errorf("%s: no lines to score", input)
	}
	for k, r := range refs {
		if len(r) != len(hyps) {
			name := f.refs[min(k, len(f.refs)-1)]
			return nil, fmt.Errorf("system and reference streams have different lengths: %s has %d lines, %s has %d", input, len(hyps), name, len(r))
		}
	}
	return metrics.Segments(hyps, refs)
}

func runScore(cmd *cobra.Command, f *scoreFlags) error {
	if f.json {
		f.format = "json"
	}
	if f.format != "text" && f.format != "json" {
		return fmt.Errorf("eval score: --format %q: text or json", f.format)
	}
	if enc := strings.ToLower(strings.ReplaceAll(f.encoding, "_", "-")); enc != "utf-8" && enc != "utf8" {
		return fmt.Errorf("eval score: --encoding %q: only utf-8 is supported", f.encoding)
	}
	if f.sentenceLevel && len(f.metricNames) > 1 {
		return errors.New("eval score: only one metric can be used in sentence-level mode")
	}
	scorers, err := f.scorers(cmd)
	if err != nil {
		return fmt.Errorf("eval score: %w", err)
	}
	segs, err := f.loadSegments(cmd.InOrStdin())
	if err != nil {
		return fmt.Errorf("eval score: %w", err)
	}
	out := bufio.NewWriter(cmd.OutOrStdout())
	defer out.Flush()

	if f.sentenceLevel {
		scores, err := scorers[0].sentence(segs)
		if err != nil {
			return fmt.Errorf("eval score: %w", err)
		}
		for _, s := range scores {
			fmt.Fprintln(out, metrics.FormatScore(s, f.width, f.scoreOnly, s.Signature().Format(f.short)))
		}
		return nil
	}
	var results []string
	for _, sc := range scorers {
		s, err := sc.corpus(segs)
		if err != nil {
			return fmt.Errorf("eval score: %w", err)
		}
		switch {
		case f.format == "json" && !f.scoreOnly:
			results = append(results, metrics.FormatScoreJSON(s, f.width))
		default:
			results = append(results, metrics.FormatScore(s, f.width, f.scoreOnly, s.Signature().Format(f.short && f.format != "json")))
		}
	}
	printResults(out, results, f.format == "json")
	return nil
}

// printResults is sacreBLEU's print_single_results: a JSON list for
// several JSON results, otherwise lines aligned on their '='.
func printResults(w io.Writer, results []string, json bool) {
	if len(results) == 1 {
		fmt.Fprintln(w, results[0])
		return
	}
	if json {
		fmt.Fprintln(w, "[\n"+strings.Join(results, ",\n")+"\n]")
		return
	}
	var lens []int
	var aligned []string
	for _, l := range results {
		i := strings.Index(l, "=")
		if i < 0 {
			fmt.Fprintln(w, l)
			continue
		}
		lens = append(lens, utf8.RuneCountInString(l[:i])-1)
		aligned = append(aligned, l)
	}
	if len(lens) == 0 {
		return
	}
	width := slices.Max(lens)
	for k, l := range aligned {
		left, right := splitRunes(l, lens[k])
		fmt.Fprintf(w, "%*s%s\n", width, left, right)
	}
}

func splitRunes(s string, n int) (string, string) {
	i := 0
	for k := range s {
		if i == n {
			return s[:k], s[k:]
		}
		i++
	}
	return s, ""
}
