package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The quickstart end to end with tiny settings: no ../shared, no network;
// it prints the report, writes the chart and answers one chat request
// through the server.
func TestQuickstartOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	dir := t.TempDir()
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&out)
	rootCmd.SetArgs([]string{"quickstart", "--dir", dir, "--steps", "6", "--eval-items", "6", "--merges", "200", "--check", "--addr", "127.0.0.1:0"})
	defer rootCmd.SetArgs(nil)
	if err := rootCmd.Execute(); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{"| with cross-lingual |", "| without cross-lingual |", "chat check: ", "rerun: bayling train -c "} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	for _, f := range []string{"report.md", "report.png", "train-with/model.gguf", "train-with/log.csv", "data-with/manifest.json", "recipe-with.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
}
