package chat

import (
	"fmt"
	"testing"
)

func benchConversation(turns int) []Message {
	var msgs []Message
	for i := 0; i < turns; i++ {
		msgs = append(msgs, Message{"user", fmt.Sprintf("Translate sentence %d into French, please.", i)},
			Message{"assistant", fmt.Sprintf("Voici la phrase %d en français.", i)})
	}
	return append(msgs, Message{"user", "Thanks!"})
}

func BenchmarkBayLingLlama3Render(b *testing.B) {
	msgs := benchConversation(20)
	for b.Loop() {
		if _, err := (BayLingLlama3{}).Render(msgs, true); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJinjaQwen3Render(b *testing.B) {
	tmpl, has := tokenizerConfig(b, "qwen3")
	j, err := NewJinja("qwen3", tmpl, "", "<|im_end|>", has)
	if err != nil {
		b.Fatal(err)
	}
	msgs := benchConversation(20)
	for b.Loop() {
		if _, err := j.Render(msgs, true); err != nil {
			b.Fatal(err)
		}
	}
}
