package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bayling-go/bayling/internal/atomicfile"
	"github.com/bayling-go/bayling/internal/engine"
	"github.com/bayling-go/bayling/internal/lang"
)

type translateOptions struct {
	loadFlags
	template                  string
	to, from, promptLang, out string
	field                     string
	jsonl                     bool
	beams, batch, maxTokens   int
}

func init() { addCommand(newTranslateCmd()) }

func newTranslateCmd() *cobra.Command {
	o := &translateOptions{}
	c := &cobra.Command{
		Use:   "translate -m MODEL --to CODE [--from CODE] [FILE|-]",
		Short: "Translate text line by line (or JSONL) with BayLing's translation prompt",
		Long: `Translate every line of FILE (or stdin) into --to.

Each line is one segment, sent as BayLing's instruction "Provide the {tgt}
translation for this sentence: {src}" (or the Chinese "提供这句话的{tgt}翻译：{src}"
with --prompt-lang zh, the default when --from is Chinese) in the model's chat
format. Output is line-aligned with the input: one line per input line, empty
for empty lines. With --jsonl (the default for .jsonl files) each line is a
JSON object; the segment is its --field and the output object gains
"translation".

Segments are decoded --batch at a time in one batched forward step, greedy or
with beam search (--beams; BayLing's evaluation uses 5). With -o, finished
lines are recorded in OUT.progress, so a killed run started again with the
same arguments continues where it stopped; OUT is written atomically at the end.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := "-"
			if len(args) == 1 {
				in = args[0]
			}
			return runTranslate(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), in, o)
		},
	}
	f := c.Flags()
	o.loadFlags.register(f)
	f.StringVar(&o.template, "template", "auto", "chat format: auto or one of bayling-llama2, bayling-llama3, llama-2-chat, llama-3-instruct, jinja")
	f.StringVar(&o.to, "to", "", "target language: FLORES-200 code, ISO 639 code or English name (required)")
	f.StringVar(&o.from, "from", "", "source language (chooses the Chinese prompt for Chinese sources)")
	f.StringVar(&o.promptLang, "prompt-lang", engine.PromptAuto, "instruction language: en, zh or auto")
	f.StringVarP(&o.out, "output", "o", "", "output file (default stdout; needed to resume)")
	f.BoolVar(&o.jsonl, "jsonl", false, "input and output are JSON lines (default for .jsonl files)")
	f.StringVar(&o.field, "field", "src", "JSONL field holding the segment")
	f.IntVar(&o.beams, "beams", 1, "beam size; 1 = greedy")
	f.IntVar(&o.batch, "batch", 8, "segments decoded together")
	f.IntVarP(&o.maxTokens, "max-tokens", "n", 256, "tokens generated per segment at most")
	c.MarkFlagRequired("model")
	c.MarkFlagRequired("to")
	return c
}

// translateJob is the input and the place of each finished line.
type translateJob struct {
	lines []string // input lines
	segs  []string // segment per line ("" = nothing to translate)
	done  []bool
	out   []string // output line per input line
}

func runTranslate(ctx context.Context, stdin io.Reader, stdout, errOut io.Writer, in string, o *translateOptions) error {
	if o.beams < 1 || o.batch < 1 || o.maxTokens < 1 {
		return fmt.Errorf("translate: --beams %d, --batch %d and --max-tokens %d must be >= 1", o.beams, o.batch, o.maxTokens)
	}
	to, err := lang.Lookup(o.to)
	if err != nil {
		return fmt.Errorf("translate: --to: %w", err)
	}
	var from lang.Language
	if o.from != "" {
		if from, err = lang.Lookup(o.from); err != nil {
			return fmt.Errorf("translate: --from: %w", err)
		}
	}
	if _, err := engine.TranslationInstruction("", from, to, o.promptLang); err != nil {
		return err
	}
	if strings.HasSuffix(in, ".jsonl") {
		o.jsonl = true
	}
	job, digest, err := readTranslateInput(stdin, in, o)
	if err != nil {
		return err
	}
	l, err := o.load()
	if err != nil {
		return err
	}
	defer l.Close()
	p, err := engine.NewPrompter(o.template, l.Info, l.Checkpoint.Tokenizer)
	if err != nil {
		return fmt.Errorf("translate: %w (choose one with --template)", err)
	}
	tr := &engine.Translator{
		Model: l.Model, Tokenizer: l.Checkpoint.Tokenizer, Prompter: p, StopIDs: l.Checkpoint.Stop,
		From: from, To: to, PromptLang: o.promptLang, Beams: o.beams, MaxTokens: o.maxTokens,
	}
	var prog *progressLog
	if o.out != "" {
		header := fmt.Sprintf("bayling translate v1 input=%s model=%s to=%s from=%s prompt=%s template=%s beams=%d max=%d jsonl=%v field=%s",
			digest, l.ID, to.Code, from.Code, o.promptLang, p.T.Name(), o.beams, o.maxTokens, o.jsonl, o.field)
		if prog, err = openProgress(o.out+".progress", header, job, errOut); err != nil {
			return err
		}
		defer prog.Close()
	}
	var pending []int
	for i, s := range job.segs {
		if !job.done[i] && s != "" {
			pending = append(pending, i)
		} else if !job.done[i] {
			job.done[i] = true // empty line: empty output
		}
	}
	var bar interface{ Add(int) error }
	if in != "-" {
		b := newProgress("translating", int64(len(pending)))
		defer b.Finish()
		bar = b
	}
	// Without -o, lines go to stdout as soon as all before them are done.
	next := 0
	flushStdout := func() error {
		if o.out != "" {
			return nil
		}
		for ; next < len(job.lines) && job.done[next]; next++ {
			if _, err := fmt.Fprintln(stdout, job.out[next]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := flushStdout(); err != nil {
		return err
	}
	for len(pending) > 0 {
		n := min(o.batch, len(pending))
		idx := pending[:n]
		segs := make([]string, n)
		for k, i := range idx {
			segs[k] = job.segs[i]
		}
		res, err := tr.Translate(ctx, segs)
		if err != nil {
			return fmt.Errorf("translate %s: lines %d-%d: %w", in, idx[0]+1, idx[n-1]+1, err)
		}
		for k, i := range idx {
			job.out[i], job.done[i] = formatTranslation(job, i, res[k], o)
		}
		if prog != nil {
			if err := prog.record(idx, job.out); err != nil {
				return err
			}
		}
		if bar != nil {
			bar.Add(n)
		}
		if err := flushStdout(); err != nil {
			return err
		}
		pending = pending[n:]
	}
	if o.out == "" {
		return nil
	}
	err = atomicfile.Write(o.out, func(w io.Writer) error {
		for _, line := range job.out {
			if _, err := fmt.Fprintln(w, line); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("translate: %w", err)
	}
	prog.Close()
	return os.Remove(o.out + ".progress")
}

// formatTranslation is the output line for input line i.
func formatTranslation(job *translateJob, i int, tr string, o *translateOptions) (string, bool) {
	if !o.jsonl {
		return tr, true
	}
	line := strings.TrimRight(job.lines[i], " \t\r")
	val, _ := json.Marshal(tr)
	body := strings.TrimSpace(strings.TrimSuffix(line, "}"))
	sep := ","
	if strings.HasSuffix(body, "{") {
		sep = ""
	}
	return body + sep + `"translation":` + string(val) + "}", true
}

// readTranslateInput reads the lines and their segments, and a digest of
// the input that ties a progress file to it.
func readTranslateInput(stdin io.Reader, in string, o *translateOptions) (*translateJob, string, error) {
	var data []byte
	var err error
	if in == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(in)
	}
	if err != nil {
		return nil, "", fmt.Errorf("translate: %w", err)
	}
	sum := sha256.Sum256(data)
	text := strings.TrimSuffix(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	var lines []string
	if text != "" || len(data) > 0 {
		lines = strings.Split(text, "\n")
	}
	job := &translateJob{lines: lines, segs: make([]string, len(lines)), done: make([]bool, len(lines)), out: make([]string, len(lines))}
	for i, line := range lines {
		if !o.jsonl {
			job.segs[i] = strings.TrimSpace(line)
			continue
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			return nil, "", fmt.Errorf("translate %s: line %d: not a JSON object: %v", in, i+1, err)
		}
		raw, ok := obj[o.field]
		var s string
		if !ok || json.Unmarshal(raw, &s) != nil {
			return nil, "", fmt.Errorf("translate %s: line %d: no string field %q", in, i+1, o.field)
		}
		job.segs[i] = strings.TrimSpace(s)
		if job.segs[i] == "" {
			job.out[i], _ = formatTranslation(job, i, "", o)
			job.done[i] = true
		}
	}
	return job, hex.EncodeToString(sum[:8]), nil
}

// progressLog is OUT.progress: a header naming the input and options, then
// one JSON line {"i":N,"out":"..."} per finished input line. A run killed
// mid-write leaves at most a torn last line, which is ignored.
type progressLog struct {
	f *os.File
}

type progressEntry struct {
	I   int    `json:"i"`
	Out string `json:"out"`
}

func openProgress(path, header string, job *translateJob, errOut io.Writer) (*progressLog, error) {
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("translate: %w", err)
	default:
		first, rest, _ := bytes.Cut(data, []byte("\n"))
		if string(first) != header {
			fmt.Fprintf(errOut, "translate: %s belongs to another input or other options; starting over\n", path)
			break
		}
		resumed, valid := 0, len(first)+1
		sc := bufio.NewScanner(bytes.NewReader(rest))
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var e progressEntry
			if json.Unmarshal(sc.Bytes(), &e) != nil || e.I < 0 || e.I >= len(job.lines) {
				break // torn tail of a killed run
			}
			if !job.done[e.I] {
				resumed++
			}
			job.out[e.I], job.done[e.I] = e.Out, true
			valid += len(sc.Bytes()) + 1
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("translate: %w", err)
		}
		// Cut a torn tail so new records start on a fresh line.
		if err := f.Truncate(int64(min(valid, len(data)))); err != nil {
			f.Close()
			return nil, fmt.Errorf("translate: %w", err)
		}
		if _, err := f.Seek(0, io.SeekEnd); err != nil {
			f.Close()
			return nil, fmt.Errorf("translate: %w", err)
		}
		if valid > len(data) { // killed before the header's newline
			if _, err := f.WriteString("\n"); err != nil {
				f.Close()
				return nil, fmt.Errorf("translate: %w", err)
			}
		}
		fmt.Fprintf(errOut, "translate: resuming: %d of %d lines already done (%s)\n", resumed, len(job.lines), path)
		return &progressLog{f: f}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("translate: %w", err)
	}
	if _, err := fmt.Fprintln(f, header); err != nil {
		f.Close()
		return nil, fmt.Errorf("translate: %w", err)
	}
	return &progressLog{f: f}, nil
}

// record appends finished lines and syncs, so they survive a kill.
func (p *progressLog) record(idx []int, out []string) error {
	var b bytes.Buffer
	for _, i := range idx {
		line, _ := json.Marshal(progressEntry{i, out[i]})
		b.Write(line)
		b.WriteByte('\n')
	}
	if _, err := p.f.Write(b.Bytes()); err != nil {
		return fmt.Errorf("translate: progress: %w", err)
	}
	return p.f.Sync()
}

func (p *progressLog) Close() {
	if p != nil && p.f != nil {
		p.f.Close()
		p.f = nil
	}
}
