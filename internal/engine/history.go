package engine

import (
	"fmt"

	"github.com/bayling-go/bayling/internal/chat"
)

// Fit renders a conversation (an optional leading system message, then
// user/assistant turns ending with a user turn) into at most budget prompt
// tokens by dropping the oldest user/assistant exchanges. It returns the
// prompt ids and how many leading messages (after the system one) were
// dropped. If even the last user turn alone does not fit, it fails.
func (p *Prompter) Fit(msgs []chat.Message, budget int) ([]int, int, error) {
	var sys []chat.Message
	body := msgs
	if len(body) > 0 && body[0].Role == "system" {
		sys, body = body[:1], body[1:]
	}
	for dropped := 0; ; dropped += 2 {
		ids, err := p.Encode(append(append([]chat.Message(nil), sys...), body[dropped:]...))
		if err != nil {
			return nil, 0, err
		}
		if len(ids) <= budget {
			return ids, dropped, nil
		}
		if dropped+2 >= len(body) {
			return nil, 0, fmt.Errorf("chat: the last message alone needs %d prompt tokens; the context leaves %d", len(ids), budget)
		}
	}
}
