package eval

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/engine"
	"github.com/bayling-go/bayling/internal/lang"
	"github.com/bayling-go/bayling/internal/testenv"
)

// miniFlores writes three line-aligned languages as CODE.dev files.
func miniFlores(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"eng_Latn": "the cat sat on the mat\nit is raining today\nwe like green tea\nthe train was late again\nopen the window please\n",
		"deu_Latn": "die katze saß auf der matte\nheute regnet es\nwir mögen grünen tee\nder zug war wieder spät\nöffne bitte das fenster\n",
		"zho_Hans": "猫坐在垫子上\n今天下雨\n我们喜欢绿茶\n火车又晚点了\n请打开窗户\n",
	}
	for code, text := range files {
		if err := os.WriteFile(filepath.Join(dir, code+".dev"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// oracle translates by looking the source line up in the data and
// returning the target line, so every score must be 100; calls counts the
// segments it was asked for.
func oracle(t *testing.T, dir string, calls *int, failAfter int) TranslateFunc {
	lines := func(code string) []string {
		b, err := os.ReadFile(filepath.Join(dir, code+".dev"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
	return func(ctx context.Context, from, to lang.Language, segs []string) ([]string, error) {
		if failAfter >= 0 && *calls >= failAfter {
			return nil, errors.New("killed")
		}
		*calls += len(segs)
		src, tgt := lines(from.Code), lines(to.Code)
		out := make([]string, len(segs))
		for i, s := range segs {
			out[i] = tgt[slices.Index(src, s)]
		}
		return out, nil
	}
}

func TestTranslateRunResumesAndScores(t *testing.T) {
	data := miniFlores(t)
	out := t.TempDir()
	calls := 0
	opt := TranslateOptions{Data: data, Pairs: "eng_Latn-*,zho_Hans-deu_Latn", Limit: 4, Batch: 3, Out: out,
		Settings: map[string]string{"model": "oracle"}}
	// First run dies after 4 segments: eng-deu done (3+1), eng-zho not started.
	opt.Translate = oracle(t, data, &calls, 4)
	if _, err := RunTranslate(context.Background(), opt); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("interrupted run: err = %v", err)
	}
	var prog progress
	b, _ := os.ReadFile(filepath.Join(out, "progress.json"))
	if err := json.Unmarshal(b, &prog); err != nil || prog.Done["eng_Latn-deu_Latn"] != 4 || prog.Done["eng_Latn-zho_Hans"] != 0 {
		t.Fatalf("progress after kill = %s (%v)", b, err)
	}
	// The resumed run translates only the 8 missing segments.
	calls = 0
	opt.Translate = oracle(t, data, &calls, -1)
	rep, err := RunTranslate(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 8 || rep.Translated != 8 {
		t.Fatalf("resumed run translated %d segments (reported %d), want 8", calls, rep.Translated)
	}
	if len(rep.Directions) != 3 {
		t.Fatalf("%d directions", len(rep.Directions))
	}
	for _, d := range rep.Directions {
		if d.Segments != 4 || math.Abs(d.BLEU-100) > 1e-9 || math.Abs(d.CHRFpp-100) > 1e-9 || d.SPBLEU != nil {
			t.Errorf("%s: n=%d BLEU %.2f chrF++ %.2f spBLEU %v; the oracle must score 100 and spBLEU be unavailable", d.Direction, d.Segments, d.BLEU, d.CHRFpp, d.SPBLEU)
		}
	}
	if d := rep.Directions[1]; d.Direction != "eng_Latn-zho_Hans" || d.Tokenize != "zh" || !slices.Equal(d.Groups, []string{"en→X", "X→zh"}) {
		t.Errorf("eng→zho: %+v", d)
	}
	if g := rep.Groups; len(g) != 3 || g[0].Group != "en→X" || g[0].Directions != 2 || g[1].Group != "X→zh" || g[2].Group != "zh→X" {
		t.Errorf("groups %+v", g)
	}
	hyp, _ := os.ReadFile(filepath.Join(out, "hyps", "eng_Latn-zho_Hans.hyp"))
	if string(hyp) != "猫坐在垫子上\n今天下雨\n我们喜欢绿茶\n火车又晚点了\n" {
		t.Errorf("hypothesis file %q", hyp)
	}
	for _, f := range []string{"report.json", "report.md", "heatmap.png"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if !strings.Contains(string(md), "| zho_Hans-deu_Latn | zh→X | 4 | 100.00 | 13a | n/a | 100.00 |") {
		t.Errorf("report.md:\n%s", md)
	}
	// A third run with everything cached translates nothing.
	calls = 0
	if rep, err = RunTranslate(context.Background(), opt); err != nil || calls != 0 {
		t.Fatalf("cached run: %d calls, err %v", calls, err)
	}
	// Another model in the same folder is refused.
	opt.Settings = map[string]string{"model": "other"}
	if _, err := RunTranslate(context.Background(), opt); err == nil || !strings.Contains(err.Error(), "model") {
		t.Fatalf("settings mismatch: err = %v", err)
	}
	// spBLEU with a SentencePiece unigram model (the flores200 model is
	// not in ../shared; a tiny one built here exercises the same path).
	opt.Settings = map[string]string{"model": "oracle"}
	opt.SPMModel = filepath.Join(t.TempDir(), "tiny.model")
	if err := os.WriteFile(opt.SPMModel, tinyUnigramSPM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if rep, err = RunTranslate(context.Background(), opt); err != nil {
		t.Fatal(err)
	}
	for _, d := range rep.Directions {
		if d.SPBLEU == nil || d.Tgt != "zho_Hans" && math.Abs(*d.SPBLEU-100) > 1e-9 {
			// (Chinese lines are one <unk> run each in this vocabulary:
			// no 4-grams, so spBLEU is not 100 there.)
			t.Errorf("%s: spBLEU %v, want 100", d.Direction, d.SPBLEU)
		}
	}
	if rep.SPBLEUNote != "" || rep.Groups[0].SPBLEU == nil {
		t.Errorf("spBLEU note %q, group spBLEU %v", rep.SPBLEUNote, rep.Groups[0].SPBLEU)
	}
}

func TestExpandPairs(t *testing.T) {
	avail := []lang.Language{lang.MustLookup("eng_Latn"), lang.MustLookup("deu_Latn"), lang.MustLookup("zho_Hans")}
	ds, err := ExpandPairs("eng_Latn-*, *-eng_Latn, zho_Hans-*", avail)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ds {
		names = append(names, d.Name())
	}
	want := []string{"eng_Latn-deu_Latn", "eng_Latn-zho_Hans", "deu_Latn-eng_Latn", "zho_Hans-eng_Latn", "zho_Hans-deu_Latn"}
	if !slices.Equal(names, want) {
		t.Fatalf("got %v\nwant %v", names, want)
	}
	for _, bad := range []string{"eng_Latn", "fra_Latn-*", "xxx_Zzzz-*", "eng_Latn-eng_Latn"} {
		if _, err := ExpandPairs(bad, avail); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The run with the real translator on stories260K (the llama2.c file: its
// 512-position context holds a FLORES sentence in the chat prompt, the
// GGUF's 128 does not): two segments in two directions, batched greedy.
func TestTranslateRunWithModel(t *testing.T) {
	l, err := engine.Load(testenv.SharedPath(t, "fixtures", "stories260K", "stories260K.bin"), engine.LoadOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p, err := engine.NewPrompter("auto", l.Info, l.Checkpoint.Tokenizer)
	if err != nil {
		p, err = engine.NewPrompter("bayling-llama2", l.Info, l.Checkpoint.Tokenizer)
		if err != nil {
			t.Fatal(err)
		}
	}
	tr := func(ctx context.Context, from, to lang.Language, segs []string) ([]string, error) {
		x := engine.Translator{Model: l.Model, Tokenizer: l.Checkpoint.Tokenizer, Prompter: p, StopIDs: l.Checkpoint.Stop,
			From: from, To: to, PromptLang: engine.PromptAuto, Beams: 1, MaxTokens: 8}
		return x.Translate(ctx, segs)
	}
	out := t.TempDir()
	opt := TranslateOptions{Data: testenv.SharedPath(t, "evaldata", "flores200"), Split: "dev", Pairs: "eng_Latn-deu_Latn,deu_Latn-eng_Latn",
		Limit: 2, Batch: 2, Out: out, Settings: map[string]string{"model": "stories260K"}, Translate: tr}
	rep, err := RunTranslate(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Translated != 4 || len(rep.Directions) != 2 || rep.Directions[0].Segments != 2 {
		t.Fatalf("report %+v", rep)
	}
	first, _ := os.ReadFile(filepath.Join(out, "hyps", "eng_Latn-deu_Latn.hyp"))
	if strings.Count(string(first), "\n") != 2 {
		t.Fatalf("hyp file %q", first)
	}
}

// tinyUnigramSPM is a SentencePiece ModelProto: <unk>, <s>, </s>, "▁" and
// the letters a-z as pieces of a unigram model with the identity normalizer.
func tinyUnigramSPM() []byte {
	bytesField := func(b []byte, num int, d []byte) []byte {
		b = binary.AppendUvarint(b, uint64(num<<3|2))
		b = binary.AppendUvarint(b, uint64(len(d)))
		return append(b, d...)
	}
	uintField := func(b []byte, num int, v uint64) []byte {
		return binary.AppendUvarint(binary.AppendUvarint(b, uint64(num<<3)), v)
	}
	type piece struct {
		text string
		typ  uint64 // 1 normal, 2 unknown, 3 control
	}
	pieces := []piece{{"<unk>", 2}, {"<s>", 3}, {"</s>", 3}, {"▁", 1}}
	for c := 'a'; c <= 'z'; c++ {
		pieces = append(pieces, piece{string(c), 1})
	}
	var m []byte
	for _, p := range pieces {
		e := bytesField(nil, 1, []byte(p.text))
		e = binary.AppendUvarint(e, 2<<3|5)
		e = binary.LittleEndian.AppendUint32(e, math.Float32bits(-1))
		e = uintField(e, 3, p.typ)
		m = bytesField(m, 1, e)
	}
	m = bytesField(m, 2, uintField(nil, 3, 1)) // trainer_spec.model_type = UNIGRAM
	norm := bytesField(nil, 1, []byte("identity"))
	norm = uintField(norm, 3, 1) // add_dummy_prefix
	return bytesField(m, 3, norm)
}
