package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/testenv"
)

// runLID runs `bayling lid ARGS...` in process with stdin and returns stdout.
func runLID(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	rootCmd.SetIn(strings.NewReader(stdin))
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&errOut)
	rootCmd.SetArgs(append([]string{"lid"}, args...))
	err := rootCmd.Execute()
	return out.String(), err
}

// Train on three FLORES languages through the CLI, then label and evaluate.
func TestLIDCommands(t *testing.T) {
	dev := testenv.SharedPath(t, "evaldata", "flores200", "dev")
	devtest := testenv.SharedPath(t, "evaldata", "flores200", "devtest")
	model := filepath.Join(t.TempDir(), "lid.model")
	out, err := runLID(t, "", "train", "-o", model, "--langs", "eng_Latn,deu_Latn,kor_Hang",
		"--dim", "16", "--bucket", "65536", "--epoch", "2", "--max-lines", "300", "--thread", "1", dev)
	if err != nil {
		t.Fatalf("train: %v", err)
	}
	if !strings.Contains(out, "trained 3 languages") {
		t.Errorf("train output %q", out)
	}
	out, err = runLID(t, "The weather is lovely today.\n오늘 날씨가 좋네요.\nDas Wetter ist heute schön.\n", "-m", model)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{"eng_Latn", "kor_Hang", "deu_Latn"}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines: %q", len(lines), out)
	}
	for i, l := range lines {
		code, prob, ok := strings.Cut(l, "\t")
		if !ok || code != want[i] || prob == "" {
			t.Errorf("line %d = %q, want %s<TAB>probability", i, l, want[i])
		}
	}
	out, err = runLID(t, "Hallo Welt\n", "-m", model, "-k", "2")
	if err != nil || len(strings.Split(strings.TrimSpace(out), "\t")) != 4 {
		t.Errorf("-k 2: %q, %v", out, err)
	}

	// eval over a folder holding only the trained languages.
	dir := t.TempDir()
	for _, code := range want {
		b, err := os.ReadFile(filepath.Join(devtest, code+".devtest"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, code+".devtest"), b[:20000], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err = runLID(t, "", "eval", "-m", model, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "macro-F1") || !strings.Contains(out, "worst languages") {
		t.Errorf("eval output:\n%s", out)
	}

	// A fastText model goes through the same -m flag.
	ft := filepath.Join(testenv.ModuleRoot(t), "internal", "lid", "testdata", "fasttext", "sm.bin")
	out, err = runLID(t, "Der schnelle braune Fuchs springt über den faulen Hund.\n", "-m", ft, "-k", "1")
	if err != nil || !strings.HasPrefix(out, "deu_Latn\t0.92") {
		t.Errorf("fastText model: %q, %v", out, err)
	}

	if _, err := runLID(t, "", "-m", filepath.Join(dir, "missing")); err == nil {
		t.Error("missing model: no error")
	}
}
