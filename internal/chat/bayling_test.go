package chat

import (
	"encoding/json"
	"os"
	"testing"
)

type promptCase struct {
	Template string    `json:"template"`
	Name     string    `json:"name"`
	Messages []Message `json:"messages"`
	AddGen   bool      `json:"add_generation_prompt"`
	Prompt   string    `json:"prompt"`
}

func loadJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// testdata/bayling_prompts.json was written by BayLing's own
// Conversation.get_prompt (ictnlp/BayLing@8f6ecb91, bayling/conversation.py).
func TestBayLingPromptsMatchReference(t *testing.T) {
	var cases []promptCase
	loadJSON(t, "testdata/bayling_prompts.json", &cases)
	if len(cases) < 20 {
		t.Fatalf("only %d cases", len(cases))
	}
	tmpl := map[string]Template{"BayLing": BayLingLlama2{}, "BayLing-3": BayLingLlama3{}}
	for _, c := range cases {
		got, err := tmpl[c.Template].Render(c.Messages, c.AddGen)
		if err != nil {
			t.Errorf("%s/%s: %v", c.Template, c.Name, err)
			continue
		}
		if got != c.Prompt {
			t.Errorf("%s/%s:\n got %q\nwant %q", c.Template, c.Name, got, c.Prompt)
		}
	}
}

// The issue's own example, independent of the fixture file.
func TestBayLingLlama2IssueExample(t *testing.T) {
	got, err := BayLingLlama2{}.Render([]Message{
		{"user", "Hello!"}, {"assistant", "Hi!"}, {"user", "Translate to French: good morning"},
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := "I am an intelligent language assistant developed by the NLP Group of ICT/CAS.\n" +
		"Below is a dialog consisting of instructions and responses. Write a response that completes the request.\n" +
		"\n### Instruction:\nHello!\n### Response:\nHi!</s>\n### Instruction:\nTranslate to French: good morning\n### Response:\n"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestBayLingLlama3Stops(t *testing.T) {
	s := BayLingLlama3{}.Stops()
	if len(s.IDs) != 3 || s.IDs[0] != 2 || s.IDs[1] != 128001 || s.IDs[2] != 128009 {
		t.Fatalf("ids %v", s.IDs)
	}
	if len(s.Strings) != 1 || s.Strings[0] != "<|eot_id|>" {
		t.Fatalf("strings %v", s.Strings)
	}
}

func TestRenderRejectsBadRoles(t *testing.T) {
	bad := [][]Message{
		nil,
		{{"system", "s"}},
		{{"assistant", "a"}},
		{{"user", "a"}, {"user", "b"}},
		{{"user", "a"}, {"system", "b"}},
		{{"user", "a"}, {"assistant", "b"}}, // generation prompt after assistant
	}
	for _, tm := range []Template{BayLingLlama2{}, BayLingLlama3{}, Llama2Chat{}} {
		for i, msgs := range bad {
			if i == len(bad)-1 && tm.Name() == "llama-2-chat" {
				continue // HF's Llama-2 template ignores add_generation_prompt
			}
			if _, err := tm.Render(msgs, true); err == nil {
				t.Errorf("%s case %d: no error", tm.Name(), i)
			}
		}
	}
}

func TestFillTranslation(t *testing.T) {
	if got := FillTranslation(TranslateEn, "French", "a {tgt} b"); got != "Provide the French translation for this sentence: a {tgt} b" {
		t.Errorf("en: %q", got)
	}
	if got := FillTranslation(TranslateZh, "法语", "早上好"); got != "提供这句话的法语翻译：早上好" {
		t.Errorf("zh: %q", got)
	}
}
