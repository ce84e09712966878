package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bayling-go/bayling/internal/testenv"
	"github.com/bayling-go/bayling/internal/train"
)

// trainYAML writes a small stories260K fine-tuning config into dir.
func trainYAML(t *testing.T, dir string, extra string) string {
	t.Helper()
	shared := testenv.Shared(t)
	root := testenv.ModuleRoot(t)
	cfg := fmt.Sprintf(`model: %s
tokenizer_gguf: %s
template: bayling-llama2
name: bayling-test
data: [%s]
eval_every: 50
seq_len: 256
batch_size: 2
steps: 8
lr: 3.0e-3
warmup: 2
clip: 1.0
threads: 2
save_interval: 1
eval_interval: 0
%s`, filepath.Join(shared, "fixtures", "stories260K", "stories260K.bin"),
		filepath.Join(shared, "fixtures", "gguf", "stories260K.llamacpp-c392e50.gguf"),
		filepath.Join(root, "examples", "instructions-stories.jsonl"), extra)
	path := filepath.Join(dir, "train.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTrainSubprocess is the CLI entry point for TestTrainKillResume's
// child processes; it does nothing in a normal test run.
func TestTrainSubprocess(t *testing.T) {
	args := os.Getenv("BAYLING_TRAIN_ARGS")
	if args == "" {
		t.Skip("helper for TestTrainKillResume")
	}
	c := newTrainCmd()
	var list []string
	if err := json.Unmarshal([]byte(args), &list); err != nil {
		t.Fatal(err)
	}
	c.SetArgs(list)
	if err := c.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func trainCmd(t *testing.T, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestTrainSubprocess$")
	js, _ := json.Marshal(args)
	cmd.Env = append(os.Environ(), "BAYLING_TRAIN_ARGS="+string(js))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("child stderr: %s", stderr.String())
		}
	})
	return cmd
}

// TestTrainKillResume kills `bayling train` with SIGKILL at a random step,
// resumes it, and requires the exported GGUF to be byte-identical to an
// uninterrupted run's.
func TestTrainKillResume(t *testing.T) {
	dir := t.TempDir()
	cfg := trainYAML(t, dir, "export: [gguf, hf]\n")
	full, resumed := filepath.Join(dir, "full"), filepath.Join(dir, "resumed")
	if err := trainCmd(t, "-q", "-c", cfg, "-o", full).Run(); err != nil {
		t.Fatalf("uninterrupted run: %v", err)
	}
	killAt := 2 + rand.IntN(5)
	cmd := trainCmd(t, "-q", "-c", cfg, "-o", resumed)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for rows(filepath.Join(resumed, "log.csv")) < killAt && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	done := rows(filepath.Join(resumed, "log.csv"))
	t.Logf("killed after %d logged steps (target %d)", done, killAt)
	if done >= 8 {
		t.Fatalf("run finished before it could be killed")
	}
	if _, err := os.Stat(filepath.Join(resumed, "model.gguf")); err == nil {
		t.Fatal("killed run already exported")
	}
	if err := trainCmd(t, "-q", "-c", cfg, "-o", resumed).Run(); err != nil {
		t.Fatalf("resumed run: %v", err)
	}
	for _, f := range []string{"model.gguf", "hf/model.safetensors"} {
		a, err := os.ReadFile(filepath.Join(full, f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(resumed, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: resumed run differs from the uninterrupted one", f)
		}
	}
	if n := rows(filepath.Join(resumed, "log.csv")); n != 8 {
		t.Errorf("log.csv has %d step rows after resume, want 8", n)
	}
}

// rows counts the data rows of a log.csv (0 if absent).
func rows(path string) int {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return 0
	}
	return strings.Count(string(b), "\n") - 1
}

// TestTrainLoRAExportsPEFT runs a LoRA fine-tune in process and checks the
// adapter against PEFT's documented LoraConfig fields and tensor layout,
// then merges it with `bayling lora merge`.
func TestTrainLoRAExportsPEFT(t *testing.T) {
	dir := t.TempDir()
	cfg := trainYAML(t, dir, "export: [peft, gguf]\nlora: {r: 4, alpha: 8, dropout: 0.1, target_modules: [q_proj, k_proj, v_proj, down_proj]}\n")
	out := filepath.Join(dir, "out")
	c := newTrainCmd()
	c.SetArgs([]string{"-q", "-c", cfg, "-o", out})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "adapter", "adapter_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ac map[string]any
	if err := json.Unmarshal(b, &ac); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 4.0, "lora_alpha": 8.0, "lora_dropout": 0.1,
		"bias": "none", "fan_in_fan_out": false, "inference_mode": true}
	for k, v := range want {
		if ac[k] != v {
			t.Errorf("adapter_config.json %s = %v, want %v", k, ac[k], v)
		}
	}
	if tm, _ := ac["target_modules"].([]any); len(tm) != 4 {
		t.Errorf("target_modules = %v", ac["target_modules"])
	}
	if s, _ := ac["base_model_name_or_path"].(string); !strings.HasSuffix(s, "stories260K.bin") {
		t.Errorf("base_model_name_or_path = %v", ac["base_model_name_or_path"])
	}
	checkPEFTTensors(t, filepath.Join(out, "adapter", "adapter_model.safetensors"))
	merged := filepath.Join(dir, "merged.gguf")
	m := newLoRAMergeCmd()
	m.SetArgs([]string{"-m", filepath.Join(testenv.Shared(t), "fixtures", "gguf", "stories260K.llamacpp-c392e50.gguf"), "-a", filepath.Join(out, "adapter"), "-o", merged})
	if err := m.Execute(); err != nil {
		t.Fatal(err)
	}
	// The trainer's own merged export and `lora merge` of the base plus
	// the PEFT adapter must hold the same weights (the adapter's B rows
	// went through the HF Q/K permutation and back).
	compareGGUFTensors(t, filepath.Join(out, "model.gguf"), merged)
}

// TestTrainLoRAResumeWithDropout interrupts a LoRA run with dropout (by
// cancelling its context after a random step), resumes it and requires the
// adapter to be byte-identical to an uninterrupted run's: the dropout masks
// must be reproduced from the checkpoint.
func TestTrainLoRAResumeWithDropout(t *testing.T) {
	dir := t.TempDir()
	path := trainYAML(t, dir, "export: [peft]\nlora: {r: 2, alpha: 4, dropout: 0.2, target_modules: [q_proj, o_proj, up_proj]}\n")
	cfg, err := train.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Steps = 4
	full, resumed := filepath.Join(dir, "full"), filepath.Join(dir, "resumed")
	if err := train.Run(context.Background(), cfg, full, nil); err != nil {
		t.Fatal(err)
	}
	stopAt := 1 + rand.IntN(3)
	ctx, cancel := context.WithCancel(context.Background())
	err = train.Run(ctx, cfg, resumed, func(p train.Progress) {
		if p.Step == stopAt {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v, want context.Canceled", err)
	}
	if err := train.Run(context.Background(), cfg, resumed, nil); err != nil {
		t.Fatal(err)
	}
	a, err := os.ReadFile(filepath.Join(full, "adapter", "adapter_model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(resumed, "adapter", "adapter_model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("adapter after resume at step %d differs from the uninterrupted run", stopAt)
	}
}
