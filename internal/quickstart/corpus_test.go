package quickstart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCorpusIsMultiwayAligned(t *testing.T) {
	dir := t.TempDir()
	n, err := WriteCorpus(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n < 400 {
		t.Fatalf("only %d entities", n)
	}
	lines := map[string][]string{}
	for _, l := range Locales {
		b, err := os.ReadFile(filepath.Join(dir, l.Code+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		lines[l.Code] = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(lines[l.Code]) != n {
			t.Fatalf("%s: %d lines for %d entities", l.Code, len(lines[l.Code]), n)
		}
	}
	// Spot-check one aligned entity: German (the language) in three locales.
	idx := -1
	for i, s := range lines["eng_Latn"] {
		if s == "German" {
			idx = i
			break
		}
	}
	if idx < 0 || lines["fra_Latn"][idx] != "allemand" || lines["deu_Latn"][idx] != "Deutsch" || lines["zho_Hans"][idx] != "德语" {
		t.Fatalf("entity %d: %q %q %q", idx, lines["fra_Latn"][idx], lines["deu_Latn"][idx], lines["zho_Hans"][idx])
	}
	for _, f := range []string{"en.jsonl", "zh.jsonl"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if strings.Count(string(b), "\n") < 200 {
			t.Errorf("%s: too few instructions", f)
		}
	}
}
