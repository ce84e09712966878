package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// evalScoreRoot returns the module root and ../shared, skipping (or failing
// under CI) when the shared data is missing.
func evalScoreRoot(t *testing.T) (root, shared string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("go.mod not found")
		}
		dir = filepath.Dir(dir)
	}
	shared = filepath.Join(dir, "..", "shared")
	if _, err := os.Stat(shared); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("shared test data missing: %v", err)
		}
		t.Skipf("shared test data missing: %v", err)
	}
	return dir, shared
}

func runEvalScore(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&out)
	rootCmd.SetArgs(append([]string{"eval", "score"}, args...))
	err := rootCmd.Execute()
	return out.String(), err
}

// TestEvalScoreMatchesSacreBLEU replays sacreBLEU 2.6.0 command lines (see
// internal/eval/metrics/testdata/README.md) and compares the output byte
// for byte.
func TestEvalScoreMatchesSacreBLEU(t *testing.T) {
	root, shared := evalScoreRoot(t)
	dir := filepath.Join(root, "internal", "eval", "metrics", "testdata", "sacrebleu-cli")
	argFiles, err := filepath.Glob(filepath.Join(dir, "*.args"))
	if err != nil || len(argFiles) == 0 {
		t.Fatalf("no golden command lines in %s (%v)", dir, err)
	}
	for _, af := range argFiles {
		name := strings.TrimSuffix(filepath.Base(af), ".args")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(af)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(af, ".args") + ".out")
			if err != nil {
				t.Fatal(err)
			}
			args := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
			for i, a := range args {
				if strings.HasPrefix(a, "evaldata/") {
					args[i] = filepath.Join(shared, a)
				}
			}
			got, err := runEvalScore(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(name, "-sent") { // the golden keeps the first lines only
				got = strings.Join(strings.SplitAfter(got, "\n")[:strings.Count(string(want), "\n")], "")
			}
			if got != string(want) {
				t.Errorf("bayling eval score %s\n got:\n%s\nwant:\n%s", strings.Join(args, " "), got, want)
			}
		})
	}
}

func TestEvalScoreRefFlagsAndErrors(t *testing.T) {
	_, shared := evalScoreRoot(t)
	ref := filepath.Join(shared, "evaldata/wmt22-bayling/reference/zhen.ref")
	hyp := filepath.Join(shared, "evaldata/wmt22-bayling/gpt-4/zh-en.hypo")
	positional, err := runEvalScore(t, ref, "-i", hyp, "-m", "bleu", "chrf", "--json")
	if err != nil {
		t.Fatal(err)
	}
	flagged, err := runEvalScore(t, "-r", ref, "-i", hyp, "-m", "bleu,chrf", "-f", "json")
	if err != nil {
		t.Fatal(err)
	}
	if positional != flagged || !strings.Contains(flagged, `"name": "chrF2"`) {
		t.Errorf("-r and positional references differ:\n%s\n%s", positional, flagged)
	}

	// -nr 2 over one tab-separated file equals two reference files.
	dir := t.TempDir()
	other := filepath.Join(shared, "evaldata/wmt22-bayling/bayling-13b/zh-en.hypo")
	a, errA := os.ReadFile(ref)
	b, errB := os.ReadFile(other)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	la, lb := strings.Split(strings.TrimSuffix(string(a), "\n"), "\n"), strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	var joined strings.Builder
	for i := range la {
		joined.WriteString(la[i] + "\t" + lb[i] + "\n")
	}
	tsv := filepath.Join(dir, "refs.tsv")
	if err := os.WriteFile(tsv, []byte(joined.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	two, err := runEvalScore(t, ref, other, "-i", hyp, "-m", "bleu", "chrf", "-w", "4")
	if err != nil {
		t.Fatal(err)
	}
	tabbed, err := runEvalScore(t, tsv, "-nr", "2", "-i", hyp, "-m", "bleu", "chrf", "-w", "4")
	if err != nil {
		t.Fatal(err)
	}
	if two != tabbed || !strings.Contains(two, "nrefs:2") {
		t.Errorf("-nr 2 differs from two reference files:\n%s\n%s", tabbed, two)
	}

	short := filepath.Join(dir, "short.txt")
	if err := os.WriteFile(short, []byte("one line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("ok\n\xff\xfe\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{ref, "-i", short}, "different lengths"},
		{[]string{bad, "-i", bad, "-m", "ter"}, "bad.txt: line 2: not valid UTF-8"},
		{[]string{"-i", hyp}, "no references"},
		{[]string{ref, "-i", hyp, "-m", "rouge"}, `unknown metric "rouge"`},
		{[]string{ref, "-i", hyp, "-tok", "klingon"}, `unknown tokenizer "klingon"`},
		{[]string{ref, "-i", hyp, hyp}, "one system per run"},
		{[]string{ref, "-i", filepath.Join(dir, "missing.txt")}, "missing.txt"},
		{[]string{ref, "-i", hyp, "-m", "bleu", "chrf", "-sl"}, "one metric"},
		{[]string{tsv, "-nr", "3", "-i", hyp}, "refs.tsv: line 1: expected 3 tab-separated references, found 2"},
		{[]string{ref, "-i", hyp, "-e", "latin-1"}, "only utf-8"},
		{[]string{"-t", "wmt22", "-l", "zh-en", "-i", hyp}, "--test-set: built-in test sets"},
		{[]string{ref, "-i", hyp, "--paired-bs"}, "--paired-bs: paired significance"},
	} {
		if _, err := runEvalScore(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}
