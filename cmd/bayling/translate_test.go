package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/chat"
	"github.com/bayling-go/bayling/internal/engine"
	"github.com/bayling-go/bayling/internal/lang"
	"github.com/bayling-go/bayling/internal/testenv"
)

func runTranslateCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	c := newTranslateCmd()
	var out, errOut bytes.Buffer
	c.SetIn(strings.NewReader(stdin))
	c.SetOut(&out)
	c.SetErr(&errOut)
	c.SetArgs(args)
	err := c.Execute()
	return out.String(), errOut.String(), err
}

func storiesModel(t *testing.T) string {
	return testenv.SharedPath(t, "fixtures", "stories260K", "stories260K.bin")
}

// schedulerTranslation is what the continuous-batching engine (a separate
// code path from the beam search) answers for one segment, greedily.
func schedulerTranslation(t *testing.T, l *engine.Loaded, src string, to string, maxTokens int) string {
	t.Helper()
	p, err := engine.NewPrompter("bayling-llama2", l.Info, l.Checkpoint.Tokenizer)
	if err != nil {
		t.Fatal(err)
	}
	inst, _ := engine.TranslationInstruction(src, lang.Language{}, lang.MustLookup(to), engine.PromptAuto)
	req, err := p.Request([]chat.Message{{Role: "user", Content: inst}}, engine.Request{MaxTokens: maxTokens})
	if err != nil {
		t.Fatal(err)
	}
	e, err := l.NewEngine(engine.Options{Slots: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s, err := e.Submit(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	text, _, err := s.Collect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return engine.CleanTranslation(text)
}

var translateInput = []string{"The cat sat on the mat.", "", "A little girl went to the park.", "  He was happy.  ", "Tom and Lily played with a ball.", "The sun was hot."}

func TestTranslateGreedyAligned(t *testing.T) {
	model := storiesModel(t)
	l, err := engine.Load(model, engine.LoadOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	out, _, err := runTranslateCLI(t, strings.Join(translateInput, "\n")+"\n",
		"-m", model, "--template", "bayling-llama2", "--to", "de", "-n", "24", "--batch", "4", "-t", "1", "-")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(translateInput) {
		t.Fatalf("%d output lines for %d input lines:\n%s", len(lines), len(translateInput), out)
	}
	for i, src := range translateInput {
		want := ""
		if strings.TrimSpace(src) != "" {
			want = schedulerTranslation(t, l, strings.TrimSpace(src), "de", 24)
		}
		if lines[i] != want {
			t.Errorf("line %d: %q, engine alone %q", i+1, lines[i], want)
		}
	}
}

func TestTranslateResume(t *testing.T) {
	model := storiesModel(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	outPath := filepath.Join(dir, "out.txt")
	os.WriteFile(in, []byte(strings.Join(translateInput, "\n")+"\n"), 0o644)
	args := []string{"-m", model, "--template", "bayling-llama2", "--to", "zh", "-n", "16", "--beams", "3", "--batch", "2", "-t", "1", "-o", outPath, in}

	// A complete run gives the reference output and leaves no progress file.
	if _, _, err := runTranslateCLI(t, "", args...); err != nil {
		t.Fatal(err)
	}
	full, _ := os.ReadFile(outPath)
	if _, err := os.Stat(outPath + ".progress"); !os.IsNotExist(err) {
		t.Fatalf("progress file left behind: %v", err)
	}
	fullLines := strings.Split(strings.TrimSuffix(string(full), "\n"), "\n")
	if len(fullLines) != len(translateInput) || fullLines[1] != "" || fullLines[0] == "" {
		t.Fatalf("output %q", full)
	}

	// A killed run: the progress file has the header, two finished lines
	// (marked, to prove they are not redone) and a torn record.
	os.Remove(outPath)
	header := progressHeader(t, args, outPath)
	torn := header + "\n" + `{"i":0,"out":"DONE-0"}` + "\n" + `{"i":3,"out":"DONE-3"}` + "\n" + `{"i":4,"ou`
	os.WriteFile(outPath+".progress", []byte(torn), 0o644)
	_, stderr, err := runTranslateCLI(t, "", args...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "resuming: 2 of 6 lines already done") {
		t.Errorf("stderr %q", stderr)
	}
	got, _ := os.ReadFile(outPath)
	gotLines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	for i := range fullLines {
		want := fullLines[i]
		if i == 0 || i == 3 {
			want = fmt.Sprintf("DONE-%d", i)
		}
		if gotLines[i] != want {
			t.Errorf("resumed line %d: %q, want %q", i+1, gotLines[i], want)
		}
	}
	if _, err := os.Stat(outPath + ".progress"); !os.IsNotExist(err) {
		t.Fatal("progress file left after the resumed run finished")
	}
}

// progressHeader runs the command on an empty-output path to learn the
// header line it writes, by reading the progress file of a canceled run.
func progressHeader(t *testing.T, args []string, outPath string) string {
	t.Helper()
	// The header is deterministic; build it from a run that is killed at
	// once (no lines) by giving it a canceled context.
	c := newTranslateCmd()
	c.SetArgs(args)
	c.SetOut(&bytes.Buffer{})
	c.SetErr(&bytes.Buffer{})
	ctx, cancel := contextCanceled(t)
	defer cancel()
	c.ExecuteContext(ctx)
	b, err := os.ReadFile(outPath + ".progress")
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	if !strings.HasPrefix(first, "bayling translate v1 input=") {
		t.Fatalf("header %q", first)
	}
	return first
}

func TestTranslateJSONL(t *testing.T) {
	model := storiesModel(t)
	in := `{"id": 1, "src": "The dog ran."}` + "\n" + `{"id":2,"src":""}` + "\n\n" + `{"src":"Hi","lang":"x"}` + "\n"
	out, _, err := runTranslateCLI(t, in, "-m", model, "--template", "bayling-llama2", "--to", "fra_Latn", "--jsonl", "-n", "8", "-t", "1")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 4 || lines[2] != "" {
		t.Fatalf("output %q", out)
	}
	for _, i := range []int{0, 1, 3} {
		var obj map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &obj); err != nil {
			t.Fatalf("line %d %q: %v", i+1, lines[i], err)
		}
		if _, ok := obj["translation"].(string); !ok || obj["src"] == nil {
			t.Fatalf("line %d: %v", i+1, obj)
		}
	}
	if !strings.Contains(lines[1], `"translation":""`) || !strings.Contains(lines[3], `"lang":"x"`) {
		t.Fatalf("output %q", out)
	}
	_, _, err = runTranslateCLI(t, "not json\n", "-m", model, "--template", "bayling-llama2", "--to", "fr", "--jsonl", "-t", "1")
	if err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("bad JSONL: %v", err)
	}
}

func TestTranslateErrors(t *testing.T) {
	model := storiesModel(t)
	_, _, err := runTranslateCLI(t, "x\n", "-m", model, "--template", "bayling-llama2", "--to", "germn")
	if err == nil || !strings.Contains(err.Error(), "--to") {
		t.Fatalf("unknown language: %v", err)
	}
	// stories260K has no chat format of its own.
	_, _, err = runTranslateCLI(t, "x\n", "-m", model, "--to", "de", "-t", "1")
	if err == nil || !strings.Contains(err.Error(), "--template") {
		t.Fatalf("no template: %v", err)
	}
}

func TestTranslationInstruction(t *testing.T) {
	en, _ := engine.TranslationInstruction("Hello.", lang.MustLookup("en"), lang.MustLookup("zh"), engine.PromptAuto)
	zh, _ := engine.TranslationInstruction("你好。", lang.MustLookup("zh"), lang.MustLookup("en"), engine.PromptAuto)
	if en != "Provide the Chinese translation for this sentence: Hello." || zh != "提供这句话的英语翻译：你好。" {
		t.Fatalf("%q / %q", en, zh)
	}
}

func contextCanceled(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx, cancel
}

// Whatever a progress file holds (a torn write, another run's file,
// garbage), opening it never panics and never marks a line outside the
// input as done.
func FuzzTranslateProgress(f *testing.F) {
	const header = "bayling translate v1 input=x"
	f.Add(header + "\n" + `{"i":0,"out":"a"}` + "\n" + `{"i":2,"o`)
	f.Add(header + "\n" + `{"i":-1,"out":"a"}` + "\n")
	f.Add("other header\n{}")
	f.Add("")
	f.Fuzz(func(t *testing.T, content string) {
		path := filepath.Join(t.TempDir(), "out.progress")
		os.WriteFile(path, []byte(content), 0o644)
		job := &translateJob{lines: make([]string, 3), segs: make([]string, 3), done: make([]bool, 3), out: make([]string, 3)}
		p, err := openProgress(path, header, job, &bytes.Buffer{})
		if err != nil {
			return
		}
		if err := p.record([]int{1}, job.out); err != nil {
			t.Fatal(err)
		}
		p.Close()
		// The file now starts with the header and ends with a whole record.
		b, _ := os.ReadFile(path)
		if !strings.HasPrefix(string(b), header+"\n") || !strings.HasSuffix(string(b), `{"i":1,"out":""}`+"\n") {
			t.Fatalf("progress file after record: %q", b)
		}
	})
}
