package train

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/chat"
	"github.com/bayling-go/bayling/internal/testenv"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

func storiesTokenizer(t *testing.T) tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.Load(testenv.SharedPath(t, "fixtures", "gguf", "stories260K.llamacpp-c392e50.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestEncodeMasksAssistantTurns: the loss tokens of a two-turn
// conversation decode to exactly the two answers, each with its </s>.
func TestEncodeMasksAssistantTurns(t *testing.T) {
	tok := storiesTokenizer(t)
	enc, err := NewEncoder(chat.BayLingLlama2{}, tok)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []chat.Message{
		{Role: "user", Content: "Who is it about?"}, {Role: "assistant", Content: "Tom."},
		{Role: "user", Content: "Where did he go?"}, {Role: "assistant", Content: "To the park."},
	}
	ex, err := enc.Encode(msgs)
	if err != nil {
		t.Fatal(err)
	}
	var spans []string
	var cur []int
	for i, id := range ex.Tokens {
		if ex.Loss[i] {
			cur = append(cur, id)
			continue
		}
		if cur != nil {
			spans = append(spans, tok.Decode(cur))
			cur = nil
		}
	}
	if cur != nil {
		spans = append(spans, tok.Decode(cur))
	}
	if len(spans) != 2 || strings.TrimSpace(spans[0]) != "Tom." || strings.TrimSpace(spans[1]) != "To the park." {
		t.Fatalf("loss spans %q, want the two answers", spans)
	}
	eos := tok.EOS()
	n := 0
	for i, id := range ex.Tokens {
		if id == eos {
			n++
			if !ex.Loss[i] {
				t.Errorf("</s> at %d carries no loss", i)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d EOS tokens, want 2", n)
	}
	if ex.Tokens[0] != tok.BOS() {
		t.Errorf("first token %d, want BOS", ex.Tokens[0])
	}
}

// TestEncoderRejectsSpelledStop: llama2.c's tokenizer.bin has no token
// types, so "</s>" would be spelled out; the encoder must refuse.
func TestEncoderRejectsSpelledStop(t *testing.T) {
	tok, err := tokenizer.LoadLlama2C(testenv.SharedPath(t, "fixtures", "stories260K", "tok512.bin"), 512)
	if err != nil {
		t.Fatal(err)
	}
	got := tok.Encode("</s>", tokenizer.EncodeOptions{ParseSpecial: true})
	if _, err := NewEncoder(chat.BayLingLlama2{}, tok); err == nil && len(got) != 1 {
		t.Fatalf("encoder accepted a tokenizer that encodes </s> as %v", got)
	}
}

func TestStreamSplitAndErrors(t *testing.T) {
	tok := storiesTokenizer(t)
	enc, err := NewEncoder(chat.BayLingLlama2{}, tok)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "a.jsonl")
	var lines []string
	for i := 0; i < 10; i++ {
		if i%2 == 0 {
			lines = append(lines, `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}`)
		} else {
			lines = append(lines, `{"conversations":[{"from":"human","value":"q"},{"from":"gpt","value":"a"}],"system":"s"}`)
		}
	}
	os.WriteFile(good, []byte(strings.Join(lines, "\n")+"\n\n"), 0o644)
	s := &Stream{Files: []string{good}, Enc: enc, EvalEvery: 5}
	count := func(eval bool) int {
		n := 0
		if err := s.Each(eval, func(Example) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if tr, ev := count(false), count(true); tr != 8 || ev != 2 {
		t.Errorf("train/eval split %d/%d, want 8/2", tr, ev)
	}
	bad := filepath.Join(dir, "b.jsonl")
	os.WriteFile(bad, []byte(lines[0]+"\n"+`{"conversations":[{"from":"robot","value":"x"}]}`+"\n"), 0o644)
	s.Files, s.EvalEvery = []string{bad}, 0
	err = s.Each(false, func(Example) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "b.jsonl:2") || !strings.Contains(err.Error(), "robot") {
		t.Errorf("error %v, want b.jsonl:2 and the unknown speaker", err)
	}
	os.WriteFile(bad, []byte(`{"messages": [`), 0o644)
	if err := s.Each(false, func(Example) error { return nil }); err == nil || !strings.Contains(err.Error(), "b.jsonl:1") {
		t.Errorf("truncated JSON: error %v", err)
	}
}

func TestPackerKeepsSequencesApart(t *testing.T) {
	pk := &Packer{B: 2, T: 8, Pad: 0}
	ex := func(n int, first int) Example {
		e := Example{}
		for i := 0; i < n; i++ {
			e.Tokens = append(e.Tokens, first+i)
			e.Loss = append(e.Loss, i >= n/2)
		}
		return e
	}
	pk.Add(ex(5, 10))
	pk.Add(ex(3, 20)) // fills row 0
	pk.Add(ex(6, 30)) // row 1
	pk.Add(ex(4, 40)) // does not fit: completes the batch
	bs := pk.Take()
	if len(bs) != 1 {
		t.Fatalf("%d batches, want 1", len(bs))
	}
	b := bs[0]
	wantPos := []int{0, 1, 2, 3, 4, 0, 1, 2, 0, 1, 2, 3, 4, 5, 0, 0}
	for i, p := range wantPos {
		if b.Pos[i] != p {
			t.Fatalf("pos %v, want %v", b.Pos, wantPos)
		}
	}
	// Targets: next token where that token carries loss, never across a
	// sequence boundary.
	wantT := []int{-1, 12, 13, 14, -1, 21, 22, -1, -1, -1, 33, 34, 35, -1, -1, -1}
	for i, w := range wantT {
		if b.Targets[i] != w {
			t.Fatalf("targets %v, want %v", b.Targets, wantT)
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	f.Add([]byte(`{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}`))
	f.Add([]byte(`{"conversations":[{"from":"human","value":"q"},{"from":"gpt","value":"a"}],"system":"s"}`))
	f.Add([]byte(`{"conversations":[{"from":"x"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := parseRecord(b)
		if err == nil && len(msgs) == 0 {
			t.Fatal("no error and no messages")
		}
	})
}
