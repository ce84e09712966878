package eval

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/testenv"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

// directLogLikelihood scores cont after ctxText without the Scorer: both
// encodings straight from the tokenizer, then one token at a time through a
// fresh state, log-softmax of each position's logits in float64.
func directLogLikelihood(t *testing.T, s *Scorer, ctxText, cont string) float64 {
	t.Helper()
	tok := s.tok
	ctxIDs := tok.Encode(ctxText, tokenizer.EncodeOptions{})
	whole := tok.Encode(ctxText+cont, tokenizer.EncodeOptions{})
	st, err := s.m.NewState(len(whole))
	if err != nil {
		t.Fatal(err)
	}
	ll := 0.0
	for p := 0; p < len(whole)-1; p++ {
		logits, err := st.Forward(whole[p : p+1])
		if err != nil {
			t.Fatal(err)
		}
		if p+1 < len(ctxIDs) {
			continue
		}
		mx := math.Inf(-1)
		for _, v := range logits {
			mx = math.Max(mx, float64(v))
		}
		sum := 0.0
		for _, v := range logits {
			sum += math.Exp(float64(v) - mx)
		}
		ll += float64(logits[whole[p+1]]) - mx - math.Log(sum)
	}
	return ll
}

func TestXCOPALogLikelihoodsMatchDirectComputation(t *testing.T) {
	l := loadStories(t)
	dir := testenv.SharedPath(t, "evaldata", "xcopa")
	subs, err := LoadTask("xcopa", dir, []string{"it", "zh", "sw"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewScorer(l.Model, l.Checkpoint.Tokenizer, false)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, sub := range subs {
		for _, d := range sub.Docs[:4] {
			lls, err := ScoreDoc(context.Background(), s, d.Text, d)
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range d.Choices {
				cx, cont := s.Split(d.Text, " "+c)
				if len(cx)+len(cont) > s.st.Context() {
					continue // left-truncated by the harness rule; not comparable position by position
				}
				want := directLogLikelihood(t, s, d.Text, " "+c)
				if math.Abs(lls[i]-want) > 1e-4 {
					t.Errorf("%s %q choice %d: scorer %.6f, direct %.6f", sub.Name, d.Text, i, lls[i], want)
				}
				checked++
			}
		}
	}
	if checked < 16 {
		t.Fatalf("only %d choices compared", checked)
	}
}

func TestXCOPAPrompt(t *testing.T) {
	dir := testenv.SharedPath(t, "evaldata", "xcopa")
	subs, err := LoadTask("xcopa", dir, []string{"it"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(subs[0].Docs) != 500 || len(subs[0].FewShot) != 100 {
		t.Fatalf("it: %d test, %d val docs; want 500 and 100", len(subs[0].Docs), len(subs[0].FewShot))
	}
	// data/it/test.it.jsonl line 1: premise "L'oggetto era incartato nella
	// plastica bollata.", question cause, choice1 "Era delicato.", choice2 "Era piccolo.", label 0.
	d := subs[0].Docs[0]
	if d.Text != "L'oggetto era incartato nella plastica bollata perché" || d.Choices[0] != "era delicato." || d.Choices[1] != "era piccolo." || d.Gold != 0 {
		t.Fatalf("doc 0 = %+v", d)
	}
}

func TestSplitMovesTrailingSpace(t *testing.T) {
	l := loadStories(t)
	s, err := NewScorer(l.Model, l.Checkpoint.Tokenizer, false)
	if err != nil {
		t.Fatal(err)
	}
	tok := l.Checkpoint.Tokenizer
	// "Once upon a " + "time" is scored as "Once upon a" + " time".
	cx, cont := s.Split("Once upon a ", "time")
	wantCtx := tok.Encode("Once upon a", tokenizer.EncodeOptions{})
	wantCont := tok.Encode("Once upon a time", tokenizer.EncodeOptions{})[len(wantCtx):]
	if !equalInts(cx, wantCtx) || !equalInts(cont, wantCont) {
		t.Fatalf("split = %v | %v, want %v | %v", cx, cont, wantCtx, wantCont)
	}
	// An empty context is BOS (the harness's prefix_token_id).
	cx, _ = s.Split("", "Once")
	if len(cx) != 1 || cx[0] != tok.BOS() {
		t.Fatalf("empty context = %v, want [BOS]", cx)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPredictTiesAndNorm(t *testing.T) {
	p, pn := Predict([]float64{-2, -2}, []string{"ab", "ab"})
	if p != 0 || pn != 0 {
		t.Fatalf("tie -> %d, %d; want the first choice", p, pn)
	}
	// acc picks the higher sum, acc_norm the higher per-character value.
	p, pn = Predict([]float64{-3, -4}, []string{"a", "abcd"})
	if p != 0 || pn != 1 {
		t.Fatalf("pred %d, norm %d; want 0 and 1", p, pn)
	}
	// Characters, not bytes: "日本" is 2 characters.
	_, pn = Predict([]float64{-2.1, -3}, []string{"日本", "abc"})
	if pn != 1 {
		t.Fatalf("norm %d; -2.1/2 < -3/3 so choice 1", pn)
	}
}

func TestFewShotContextAndSampling(t *testing.T) {
	few := []Doc{
		{Text: "q0", Choices: []string{"a", "b"}, Gold: 1},
		{Text: "q1", Choices: []string{"c", "d"}, Gold: 0},
		{Text: "q2", Choices: []string{"e", "f"}, Gold: 1},
		{Text: "q3", Choices: []string{"g", "h"}, Gold: 0},
		{Text: "q4", Choices: []string{"i", "j"}, Gold: 0},
	}
	doc := Doc{Text: "Q", Choices: []string{"x", "y"}}
	sub := &Subset{Name: "t", FewShot: few, Sampler: SamplerRandom}
	rnd := NewPyRandom(42)
	ex, err := pickShots(sub, doc, rnd, 2)
	if err != nil {
		t.Fatal(err)
	}
	// random.Random(42).sample(range(5), 2) == [0, 4] in CPython.
	if got := FewShotContext(doc, ex); got != "q0 b\n\nq4 i\n\nQ" {
		t.Fatalf("context %q", got)
	}
	// first_n with the evaluated split: one extra drawn, the doc itself dropped.
	sub = &Subset{Name: "t", FewShot: few, Sampler: SamplerFirstN, DrawExtra: true}
	ex, err = pickShots(sub, few[1], nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := FewShotContext(few[1], ex); got != "q0 b\n\nq2 f\n\nq1" {
		t.Fatalf("first_n context %q", got)
	}
	if _, err := pickShots(sub, doc, nil, 5); err == nil {
		t.Fatal("6 examples drawn from 5")
	}
}

// Fixture files follow the Hugging Face datasets' published fields:
// facebook/xnli (premise, hypothesis, label), juletxara/xstory_cloze
// (input_sentence_1..4, sentence_quiz1/2, answer_right_ending),
// facebook/belebele (flores_passage, question, mc_answer1..4,
// correct_answer_num as a string), alexandrainst/m_arc and m_mmlu
// (instruction, option_a..e, answer letter), alexandrainst/m_hellaswag
// (activity_label, ctx_a, ctx_b, endings, label as a string). The
// hellaswag ending keeps a leading space: the harness strips before it
// deletes "[header]".
func TestTaskLoadersOnFixtures(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("xnli/de/validation.jsonl", `{"premise":"Er kam spät.","hypothesis":"Er war pünktlich.","label":2}`+"\n")
	write("xstorycloze/en/eval.jsonl", `{"story_id":"x","input_sentence_1":"A.","input_sentence_2":"B.","input_sentence_3":"C.","input_sentence_4":"D.","sentence_quiz1":"E1.","sentence_quiz2":"E2.","answer_right_ending":2}`+"\n")
	write("belebele/eng_Latn/test.jsonl", `{"link":"l","question_number":1,"flores_passage":"Pass.","question":" Why? ","mc_answer1":"a","mc_answer2":"b","mc_answer3":"c","mc_answer4":"d","correct_answer_num":"3","dialect":"eng_Latn","ds":"2023-05-03"}`+"\n")
	write("m_arc/fr/test.jsonl", `{"id":"1","answer":"B","instruction":"Pourquoi ?","option_a":"x","option_b":"y","option_c":"z","option_d":"w","option_e":null}`+"\n")
	write("m_mmlu/fr/test.jsonl", `{"id":"1","answer":"D","instruction":" Quoi ?\n","option_a":"1","option_b":"2","option_c":"3","option_d":"4"}`+"\n")
	write("m_hellaswag/fr/validation.jsonl", `{"ind":1,"activity_label":"Cuisine","ctx_a":"Un homme coupe.","ctx_b":"il MET du sel","endings":["[header] Fin un.","fin  deux [title] x"],"label":"1","split":"val"}`+"\n")
	cases := []struct {
		task, subset string
		want         Doc
	}{
		{"xnli", "de", Doc{Text: "Er kam spät., richtig?", Choices: []string{"Ja, Er war pünktlich.", "Auch, Er war pünktlich.", "Nein, Er war pünktlich."}, Gold: 2}},
		{"xstorycloze", "en", Doc{Text: "A. B. C. D.", Choices: []string{"E1.", "E2."}, Gold: 1}},
		{"belebele", "eng_Latn", Doc{Text: "P: Pass.\nQ: Why?\nA: a\nB: b\nC: c\nD: d\nAnswer：", Choices: []string{"A", "B", "C", "D"}, Gold: 2}},
		{"m_arc", "fr", Doc{Text: "Question: Pourquoi ?\nAnswer:", Choices: []string{"x", "y", "z", "w"}, Gold: 1}},
		{"m_mmlu", "fr", Doc{Text: "Quoi ?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer:", Choices: []string{"A", "B", "C", "D"}, Gold: 3}},
		{"m_hellaswag", "fr", Doc{Text: "Cuisine: Un homme coupe. Il met du sel", Choices: []string{" Fin un.", "fin deux. x"}, Gold: 1}},
	}
	for _, c := range cases {
		subs, err := LoadTask(c.task, filepath.Join(dir, c.task), []string{c.subset}, 0)
		if err != nil {
			t.Fatalf("%s: %v", c.task, err)
		}
		if got := subs[0].Docs[0]; !sameDoc(got, c.want) {
			t.Errorf("%s: got %q %q gold %d\nwant %q %q gold %d", c.task, got.Text, got.Choices, got.Gold, c.want.Text, c.want.Choices, c.want.Gold)
		}
	}
	// Errors name file, line and field.
	write("bad/xnli/de/validation.jsonl", `{"premise":"p","hypothesis":"h","label":0}`+"\n"+`{"premise":"p","label":1}`+"\n")
	_, err := LoadTask("xnli", filepath.Join(dir, "bad", "xnli"), []string{"de"}, 0)
	if err == nil || !strings.Contains(err.Error(), "validation.jsonl:2") || !strings.Contains(err.Error(), `"hypothesis"`) {
		t.Fatalf("missing field error = %v", err)
	}
	write("bad/xnli/fr/validation.jsonl", `{"premise":"p","hypothesis":"h","label":7}`+"\n")
	if _, err := LoadTask("xnli", filepath.Join(dir, "bad", "xnli"), []string{"fr"}, 0); err == nil || !strings.Contains(err.Error(), "gold 7") {
		t.Fatalf("label out of range error = %v", err)
	}
	if _, err := LoadTask("nope", dir, nil, 0); err == nil {
		t.Fatal("unknown task accepted")
	}
}

// Input longer than the context is cut on the left as the harness does:
// the scored window is the last 129 tokens of context+continuation.
func TestLogLikelihoodLeftTruncation(t *testing.T) {
	l := loadStories(t)
	s, err := NewScorer(l.Model, l.Checkpoint.Tokenizer, false)
	if err != nil {
		t.Fatal(err)
	}
	ctxText := strings.Repeat("Lily and Ben went to the park to play with a ball. ", 12) + "Then they"
	cont := " went home."
	cx, co := s.Split(ctxText, cont)
	whole := append(append([]int{}, cx...), co...)
	n := s.st.Context()
	if len(whole) <= n+1 {
		t.Fatalf("test text only %d tokens; need more than %d", len(whole), n+1)
	}
	got, _, err := s.LogLikelihood(context.Background(), ctxText, cont)
	if err != nil {
		t.Fatal(err)
	}
	win := whole[len(whole)-n-1:]
	st, err := l.Model.NewState(n)
	if err != nil {
		t.Fatal(err)
	}
	want := 0.0
	for p := 0; p < n; p++ {
		logits, err := st.Forward(win[p : p+1])
		if err != nil {
			t.Fatal(err)
		}
		if p < n-len(co) {
			continue
		}
		lp, _ := logSoftmax64(logits, win[p+1])
		want += lp
	}
	if math.Abs(got-want) > 1e-4 {
		t.Fatalf("truncated window: scorer %.6f, direct %.6f", got, want)
	}
}
