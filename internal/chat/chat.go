// Package chat turns a conversation into the prompt text a model was trained
// on, and post-processes what the model writes back.
//
// Rendering produces text only. The caller must encode it with special-token
// text parsed (so "</s>" becomes EOS and "<|eot_id|>" its own id), and add the
// tokenizer's BOS exactly once: when Template.RendersBOS is true the text
// already starts with the BOS text (HF chat templates write bos_token
// themselves) and the caller must not add another.
package chat

import "fmt"

// Message is one turn of a conversation. Role is "system", "user" or
// "assistant" (Jinja templates may accept others, such as "tool").
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// StopSpec says when generation in a template's format is finished.
type StopSpec struct {
	// Strings end the output when they appear in the decoded text; the
	// match and everything after it is dropped.
	Strings []string
	// Tokens are special-token texts ("</s>", "<|eot_id|>") whose ids stop
	// generation; the caller maps them with the tokenizer and skips any the
	// vocabulary lacks. The tokenizer's EOS always stops too.
	Tokens []string
	// IDs are extra stop ids fixed by a model's own serving code, valid only
	// for that model's vocabulary.
	IDs []int
}

// Template renders a conversation in one prompt format.
type Template interface {
	Name() string
	// Render returns the prompt for msgs. With addGenerationPrompt the text
	// ends with an open assistant turn for the model to complete.
	Render(msgs []Message, addGenerationPrompt bool) (string, error)
	Stops() StopSpec
	// RendersBOS reports whether the rendered text begins with the BOS
	// token's text, in which case the caller must not add BOS again.
	RendersBOS() bool
}

// checkAlternation enforces user/assistant/user/... after an optional
// leading system message, ending on a user turn when a generation prompt is
// wanted. It returns the messages after the system one and the system text.
func checkAlternation(name string, msgs []Message, addGen bool) (body []Message, system string, hasSystem bool, err error) {
	body = msgs
	if len(body) > 0 && body[0].Role == "system" {
		system, hasSystem = body[0].Content, true
		body = body[1:]
	}
	for i, m := range body {
		want := "user"
		if i%2 == 1 {
			want = "assistant"
		}
		if m.Role != want {
			return nil, "", false, fmt.Errorf("chat %s: message %d: role %q, want %q (roles must alternate user/assistant after an optional leading system message)", name, i+len(msgs)-len(body), m.Role, want)
		}
	}
	if len(body) == 0 {
		return nil, "", false, fmt.Errorf("chat %s: no user message", name)
	}
	if addGen && len(body)%2 == 0 {
		return nil, "", false, fmt.Errorf("chat %s: generation prompt requested but the last message is from the assistant", name)
	}
	return body, system, hasSystem, nil
}
