package chat

import (
	"fmt"
	"strings"

	"github.com/bayling-go/bayling/internal/chat/jinja"
)

// Jinja renders a model's own chat_template (tokenizer_config.json or GGUF
// tokenizer.chat_template) the way transformers' apply_chat_template does.
type Jinja struct {
	name       string
	tmpl       *jinja.Template
	bos, eos   string
	stops      StopSpec
	rendersBOS bool
	// Vars are extra template variables, such as enable_thinking or tools.
	Vars map[string]any
}

// endOfTurn lists special tokens that chat templates use to close a turn;
// one stops generation when the template writes it and the vocabulary has it.
var endOfTurn = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|end_of_text|>", "<|endoftext|>", "</s>"}

// NewJinja compiles src. bos and eos are the tokenizer's BOS and EOS token
// texts, passed to the template as bos_token and eos_token ("" for none);
// hasToken reports whether the vocabulary has a special token (nil: none).
func NewJinja(name, src, bos, eos string, hasToken func(string) bool) (*Jinja, error) {
	t, err := jinja.Parse(src, jinja.HF)
	if err != nil {
		return nil, fmt.Errorf("chat template %s: %w", name, err)
	}
	j := &Jinja{name: name, tmpl: t, bos: bos, eos: eos}
	if eos != "" {
		j.stops.Tokens = append(j.stops.Tokens, eos)
	}
	for _, tok := range endOfTurn {
		if tok != eos && strings.Contains(src, tok) && hasToken != nil && hasToken(tok) {
			j.stops.Tokens = append(j.stops.Tokens, tok)
		}
	}
	// Whether the text carries BOS is a property of the template; probe it
	// with a one-message conversation, and if the template rejects that,
	// go by whether it mentions bos_token at all.
	if bos != "" {
		out, err := j.Render([]Message{{Role: "user", Content: "x"}}, true)
		if err == nil {
			j.rendersBOS = strings.HasPrefix(out, bos)
		} else {
			j.rendersBOS = strings.Contains(src, "bos_token")
		}
	}
	return j, nil
}

func (j *Jinja) Name() string     { return j.name }
func (j *Jinja) Stops() StopSpec  { return j.stops }
func (j *Jinja) RendersBOS() bool { return j.rendersBOS }

// Render runs the template with messages, add_generation_prompt,
// bos_token, eos_token and Vars.
func (j *Jinja) Render(msgs []Message, addGen bool) (string, error) {
	list := make([]any, len(msgs))
	for i, m := range msgs {
		d := jinja.NewDict()
		d.Set("role", m.Role)
		d.Set("content", m.Content)
		list[i] = d
	}
	return j.render(list, addGen)
}

// RenderJSON renders messages given as a JSON array of message objects,
// keeping fields Message lacks (tool_calls, reasoning_content, content
// parts) and their key order, as an OpenAI-style request carries them.
func (j *Jinja) RenderJSON(messages []byte, addGen bool) (string, error) {
	v, err := jinja.ParseJSON(messages)
	if err != nil {
		return "", fmt.Errorf("chat template %s: messages: %w", j.name, err)
	}
	if _, ok := v.([]any); !ok {
		return "", fmt.Errorf("chat template %s: messages: want a JSON array", j.name)
	}
	return j.render(v, addGen)
}

func (j *Jinja) render(list any, addGen bool) (string, error) {
	vars := map[string]any{}
	for k, v := range j.Vars {
		vars[k] = v
	}
	vars["messages"] = list
	vars["add_generation_prompt"] = addGen
	vars["bos_token"] = j.bos
	vars["eos_token"] = j.eos
	out, err := j.tmpl.Render(vars)
	if err != nil {
		return "", fmt.Errorf("chat template %s: %w", j.name, err)
	}
	return out, nil
}
