package engine

import (
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/chat"
)

// The oldest exchanges go first; the system message and the newest turn stay.
func TestFitDropsOldest(t *testing.T) {
	l := loadStories(t)
	p, err := NewPrompter("bayling-llama2", l.Info, l.Checkpoint.Tokenizer)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []chat.Message{{Role: "system", Content: "Be kind."}}
	for i := range 6 {
		msgs = append(msgs, chat.Message{Role: "user", Content: "question " + strings.Repeat("x", 10*i)},
			chat.Message{Role: "assistant", Content: "answer " + strings.Repeat("y", 10*i)})
	}
	msgs = append(msgs, chat.Message{Role: "user", Content: "last one"})
	all, err := p.Encode(msgs)
	if err != nil {
		t.Fatal(err)
	}
	ids, dropped, err := p.Fit(msgs, len(all))
	if err != nil || dropped != 0 || len(ids) != len(all) {
		t.Fatalf("everything fits: dropped %d, %v", dropped, err)
	}
	ids, dropped, err = p.Fit(msgs, len(all)-1)
	if err != nil || dropped != 2 {
		t.Fatalf("one token short: dropped %d, %v", dropped, err)
	}
	want, _ := p.Encode(append([]chat.Message{msgs[0]}, msgs[3:]...))
	if len(ids) != len(want) {
		t.Fatalf("kept prompt of %d tokens, want %d", len(ids), len(want))
	}
	text := l.Checkpoint.Tokenizer.Decode(ids)
	if !strings.Contains(text, "Be kind.") || !strings.Contains(text, "last one") || strings.Contains(text, "question \n") {
		t.Fatalf("kept %q", text)
	}
	last, _ := p.Encode([]chat.Message{msgs[0], msgs[len(msgs)-1]})
	if _, _, err := p.Fit(msgs, len(last)-1); err == nil {
		t.Fatal("no error when the last turn alone is too long")
	}
	if _, dropped, err := p.Fit(msgs, len(last)); err != nil || dropped != 12 {
		t.Fatalf("only the last turn fits: dropped %d, %v", dropped, err)
	}
}
