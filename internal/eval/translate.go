package eval

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bayling-go/bayling/internal/atomicfile"
	"github.com/bayling-go/bayling/internal/eval/metrics"
	"github.com/bayling-go/bayling/internal/lang"
	"github.com/bayling-go/bayling/internal/plot"
)

// TranslateFunc translates one batch of segments from one language to another.
type TranslateFunc func(ctx context.Context, from, to lang.Language, segs []string) ([]string, error)

// Direction is a source→target pair.
type Direction struct{ Src, Tgt lang.Language }

// Name is "SRC-TGT" in FLORES-200 codes, the name of its hypothesis file.
func (d Direction) Name() string { return d.Src.Code + "-" + d.Tgt.Code }

// TranslateOptions configure RunTranslate.
type TranslateOptions struct {
	Data  string // folder of CODE.devtest / CODE.dev / CODE.txt files (or DIR/devtest/, DIR/dev/)
	Split string // "devtest", "dev" or "txt"; "" = the first of these that has files
	Pairs string // e.g. "eng_Latn-*,*-eng_Latn,zho_Hans-*"
	Limit int    // first N segments per direction; 0 = all
	Batch int    // segments per Translate call (and per resume step)
	Out   string // run folder: hyps/, progress.json, report.{json,md}, heatmap.png
	// SPMModel is the flores200 SentencePiece model for spBLEU; without it
	// spBLEU is reported as unavailable.
	SPMModel string
	// Settings identify the run (model, beams, ...); a resumed run must
	// have the same, or its cached hypotheses would mix two systems.
	Settings  map[string]string
	Translate TranslateFunc
	// Progress, if set, is called after each batch.
	Progress func(d Direction, done, total int)
}

// DirectionScore is one direction's result.
type DirectionScore struct {
	Direction string   `json:"direction"`
	Src       string   `json:"src"`
	Tgt       string   `json:"tgt"`
	Groups    []string `json:"groups"`
	Segments  int      `json:"segments"`
	BLEU      float64  `json:"bleu"`
	Tokenize  string   `json:"bleu_tokenize"`
	SPBLEU    *float64 `json:"spbleu"` // nil when unavailable
	CHRFpp    float64  `json:"chrf++"`
	BLEUSig   string   `json:"bleu_signature"`
	CHRFSig   string   `json:"chrf_signature"`
}

// GroupScore averages directions of a group (en→X, X→en, ...).
type GroupScore struct {
	Group      string   `json:"group"`
	Directions int      `json:"directions"`
	BLEU       float64  `json:"bleu"`
	SPBLEU     *float64 `json:"spbleu"`
	CHRFpp     float64  `json:"chrf++"`
}

// TranslateReport is the outcome of RunTranslate.
type TranslateReport struct {
	Split      string            `json:"split"`
	Settings   map[string]string `json:"settings"`
	Directions []DirectionScore  `json:"directions"`
	Groups     []GroupScore      `json:"groups"`
	Resources  []GroupScore      `json:"resource_levels"`
	SPBLEUNote string            `json:"spbleu_note,omitempty"`
	// Translated counts the segments decoded in this invocation (not the
	// ones reused from a previous, interrupted run) and the time it took.
	Translated        int     `json:"translated_segments"`
	Seconds           float64 `json:"translate_seconds"`
	SegmentsPerSecond float64 `json:"segments_per_second"`
}

// progress is the run's resume record, rewritten after every batch.
type progress struct {
	Settings map[string]string `json:"settings"`
	Done     map[string]int    `json:"done"` // direction -> segments finished
}

// RunTranslate translates every direction selected by opt.Pairs over the
// data folder, caching hypotheses per direction in opt.Out/hyps so that a
// killed run started again continues where it stopped (batches are the same,
// so the outputs are too), then scores BLEU, spBLEU and chrF++ and writes
// report.json, report.md and heatmap.png.
func RunTranslate(ctx context.Context, opt TranslateOptions) (*TranslateReport, error) {
	if opt.Batch < 1 {
		return nil, fmt.Errorf("translate run: batch %d must be >= 1", opt.Batch)
	}
	if opt.Translate == nil {
		return nil, errors.New("translate run: no translate function")
	}
	dir, split, avail, err := findData(opt.Data, opt.Split)
	if err != nil {
		return nil, err
	}
	dirs, err := ExpandPairs(opt.Pairs, avail)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(opt.Out, "hyps"), 0o755); err != nil {
		return nil, fmt.Errorf("translate run: %w", err)
	}
	prog, err := loadProgress(opt.Out, opt.Settings)
	if err != nil {
		return nil, err
	}
	texts := map[string][]string{}
	read := func(l lang.Language) ([]string, error) {
		if t, ok := texts[l.Code]; ok {
			return t, nil
		}
		t, err := readLines(filepath.Join(dir, l.Code+"."+split))
		if err != nil {
			return nil, err
		}
		if opt.Limit > 0 && opt.Limit < len(t) {
			t = t[:opt.Limit]
		}
		texts[l.Code] = t
		return t, nil
	}
	rep := &TranslateReport{Split: split, Settings: opt.Settings}
	var elapsed time.Duration
	hyps := map[string][]string{}
	for _, d := range dirs {
		src, err := read(d.Src)
		if err != nil {
			return nil, err
		}
		ref, err := read(d.Tgt)
		if err != nil {
			return nil, err
		}
		if len(src) != len(ref) {
			return nil, fmt.Errorf("translate run: %s has %d lines, %s has %d", d.Src.Code, len(src), d.Tgt.Code, len(ref))
		}
		h, n, took, err := translateDirection(ctx, opt, prog, d, src)
		if err != nil {
			return nil, err
		}
		elapsed += took
		rep.Translated += n
		hyps[d.Name()] = h
	}
	rep.Seconds = elapsed.Seconds()
	if rep.Seconds > 0 {
		rep.SegmentsPerSecond = float64(rep.Translated) / rep.Seconds
	}
	if err := scoreRun(ctx, opt, rep, dirs, hyps, texts); err != nil {
		return nil, err
	}
	return rep, writeReports(opt.Out, rep)
}

// translateDirection continues d from its recorded progress and returns
// all its hypotheses, how many were translated now and how long that took.
func translateDirection(ctx context.Context, opt TranslateOptions, prog *progress, d Direction, src []string) ([]string, int, time.Duration, error) {
	path := filepath.Join(opt.Out, "hyps", d.Name()+".hyp")
	done := prog.Done[d.Name()]
	var hyps []string
	if done > 0 {
		have, err := readLines(path)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("translate run: progress records %d segments of %s: %w", done, d.Name(), err)
		}
		if len(have) < done {
			return nil, 0, 0, fmt.Errorf("translate run: %s holds %d lines, progress records %d", path, len(have), done)
		}
		// A smaller --limit than before reuses the first lines.
		hyps = have[:min(done, len(src))]
		if len(hyps) == len(src) {
			return hyps, 0, 0, nil
		}
	}
	start := time.Now()
	n := 0
	for len(hyps) < len(src) {
		end := min(len(hyps)+opt.Batch, len(src))
		out, err := opt.Translate(ctx, d.Src, d.Tgt, src[len(hyps):end])
		if err != nil {
			return nil, 0, 0, fmt.Errorf("translate run: %s segments %d-%d: %w", d.Name(), len(hyps)+1, end, err)
		}
		if len(out) != end-len(hyps) {
			return nil, 0, 0, fmt.Errorf("translate run: %s: %d translations for %d segments", d.Name(), len(out), end-len(hyps))
		}
		for _, h := range out {
			hyps = append(hyps, strings.Join(strings.Fields(h), " "))
		}
		n += len(out)
		if err := writeLines(path, hyps); err != nil {
			return nil, 0, 0, err
		}
		prog.Done[d.Name()] = len(hyps)
		if err := saveProgress(opt.Out, prog); err != nil {
			return nil, 0, 0, err
		}
		if opt.Progress != nil {
			opt.Progress(d, len(hyps), len(src))
		}
	}
	return hyps, n, time.Since(start), nil
}

// findData picks the folder and split holding the language files.
func findData(data, split string) (string, string, []lang.Language, error) {
	splits := []string{"devtest", "dev", "txt"}
	if split != "" {
		if !slices.Contains(splits, split) {
			return "", "", nil, fmt.Errorf("translate run: split %q (want devtest, dev or txt)", split)
		}
		splits = []string{split}
	}
	for _, s := range splits {
		for _, dir := range []string{filepath.Join(data, s), data} {
			ls := languagesIn(dir, s)
			if len(ls) > 0 {
				return dir, s, ls, nil
			}
		}
	}
	return "", "", nil, fmt.Errorf("translate run: no CODE.%s files (FLORES-200 codes) in %s", strings.Join(splits, "/CODE."), data)
}

func languagesIn(dir, ext string) []lang.Language {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []lang.Language
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), "."+ext)
		if !ok || e.IsDir() {
			continue
		}
		if l, err := lang.Lookup(name); err == nil && l.Code == name {
			out = append(out, l)
		}
	}
	return out
}

// ExpandPairs turns "eng_Latn-*,*-eng_Latn,deu_Latn-fra_Latn" into
// directions over the available languages, in pattern order, without
// duplicates or same-language pairs.
func ExpandPairs(pairs string, avail []lang.Language) ([]Direction, error) {
	has := map[string]lang.Language{}
	for _, l := range avail {
		has[l.Code] = l
	}
	side := func(s, pat string) ([]lang.Language, error) {
		if s == "*" {
			return avail, nil
		}
		l, err := lang.Lookup(s)
		if err != nil {
			return nil, fmt.Errorf("translate run: pair %q: %w", pat, err)
		}
		if _, ok := has[l.Code]; !ok {
			return nil, fmt.Errorf("translate run: pair %q: no %s file in the data folder", pat, l.Code)
		}
		return []lang.Language{l}, nil
	}
	seen := map[string]bool{}
	var out []Direction
	for _, pat := range strings.Split(pairs, ",") {
		pat = strings.TrimSpace(pat)
		if pat == "" {
			continue
		}
		a, b, ok := strings.Cut(pat, "-")
		if !ok {
			return nil, fmt.Errorf("translate run: pair %q: want SRC-TGT (codes or *)", pat)
		}
		srcs, err := side(a, pat)
		if err != nil {
			return nil, err
		}
		tgts, err := side(b, pat)
		if err != nil {
			return nil, err
		}
		for _, s := range srcs {
			for _, t := range tgts {
				d := Direction{s, t}
				if s.Code == t.Code || seen[d.Name()] {
					continue
				}
				seen[d.Name()] = true
				out = append(out, d)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("translate run: pairs %q select no direction", pairs)
	}
	return out, nil
}

func loadProgress(out string, settings map[string]string) (*progress, error) {
	path := filepath.Join(out, "progress.json")
	p := &progress{Settings: settings, Done: map[string]int{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("translate run: %w", err)
	}
	var old progress
	if err := json.Unmarshal(data, &old); err != nil {
		return nil, fmt.Errorf("translate run: %s: %w", path, err)
	}
	for _, k := range sortedKeys(settings, old.Settings) {
		if settings[k] != old.Settings[k] {
			return nil, fmt.Errorf("translate run: %s was made with %s=%q, this run has %q; use another --out", path, k, old.Settings[k], settings[k])
		}
	}
	if old.Done != nil {
		p.Done = old.Done
	}
	return p, nil
}

func sortedKeys(a, b map[string]string) []string {
	var ks []string
	for k := range a {
		ks = append(ks, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

func saveProgress(out string, p *progress) error {
	return atomicfile.Write(filepath.Join(out, "progress.json"), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	})
}

// readLines reads a file of "\n"-terminated lines (a final line without
// newline counts too).
func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var out []string
	for sc.Scan() {
		out = append(out, strings.TrimSuffix(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

func writeLines(path string, lines []string) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		for _, l := range lines {
			bw.WriteString(l)
			bw.WriteByte('\n')
		}
		return bw.Flush()
	})
}

// Groups of a direction: every one of en→X, X→en, zh→X, X→zh that applies,
// else "other".
func directionGroups(d Direction) []string {
	var g []string
	switch {
	case d.Src.Code == "eng_Latn":
		g = append(g, "en→X")
	case d.Tgt.Code == "eng_Latn":
		g = append(g, "X→en")
	}
	switch {
	case d.Src.Code == "zho_Hans":
		g = append(g, "zh→X")
	case d.Tgt.Code == "zho_Hans":
		g = append(g, "X→zh")
	}
	if len(g) == 0 {
		g = append(g, "other")
	}
	return g
}

// bleuTokenize is sacreBLEU's default tokenizer for the target, except
// that Japanese and Korean (mecab, not available) use char.
func bleuTokenize(l lang.Language) string {
	switch l.ISO639_3 {
	case "zho", "yue":
		return "zh"
	case "jpn", "kor":
		return "char"
	}
	return "13a"
}

func scoreRun(ctx context.Context, opt TranslateOptions, rep *TranslateReport, dirs []Direction, hyps, texts map[string][]string) error {
	chrf, err := metrics.NewCHRF(metrics.CHRFOptions{WordOrder: 2})
	if err != nil {
		return err
	}
	var sp *metrics.BLEU
	if opt.SPMModel != "" {
		if sp, err = metrics.NewBLEU(metrics.BLEUOptions{Tokenize: "flores200", SPMModel: opt.SPMModel}); err != nil {
			return fmt.Errorf("translate run: spBLEU: %w", err)
		}
	} else {
		rep.SPBLEUNote = "spBLEU unavailable: no flores200 SentencePiece model given (--spm-model)"
	}
	for _, d := range dirs {
		segs, err := metrics.Segments(hyps[d.Name()], [][]string{texts[d.Tgt.Code]})
		if err != nil {
			return fmt.Errorf("translate run: %s: %w", d.Name(), err)
		}
		tk := bleuTokenize(d.Tgt)
		bleu, err := metrics.NewBLEU(metrics.BLEUOptions{Tokenize: tk})
		if err != nil {
			return err
		}
		b, err := bleu.CorpusScore(ctx, segs)
		if err != nil {
			return fmt.Errorf("translate run: %s: BLEU: %w", d.Name(), err)
		}
		c, err := chrf.CorpusScore(ctx, segs)
		if err != nil {
			return fmt.Errorf("translate run: %s: chrF++: %w", d.Name(), err)
		}
		ds := DirectionScore{Direction: d.Name(), Src: d.Src.Code, Tgt: d.Tgt.Code, Groups: directionGroups(d),
			Segments: len(segs), BLEU: b.Score, Tokenize: tk, CHRFpp: c.Score,
			BLEUSig: b.Signature().Format(false), CHRFSig: c.Signature().Format(false)}
		if sp != nil {
			s, err := sp.CorpusScore(ctx, segs)
			if err != nil {
				return fmt.Errorf("translate run: %s: spBLEU: %w", d.Name(), err)
			}
			ds.SPBLEU = &s.Score
		}
		rep.Directions = append(rep.Directions, ds)
	}
	rep.Groups = averages(rep.Directions, func(d DirectionScore) []string { return d.Groups })
	levels := map[string]lang.Resource{}
	for _, d := range dirs {
		// The resource level of a direction is the one of its side that
		// is neither English nor Chinese (the other language).
		other := d.Tgt
		if d.Tgt.Code == "eng_Latn" || d.Tgt.Code == "zho_Hans" {
			other = d.Src
		}
		levels[d.Name()] = other.Resource
	}
	rep.Resources = averages(rep.Directions, func(d DirectionScore) []string {
		if r := levels[d.Direction]; r != lang.ResourceUnknown {
			return []string{r.String()}
		}
		return nil
	})
	return nil
}

func averages(ds []DirectionScore, groups func(DirectionScore) []string) []GroupScore {
	var order []string
	acc := map[string]*GroupScore{}
	spSum := map[string]float64{}
	for _, d := range ds {
		for _, g := range groups(d) {
			a, ok := acc[g]
			if !ok {
				a = &GroupScore{Group: g}
				acc[g] = a
				order = append(order, g)
			}
			a.Directions++
			a.BLEU += d.BLEU
			a.CHRFpp += d.CHRFpp
			if d.SPBLEU != nil {
				spSum[g] += *d.SPBLEU
			}
		}
	}
	var out []GroupScore
	for _, g := range order {
		a := *acc[g]
		n := float64(a.Directions)
		a.BLEU /= n
		a.CHRFpp /= n
		if len(ds) > 0 && ds[0].SPBLEU != nil {
			v := spSum[g] / n
			a.SPBLEU = &v
		}
		out = append(out, a)
	}
	return out
}

func writeReports(out string, rep *TranslateReport) error {
	err := atomicfile.Write(filepath.Join(out, "report.json"), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	})
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(out, "report.md"), func(w io.Writer) error { return WriteMarkdown(w, rep) }); err != nil {
		return err
	}
	img, err := heatMap(rep).Draw()
	if err != nil {
		return err
	}
	return plot.Save(filepath.Join(out, "heatmap.png"), img)
}

// heatMap is spBLEU (BLEU without an SPM model) by source (rows) and
// target (columns).
func heatMap(rep *TranslateReport) plot.Heat {
	var rows, cols []string
	for _, d := range rep.Directions {
		if !slices.Contains(rows, d.Src) {
			rows = append(rows, d.Src)
		}
		if !slices.Contains(cols, d.Tgt) {
			cols = append(cols, d.Tgt)
		}
	}
	vals := make([][]float64, len(rows))
	for i := range vals {
		vals[i] = make([]float64, len(cols))
		for j := range vals[i] {
			vals[i][j] = math.NaN()
		}
	}
	metric := "BLEU"
	for _, d := range rep.Directions {
		v := d.BLEU
		if d.SPBLEU != nil {
			v, metric = *d.SPBLEU, "spBLEU"
		}
		vals[slices.Index(rows, d.Src)][slices.Index(cols, d.Tgt)] = v
	}
	return plot.Heat{Title: metric + " by source (rows) and target (columns)", Rows: rows, Cols: cols, Values: vals}
}

func fmtOpt(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", *v)
}

// WriteMarkdown writes the report as Markdown tables.
func WriteMarkdown(w io.Writer, rep *TranslateReport) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# Translation run (%s)\n\n", rep.Split)
	for _, k := range sortedKeys(rep.Settings, nil) {
		fmt.Fprintf(bw, "- %s: %s\n", k, rep.Settings[k])
	}
	if rep.SPBLEUNote != "" {
		fmt.Fprintf(bw, "- %s\n", rep.SPBLEUNote)
	}
	fmt.Fprintf(bw, "- translated now: %d segments in %.1f s (%.2f segments/s)\n\n", rep.Translated, rep.Seconds, rep.SegmentsPerSecond)
	fmt.Fprintf(bw, "| direction | groups | n | BLEU | tok | spBLEU | chrF++ |\n|---|---|---:|---:|---|---:|---:|\n")
	for _, d := range rep.Directions {
		fmt.Fprintf(bw, "| %s | %s | %d | %.2f | %s | %s | %.2f |\n", d.Direction, strings.Join(d.Groups, ", "), d.Segments, d.BLEU, d.Tokenize, fmtOpt(d.SPBLEU), d.CHRFpp)
	}
	groupTable := func(title string, gs []GroupScore) {
		fmt.Fprintf(bw, "\n| %s | directions | BLEU | spBLEU | chrF++ |\n|---|---:|---:|---:|---:|\n", title)
		for _, g := range gs {
			fmt.Fprintf(bw, "| %s | %d | %.2f | %s | %.2f |\n", g.Group, g.Directions, g.BLEU, fmtOpt(g.SPBLEU), g.CHRFpp)
		}
	}
	groupTable("group", rep.Groups)
	if len(rep.Resources) > 0 {
		groupTable("resource level", rep.Resources)
	} else {
		fmt.Fprintf(bw, "\nResource-level averages: the languages' resource levels are unknown (internal/lang leaves them unset).\n")
	}
	return bw.Flush()
}
