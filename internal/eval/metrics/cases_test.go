package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/testenv"
)

// sharedDir is ../shared (see testenv.Shared).
func sharedDir(t testing.TB) string { return testenv.Shared(t) }

type caseFile struct {
	Upstream       []upstreamCase                   `json:"upstream_unit_tests"`
	TokenizerCases struct{ Cases []tokCase }        `json:"tokenizer_cases"`
	TERTokenizer   []terTokCase                     `json:"ter_tokenizer_cases"`
	BLEUCases      struct{ Cases []metricCase }     `json:"bleu_cases"`
	CHRFCases      struct{ Cases []metricCase }     `json:"chrf_cases"`
	TERCases       struct{ Cases []metricCase }     `json:"ter_cases"`
	Regressions    struct{ Cases []regressionCase } `json:"corpus_regressions"`
}

type upstreamCase struct {
	File, Fn       string
	Hyps           []string
	Refs           [][]*string
	Hyp            string
	HypRefs        []*string `json:"hyp_refs"`
	Input          *string
	Options        map[string]any
	ExpectedScore  *float64 `json:"expected_score"`
	Tol            float64
	ExpectedStr2   string    `json:"expected_score_str2"`
	ExpectedOutput *string   `json:"expected_output"`
	ExpectedCounts []float64 `json:"expected_counts"`
	ExpectedTotals []float64 `json:"expected_totals"`
	Stats          *struct {
		Correct, Total []float64
		SysLen         int `json:"sys_len"`
		RefLen         int `json:"ref_len"`
	}
}

type tokCase struct{ Tokenizer, Input, Output string }

type terTokCase struct {
	Options       map[string]any
	Input, Output string
}

type metricCase struct {
	ID       string
	Mode     string
	Options  map[string]any
	Hyps     []string
	Refs     [][]*string
	Hyp      string
	HypRefs  []*string `json:"hyp_refs"`
	Expected struct {
		Score          float64
		Name           string
		Counts         []float64
		Totals         []float64
		Precisions     []float64
		BP             float64
		SysLen         int     `json:"sys_len"`
		RefLen         int     `json:"ref_len"`
		Stats          []int64 `json:"stats_hyp_ref_match_per_order"`
		NumEdits       *int    `json:"num_edits"`
		RefLength      float64 `json:"ref_length"`
		Signature      string
		SignatureShort string `json:"signature_short"`
		FormatW2       string `json:"format_w2"`
		FormatW1NoSig  string `json:"format_w1_nosig"`
	}
}

type regressionCase struct {
	ID        string
	Metric    string
	HypFile   string   `json:"hyp_file"`
	RefFiles  []string `json:"ref_files"`
	Options   map[string]any
	NSegments int    `json:"n_segments"`
	NotStaged string `json:"not_staged"`
	Expected  *struct {
		Score     float64
		Signature string
		Counts    []float64
		Totals    []float64
		SysLen    int     `json:"sys_len"`
		RefLen    int     `json:"ref_len"`
		NumEdits  *int    `json:"num_edits"`
		RefLength float64 `json:"ref_length"`
	}
}

func loadCases(t testing.TB) (*caseFile, string) {
	shared := sharedDir(t)
	data, err := os.ReadFile(filepath.Join(shared, "metric-cases", "sacrebleu_cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cf caseFile
	if err := json.Unmarshal(data, &cf); err != nil {
		t.Fatalf("sacrebleu_cases.json: %v", err)
	}
	return &cf, shared
}

// segmentsOf builds segments from sacreBLEU reference streams, dropping
// null (missing) references.
func segmentsOf(hyps []string, refs [][]*string) []Segment {
	segs := make([]Segment, len(hyps))
	for i, h := range hyps {
		segs[i].Hyp = h
		for _, stream := range refs {
			if r := stream[i]; r != nil {
				segs[i].Refs = append(segs[i].Refs, *r)
			}
		}
	}
	return segs
}

func sentenceSegment(hyp string, refs []*string) []Segment {
	seg := Segment{Hyp: hyp}
	for _, r := range refs {
		if r != nil {
			seg.Refs = append(seg.Refs, *r)
		}
	}
	return []Segment{seg}
}

func optBool(o map[string]any, k string) bool     { b, _ := o[k].(bool); return b }
func optString(o map[string]any, k string) string { s, _ := o[k].(string); return s }
func optInt(o map[string]any, k string) (int, bool) {
	f, ok := o[k].(float64)
	return int(f), ok
}

func bleuFromOptions(t testing.TB, o map[string]any) *BLEU {
	t.Helper()
	opts := BLEUOptions{
		Lowercase:      optBool(o, "lowercase"),
		Tokenize:       optString(o, "tokenize"),
		SmoothMethod:   optString(o, "smooth_method"),
		EffectiveOrder: optBool(o, "effective_order"),
		TrgLang:        optString(o, "trg_lang"),
	}
	if v, ok := o["smooth_value"].(float64); ok {
		opts.SmoothValue = &v
	}
	if n, ok := optInt(o, "max_ngram_order"); ok {
		opts.MaxNgramOrder = n
	}
	b, err := NewBLEU(opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func chrfFromOptions(t testing.TB, o map[string]any) *CHRF {
	t.Helper()
	opts := CHRFOptions{
		Lowercase:    optBool(o, "lowercase"),
		Whitespace:   optBool(o, "whitespace"),
		EpsSmoothing: optBool(o, "eps_smoothing"),
	}
	if n, ok := optInt(o, "char_order"); ok {
		opts.CharOrder, opts.CharOrderSet = n, true
	}
	if n, ok := optInt(o, "word_order"); ok {
		opts.WordOrder = n
	}
	if n, ok := optInt(o, "beta"); ok {
		opts.Beta, opts.BetaSet = n, true
	}
	c, err := NewCHRF(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func terFromOptions(o map[string]any) *TER {
	return NewTER(TEROptions{
		Normalized:    optBool(o, "normalized"),
		NoPunct:       optBool(o, "no_punct"),
		AsianSupport:  optBool(o, "asian_support"),
		CaseSensitive: optBool(o, "case_sensitive"),
	})
}

func score(t testing.TB, metric string, o map[string]any, segs []Segment) Score {
	t.Helper()
	ctx := context.Background()
	var s Score
	var err error
	switch metric {
	case "bleu":
		s, err = bleuFromOptions(t, o).CorpusScore(ctx, segs)
	case "chrf":
		s, err = chrfFromOptions(t, o).CorpusScore(ctx, segs)
	case "ter":
		s, err = terFromOptions(o).CorpusScore(ctx, segs)
	default:
		t.Fatalf("unknown metric %q", metric)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkScore asserts the acceptance rule: equal to 4 decimals (and within
// tol).
func checkScore(t testing.TB, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol || strconv.FormatFloat(got, 'f', 4, 64) != strconv.FormatFloat(want, 'f', 4, 64) {
		t.Errorf("score %.12f, want %.12f (tol %g)", got, want, tol)
	}
}

func TestUpstreamUnitTests(t *testing.T) {
	cf, _ := loadCases(t)
	for i, c := range cf.Upstream {
		t.Run(fmt.Sprintf("%d", i), func(t *testing.T) {
			metric := "bleu"
			switch {
			case strings.Contains(c.File, "chrf"):
				metric = "chrf"
			case strings.Contains(c.File, "tokenizer_ter"):
				metric = "tertok"
			case strings.Contains(c.File, "ter"):
				metric = "ter"
			}
			switch {
			case metric == "tertok":
				got := terTokenizerFromOptions(c.Options).Tokenize(*c.Input)
				if got != *c.ExpectedOutput {
					t.Errorf("%s %v %q: got %q, want %q", c.Fn, c.Options, *c.Input, got, *c.ExpectedOutput)
				}
			case c.Stats != nil:
				method := optString(c.Options, "smooth_method")
				if method == "" {
					method = "none" // compute_bleu's own default
				}
				sv := math.NaN()
				if v, ok := c.Options["smooth_value"].(float64); ok {
					sv = v
				}
				s := ComputeBLEU(c.Stats.Correct, c.Stats.Total, c.Stats.SysLen, c.Stats.RefLen, method, sv, optBool(c.Options, "effective_order"))
				if math.Abs(s.Score-*c.ExpectedScore) > c.Tol {
					t.Errorf("%s: score %.10f, want %v ± %g", c.Fn, s.Score, *c.ExpectedScore, c.Tol)
				}
			default:
				segs := segmentsOf(c.Hyps, c.Refs)
				if c.Hyps == nil {
					segs = sentenceSegment(c.Hyp, c.HypRefs)
				}
				s := score(t, metric, c.Options, segs)
				switch {
				case c.ExpectedScore != nil:
					// sacreBLEU's own tests give hand-rounded values and a
					// tolerance; that tolerance is the check here.
					if math.Abs(s.Value()-*c.ExpectedScore) > c.Tol {
						t.Errorf("%s: score %.10f, want %v ± %g", c.Fn, s.Value(), *c.ExpectedScore, c.Tol)
					}
				case c.ExpectedStr2 != "":
					if got := strconv.FormatFloat(s.Value(), 'f', 2, 64); got != c.ExpectedStr2 {
						t.Errorf("%s: %s, want %s", c.Fn, got, c.ExpectedStr2)
					}
				case c.ExpectedCounts != nil:
					b := s.(*BLEUScore)
					if fmt.Sprint(b.Counts) != fmt.Sprint(c.ExpectedCounts) || fmt.Sprint(b.Totals) != fmt.Sprint(c.ExpectedTotals) {
						t.Errorf("counts %v totals %v, want %v %v", b.Counts, b.Totals, c.ExpectedCounts, c.ExpectedTotals)
					}
				default:
					t.Fatalf("case has no expectation: %+v", c)
				}
			}
		})
	}
}

func terTokenizerFromOptions(o map[string]any) TERTokenizer {
	return TERTokenizer{
		Normalized:    optBool(o, "normalized"),
		NoPunct:       optBool(o, "no_punct"),
		AsianSupport:  optBool(o, "asian_support"),
		CaseSensitive: optBool(o, "case_sensitive"),
	}
}

func TestTokenizerCases(t *testing.T) {
	cf, _ := loadCases(t)
	if len(cf.TokenizerCases.Cases) == 0 {
		t.Fatal("no tokenizer cases")
	}
	for _, c := range cf.TokenizerCases.Cases {
		tok, err := NewTokenizer(c.Tokenizer, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := Tokenize(tok, c.Input); got != c.Output {
			t.Errorf("%s(%q) = %q, want %q", c.Tokenizer, c.Input, got, c.Output)
		}
	}
	for _, c := range cf.TERTokenizer {
		if got := terTokenizerFromOptions(c.Options).Tokenize(c.Input); got != c.Output {
			t.Errorf("tercom %v (%q) = %q, want %q", c.Options, c.Input, got, c.Output)
		}
	}
}

func TestMetricCases(t *testing.T) {
	cf, _ := loadCases(t)
	for _, sec := range []struct {
		metric string
		cases  []metricCase
	}{{"bleu", cf.BLEUCases.Cases}, {"chrf", cf.CHRFCases.Cases}, {"ter", cf.TERCases.Cases}} {
		if len(sec.cases) == 0 {
			t.Fatalf("no %s cases", sec.metric)
		}
		for _, c := range sec.cases {
			t.Run(sec.metric+"/"+c.ID, func(t *testing.T) {
				segs := segmentsOf(c.Hyps, c.Refs)
				if c.Mode == "sentence" {
					segs = sentenceSegment(c.Hyp, c.HypRefs)
				}
				s := score(t, sec.metric, c.Options, segs)
				e := c.Expected
				checkScore(t, s.Value(), e.Score, 1e-9)
				if got := s.Signature().Format(false); got != e.Signature {
					t.Errorf("signature %q, want %q", got, e.Signature)
				}
				if got := s.Signature().Format(true); got != e.SignatureShort {
					t.Errorf("short signature %q, want %q", got, e.SignatureShort)
				}
				if got := FormatScore(s, 2, false, s.Signature().Format(false)); got != e.FormatW2 {
					t.Errorf("format\n got %q\nwant %q", got, e.FormatW2)
				}
				switch s := s.(type) {
				case *BLEUScore:
					if got := FormatScore(s, 1, false, ""); got != e.FormatW1NoSig {
						t.Errorf("format w1\n got %q\nwant %q", got, e.FormatW1NoSig)
					}
					if fmt.Sprint(s.Counts) != fmt.Sprint(e.Counts) || fmt.Sprint(s.Totals) != fmt.Sprint(e.Totals) ||
						s.SysLen != e.SysLen || s.RefLen != e.RefLen {
						t.Errorf("stats %v %v %d %d, want %v %v %d %d", s.Counts, s.Totals, s.SysLen, s.RefLen, e.Counts, e.Totals, e.SysLen, e.RefLen)
					}
					if math.Abs(s.BP-e.BP) > 1e-12 {
						t.Errorf("bp %v, want %v", s.BP, e.BP)
					}
				case *CHRFScore:
					if s.Name() != e.Name || fmt.Sprint(s.Stats) != fmt.Sprint(e.Stats) {
						t.Errorf("%s %v, want %s %v", s.Name(), s.Stats, e.Name, e.Stats)
					}
				case *TERScore:
					if s.NumEdits != *e.NumEdits || s.RefLength != e.RefLength {
						t.Errorf("edits %d reflen %v, want %d %v", s.NumEdits, s.RefLength, *e.NumEdits, e.RefLength)
					}
				}
			})
		}
	}
}

// readLines splits a file as the regression cases do: on '\n', without
// the final empty piece.
func readLines(t testing.TB, path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSuffix(string(data), "\n")
	return strings.Split(s, "\n")
}

func TestCorpusRegressions(t *testing.T) {
	cf, shared := loadCases(t)
	n := 0
	for _, c := range cf.Regressions.Cases {
		if c.NotStaged != "" || c.Expected == nil {
			continue
		}
		n++
		t.Run(c.ID, func(t *testing.T) {
			hyps := readLines(t, filepath.Join(shared, c.HypFile))
			var refs [][]string
			for _, f := range c.RefFiles {
				refs = append(refs, readLines(t, filepath.Join(shared, f)))
			}
			segs, err := Segments(hyps, refs)
			if err != nil {
				t.Fatal(err)
			}
			if len(segs) != c.NSegments {
				t.Fatalf("%d segments, want %d", len(segs), c.NSegments)
			}
			s := score(t, c.Metric, c.Options, segs)
			checkScore(t, s.Value(), c.Expected.Score, 1e-9)
			if got := s.Signature().Format(false); got != c.Expected.Signature {
				t.Errorf("signature %q, want %q", got, c.Expected.Signature)
			}
			switch s := s.(type) {
			case *BLEUScore:
				if fmt.Sprint(s.Counts) != fmt.Sprint(c.Expected.Counts) || s.SysLen != c.Expected.SysLen || s.RefLen != c.Expected.RefLen {
					t.Errorf("stats %v %d %d, want %v %d %d", s.Counts, s.SysLen, s.RefLen, c.Expected.Counts, c.Expected.SysLen, c.Expected.RefLen)
				}
			case *TERScore:
				if s.NumEdits != *c.Expected.NumEdits || s.RefLength != c.Expected.RefLength {
					t.Errorf("edits %d reflen %v, want %d %v", s.NumEdits, s.RefLength, *c.Expected.NumEdits, c.Expected.RefLength)
				}
			}
		})
	}
	if n == 0 {
		t.Fatal("no corpus regression cases")
	}
}
