package data

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"strings"
)

// ReadInstructions reads an instruction set in Alpaca (JSON array or JSONL:
// instruction/input/output), ShareGPT (conversations of from/value) or OpenAI
// (messages of role/content) form; the form is recognised per record. lang is
// the set's declared language.
func ReadInstructions(path, lang string, bad Reporter) iter.Seq2[Instruction, error] {
	return func(yield func(Instruction, error) bool) {
		rc, err := openText(path)
		if err != nil {
			yield(Instruction{}, err)
			return
		}
		defer rc.Close()
		br := bufio.NewReaderSize(rc, 1<<16)
		first, err := firstNonSpace(br)
		if err == io.EOF {
			return
		}
		if err != nil {
			yield(Instruction{}, fmt.Errorf("%s: %w", path, err))
			return
		}
		emit := func(raw []byte, where string) bool {
			msgs, err := parseInstruction(raw)
			if err != nil {
				bad(where, err)
				return true
			}
			return yield(Instruction{Lang: lang, Messages: msgs, Origin: where}, nil)
		}
		if first == '[' {
			// A JSON array: decode element by element so memory stays bounded.
			dec := json.NewDecoder(br)
			if _, err := dec.Token(); err != nil {
				yield(Instruction{}, fmt.Errorf("%s: %w", path, err))
				return
			}
			for i := 1; dec.More(); i++ {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					yield(Instruction{}, fmt.Errorf("%s: element %d (byte %d): %w", path, i, dec.InputOffset(), err))
					return
				}
				if !emit(raw, fmt.Sprintf("%s:#%d", path, i)) {
					return
				}
			}
			return
		}
		sc := bufio.NewScanner(br)
		sc.Buffer(make([]byte, 0, 1<<16), maxLine)
		for n := 1; sc.Scan(); n++ {
			line := sc.Bytes()
			if len(strings.TrimSpace(string(line))) == 0 {
				continue
			}
			if !emit(line, fmt.Sprintf("%s:%d", path, n)) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(Instruction{}, fmt.Errorf("%s: %w", path, err))
		}
	}
}

func firstNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if b == 0xEF { // UTF-8 BOM
			br.ReadByte()
			br.ReadByte()
			continue
		}
		if !strings.ContainsRune(" \t\r\n", rune(b)) {
			return b, br.UnreadByte()
		}
	}
}

type rawInstruction struct {
	Instruction   *string `json:"instruction"`
	Input         string  `json:"input"`
	Output        *string `json:"output"`
	System        string  `json:"system"`
	Conversations []struct {
		From  string `json:"from"`
		Value string `json:"value"`
	} `json:"conversations"`
	Messages []Message `json:"messages"`
}

var shareGPTRoles = map[string]string{
	"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
	"chatgpt": "assistant", "bing": "assistant", "bard": "assistant", "system": "system",
}

func parseInstruction(raw []byte) ([]Message, error) {
	var r rawInstruction
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	var msgs []Message
	switch {
	case r.Messages != nil:
		msgs = r.Messages
	case r.Conversations != nil:
		for i, c := range r.Conversations {
			role, ok := shareGPTRoles[strings.ToLower(c.From)]
			if !ok {
				return nil, fmt.Errorf("conversations[%d]: unknown speaker %q", i, c.From)
			}
			msgs = append(msgs, Message{Role: role, Content: c.Value})
		}
	case r.Instruction != nil && r.Output != nil:
		user := *r.Instruction
		if strings.TrimSpace(r.Input) != "" {
			user += "\n" + r.Input
		}
		if r.System != "" {
			msgs = append(msgs, Message{Role: "system", Content: r.System})
		}
		msgs = append(msgs, Message{Role: "user", Content: user}, Message{Role: "assistant", Content: *r.Output})
	default:
		return nil, fmt.Errorf("not an instruction record: want messages, conversations, or instruction+output")
	}
	return msgs, validateTurns(msgs)
}

// validateTurns checks the shape trainers expect: an optional system turn,
// then user/assistant alternating, ending with the assistant.
func validateTurns(msgs []Message) error {
	i := 0
	if len(msgs) > 0 && msgs[0].Role == "system" {
		i = 1
	}
	if len(msgs)-i < 2 {
		return fmt.Errorf("want at least one user and one assistant turn, got %d turns", len(msgs)-i)
	}
	for j, m := range msgs[i:] {
		want := "user"
		if j%2 == 1 {
			want = "assistant"
		}
		if m.Role != want {
			return fmt.Errorf("turn %d: role %q, want %q", i+j, m.Role, want)
		}
		if strings.TrimSpace(m.Content) == "" {
			return fmt.Errorf("turn %d: empty %s message", i+j, m.Role)
		}
	}
	if msgs[len(msgs)-1].Role != "assistant" {
		return fmt.Errorf("last turn is %q, want assistant", msgs[len(msgs)-1].Role)
	}
	return nil
}
