package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/kernels"
	"github.com/bayling-go/bayling/internal/testenv"
)

func runBenchCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	c := newBenchCmd()
	var out, errOut bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&errOut)
	c.SetArgs(args)
	err := c.Execute()
	return out.String(), errOut.String(), err
}

func TestBenchJSON(t *testing.T) {
	model := testenv.SharedPath(t, "fixtures", "gguf", "stories260K.llamacpp-c392e50.gguf")
	out, _, err := runBenchCLI(t, "-m", model, "-p", "16", "-n", "8", "-t", "1", "-r", "2", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value: %q", out)
	}
	fi, err := os.Stat(model)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"threads": 1.0, "model_bytes": float64(fi.Size()), "kernels": kernels.Active(),
		"pp_tokens": 16.0, "tg_tokens": 8.0, "reps": 2.0, "kv_type": "F16",
	} {
		if r[k] != want {
			t.Errorf("%s = %v, want %v", k, r[k], want)
		}
	}
	for _, k := range []string{"pp_tps", "tg_tps", "peak_rss_bytes", "bytes_per_token", "model_params"} {
		if v, ok := r[k].(float64); !ok || v <= 0 {
			t.Errorf("%s = %v, want > 0", k, r[k])
		}
	}
	for _, k := range []string{"pp_tps_samples", "tg_tps_samples"} {
		if s, ok := r[k].([]any); !ok || len(s) != 2 {
			t.Errorf("%s = %v, want 2 samples", k, r[k])
		}
	}
}

func TestBenchTable(t *testing.T) {
	model := testenv.SharedPath(t, "fixtures", "gguf", "stories260K.llamacpp-c392e50.gguf")
	out, errOut, err := runBenchCLI(t, "-m", model, "-p", "8", "-n", "4", "-t", "2", "-r", "1")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "| model") || !strings.Contains(lines[2], " pp8 ") || !strings.Contains(lines[3], " tg4 ") {
		t.Fatalf("table:\n%s", out)
	}
	if !strings.Contains(lines[2], "stories260K.llamacpp-c392e50.gguf") || !strings.Contains(lines[2], "|       2 |") {
		t.Fatalf("row: %s", lines[2])
	}
	if !strings.Contains(errOut, "peak RSS") {
		t.Fatalf("stderr: %q", errOut)
	}
	// -n 0 skips tg.
	out, _, err = runBenchCLI(t, "-m", model, "-p", "8", "-n", "0", "-r", "1")
	if err != nil || strings.Contains(out, "tg") {
		t.Fatalf("-n 0: %v\n%s", err, out)
	}
}

func TestBenchBadFlags(t *testing.T) {
	model := testenv.SharedPath(t, "fixtures", "gguf", "stories260K.llamacpp-c392e50.gguf")
	for _, args := range [][]string{
		{"-m", model, "-r", "0"},
		{"-m", model, "-t", "0"},
		{"-m", model, "-p", "0", "-n", "0"},
		{"-m", model, "--cache-type", "q9"},
		{"-m", model, "-p", "100000"},
		{"-m", "/nonexistent/model.gguf"},
	} {
		if _, _, err := runBenchCLI(t, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
