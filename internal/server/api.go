package server

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bayling-go/bayling/internal/chat"
)

// apiError is OpenAI's error object.
type apiError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

type errorBody struct {
	Error apiError `json:"error"`
}

// httpError is an error with its HTTP status and OpenAI fields.
type httpError struct {
	status int
	apiError
}

func (e *httpError) Error() string { return e.Message }

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func invalid(param, code, format string, args ...any) *httpError {
	return &httpError{400, apiError{Message: fmt.Sprintf(format, args...), Type: "invalid_request_error", Param: strp(param), Code: strp(code)}}
}

// stopField is OpenAI's stop: a string or a list of strings.
type stopField []string

func (s *stopField) UnmarshalJSON(b []byte) error {
	var one *string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = nil
		if one != nil {
			*s = stopField{*one}
		}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("stop: want a string or a list of strings")
	}
	*s = many
	return nil
}

// content is a message's content: a string or a list of parts, of which
// only text parts are understood.
type content string

func (c *content) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err == nil {
		if s != nil {
			*c = content(*s)
		}
		return nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &parts); err != nil {
		return fmt.Errorf("content: want a string or a list of content parts")
	}
	var sb strings.Builder
	for i, p := range parts {
		if p.Type != "text" {
			return fmt.Errorf("content part %d: type %q not supported (only text)", i, p.Type)
		}
		sb.WriteString(p.Text)
	}
	*c = content(sb.String())
	return nil
}

type message struct {
	Role    string  `json:"role"`
	Content content `json:"content"`
}

// sampling holds the request fields shared by both completion endpoints.
type sampling struct {
	Model               string    `json:"model"`
	Stream              bool      `json:"stream"`
	MaxTokens           *int      `json:"max_tokens"`
	MaxCompletionTokens *int      `json:"max_completion_tokens"`
	Temperature         *float64  `json:"temperature"`
	TopP                *float64  `json:"top_p"`
	Seed                *int64    `json:"seed"`
	Stop                stopField `json:"stop"`
	N                   *int      `json:"n"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

type chatRequest struct {
	sampling
	Messages []message `json:"messages"`
}

func (r *chatRequest) chatMessages() ([]chat.Message, error) {
	if len(r.Messages) == 0 {
		return nil, invalid("messages", "", "messages: at least one message is required")
	}
	out := make([]chat.Message, len(r.Messages))
	for i, m := range r.Messages {
		switch m.Role {
		case "system", "user", "assistant", "developer":
		default:
			return nil, invalid(fmt.Sprintf("messages[%d].role", i), "", "messages[%d].role: %q is not supported (system, user, assistant)", i, m.Role)
		}
		role := m.Role
		if role == "developer" {
			role = "system"
		}
		out[i] = chat.Message{Role: role, Content: string(m.Content)}
	}
	return out, nil
}

// promptField is /v1/completions' prompt: a string, a list of one string,
// a list of token ids, or a list of one list of token ids.
type promptField struct {
	text string
	ids  []int
}

func (p *promptField) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		p.text = s
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err == nil {
		if len(ss) != 1 {
			return fmt.Errorf("prompt: %d prompts given; only one per request is supported", len(ss))
		}
		p.text = ss[0]
		return nil
	}
	var ids []int
	if err := json.Unmarshal(b, &ids); err == nil {
		p.ids = ids
		return nil
	}
	var idss [][]int
	if err := json.Unmarshal(b, &idss); err == nil && len(idss) == 1 {
		p.ids = idss[0]
		return nil
	}
	return fmt.Errorf("prompt: want a string or a list of token ids")
}

type completionRequest struct {
	sampling
	Prompt *promptField `json:"prompt"`
	Echo   bool         `json:"echo"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type chatChoice struct {
	Index        int       `json:"index"`
	Message      *message  `json:"message,omitempty"`
	Delta        *delta    `json:"delta,omitempty"`
	FinishReason *string   `json:"finish_reason"`
	Logprobs     *struct{} `json:"logprobs"`
}

type delta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

type chatResponse struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   *usage       `json:"usage,omitempty"`
}

type completionChoice struct {
	Text         string    `json:"text"`
	Index        int       `json:"index"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

type completionResponse struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   *usage             `json:"usage,omitempty"`
}

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

type modelList struct {
	Object string        `json:"object"`
	Data   []modelObject `json:"data"`
}

// translateRequest is the web page's translation call.
type translateRequest struct {
	sampling
	Text   string `json:"text"`
	Source string `json:"source"`
	Target string `json:"target"`
	Prompt string `json:"prompt_language"` // en, zh or auto
}
