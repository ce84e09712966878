package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/bayling-go/bayling/internal/testenv"
)

// TestDataSubprocess runs `bayling ARGS...` for TestDataBuildKillResume's
// child processes; it does nothing in a normal test run.
func TestDataSubprocess(t *testing.T) {
	args := os.Getenv("BAYLING_DATA_ARGS")
	if args == "" {
		t.Skip("helper for TestDataBuildKillResume")
	}
	var list []string
	if err := json.Unmarshal([]byte(args), &list); err != nil {
		t.Fatal(err)
	}
	rootCmd.SetArgs(list)
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func dataCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestDataSubprocess$")
	js, _ := json.Marshal(args)
	cmd.Env = append(os.Environ(), "BAYLING_DATA_ARGS="+string(js))
	return cmd
}

// A build killed with SIGKILL after its first input resumes, skips that
// input, and ends with the same bytes as an uninterrupted build.
func TestDataBuildKillResume(t *testing.T) {
	dev := testenv.SharedPath(t, "evaldata", "flores200", "dev")
	dir := t.TempDir()
	recipe := filepath.Join(dir, "r.yaml")
	os.WriteFile(recipe, []byte(fmt.Sprintf(`seed: 3
no_mix: true
multiturn_rate: 0.1
shard_size: 1000
inputs:
  - kind: multiway
    path: %[1]s
    limit: 5
  - kind: multiway
    path: %[1]s
    limit: 120
`, dev)), 0o644)
	full, resumed := filepath.Join(dir, "full"), filepath.Join(dir, "resumed")
	if out, err := dataCmd("data", "build", "-c", recipe, "-o", full).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted build: %v\n%s", err, out)
	}
	cmd := dataCmd("data", "build", "-c", recipe, "-o", resumed)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill once the first input's spill is committed.
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if m, _ := filepath.Glob(filepath.Join(resumed, ".work", "*", "input-000.jsonl.counts.json")); len(m) > 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(resumed, "manifest.json")); err == nil {
		t.Fatal("the build finished before it could be killed")
	}
	out, err := dataCmd("data", "build", "-c", recipe, "-o", resumed).CombinedOutput()
	if err != nil {
		t.Fatalf("resumed build: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("resume: input already built")) {
		t.Errorf("the resumed build did not skip the finished input:\n%s", out)
	}
	shards, _ := filepath.Glob(filepath.Join(full, "*", "shard-*.jsonl"))
	if len(shards) < 4 {
		t.Fatalf("only %d shards", len(shards))
	}
	for _, a := range append(shards, filepath.Join(full, "manifest.json")) {
		rel, _ := filepath.Rel(full, a)
		x, _ := os.ReadFile(a)
		y, err := os.ReadFile(filepath.Join(resumed, rel))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs after resume (%v)", rel, err)
		}
	}
}
