package chat

import (
	"strings"

	"github.com/bayling-go/bayling/internal/chat/jinja"
)

// Llama2Chat is Meta's Llama-2-chat format, byte for byte what the
// chat_template of meta-llama/Llama-2-*-chat-hf renders: every user turn
// opens with "<s>[INST] ", the system text sits in <<SYS>> inside the first
// user turn, and every assistant turn ends with " </s>".
type Llama2Chat struct{}

func (Llama2Chat) Name() string     { return "llama-2-chat" }
func (Llama2Chat) RendersBOS() bool { return true }
func (Llama2Chat) Stops() StopSpec  { return StopSpec{Tokens: []string{"</s>"}} }

// Render follows the HF template; like it, it ignores addGenerationPrompt,
// because the format's open assistant turn is simply the end of "[/INST]".
func (t Llama2Chat) Render(msgs []Message, _ bool) (string, error) {
	body, system, hasSystem, err := checkAlternation(t.Name(), msgs, false)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i, m := range body {
		content := m.Content
		if i == 0 && hasSystem {
			content = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + content
		}
		if i%2 == 0 {
			b.WriteString("<s>[INST] " + jinja.Strip(content) + " [/INST]")
		} else {
			b.WriteString(" " + jinja.Strip(content) + " </s>")
		}
	}
	return b.String(), nil
}

// Llama3Instruct is Meta's Llama-3-instruct format, byte for byte what the
// chat_template of meta-llama/Meta-Llama-3-8B-Instruct renders, including
// the leading <|begin_of_text|>.
type Llama3Instruct struct{}

func (Llama3Instruct) Name() string     { return "llama-3-instruct" }
func (Llama3Instruct) RendersBOS() bool { return true }
func (Llama3Instruct) Stops() StopSpec {
	return StopSpec{Tokens: []string{l3EOT, "<|end_of_text|>"}}
}

// Render accepts any roles in any order, as the HF template does.
func (Llama3Instruct) Render(msgs []Message, addGen bool) (string, error) {
	var b strings.Builder
	for i, m := range msgs {
		if i == 0 {
			b.WriteString("<|begin_of_text|>")
		}
		b.WriteString(l3Header + m.Role + l3EndHdr + jinja.Strip(m.Content) + l3EOT)
	}
	if addGen {
		b.WriteString(l3Header + "assistant" + l3EndHdr)
	}
	return b.String(), nil
}
