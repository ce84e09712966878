package chat

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/testenv"
)

func sharedDir(t testing.TB) string { return testenv.Shared(t) }

// tokenizerConfig reads a tokenizer_config.json from ../shared: its chat
// template and the texts of its added tokens.
func tokenizerConfig(t testing.TB, model string) (tmpl string, has func(string) bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedDir(t), "fixtures", "npm-tokenizers", model, "tokenizer_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ChatTemplate string `json:"chat_template"`
		Added        map[string]struct {
			Content string `json:"content"`
		} `json:"added_tokens_decoder"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	toks := map[string]bool{}
	for _, a := range cfg.Added {
		toks[a.Content] = true
	}
	return cfg.ChatTemplate, func(s string) bool { return toks[s] }
}

func TestSelectAuto(t *testing.T) {
	l3tmpl, l3has := tokenizerConfig(t, "llama3")
	qtmpl, qhas := tokenizerConfig(t, "qwen3")
	spm := func(s string) bool { return s == "<s>" || s == "</s>" || s == "<unk>" }
	cases := []struct {
		info ModelInfo
		want string
	}{
		{ModelInfo{Name: "BayLing-2-7B", Arch: "llama", TokenizerKind: "spm", HasToken: spm}, NameBayLingLlama2},
		{ModelInfo{Name: "bayling-2-llama-3-8b", Arch: "llama", TokenizerKind: "bpe", HasToken: l3has}, NameBayLingLlama3},
		// A BayLing GGUF that inherited the base model's template still gets BayLing's format.
		{ModelInfo{Name: "BayLing 2 Llama 3 8B", TokenizerKind: "bpe", HasToken: l3has, ChatTemplate: l3tmpl, BOS: "<|begin_of_text|>"}, NameBayLingLlama3},
		{ModelInfo{Name: "Meta-Llama-3-8B", TokenizerKind: "bpe", HasToken: l3has, ChatTemplate: l3tmpl, BOS: "<|begin_of_text|>", EOS: "<|end_of_text|>"}, "Meta-Llama-3-8B"},
		{ModelInfo{Name: "Qwen3", TokenizerKind: "bpe", HasToken: qhas, ChatTemplate: qtmpl, EOS: "<|im_end|>"}, "Qwen3"},
		{ModelInfo{Name: "some llama 3", TokenizerKind: "bpe", HasToken: l3has}, NameLlama3Instruct},
	}
	for _, c := range cases {
		tm, err := Select("", c.info)
		if err != nil {
			t.Fatalf("%s: %v", c.info.Name, err)
		}
		if tm.Name() != c.want {
			t.Errorf("%s: got %s want %s", c.info.Name, tm.Name(), c.want)
		}
	}
	for _, info := range []ModelInfo{
		{Name: "stories260K", TokenizerKind: "spm", HasToken: spm},
		{Name: "BayLing-odd", TokenizerKind: "bpe"},
	} {
		if tm, err := Select("auto", info); err == nil {
			t.Errorf("%s: chose %s, want an error", info.Name, tm.Name())
		}
	}
}

func TestSelectByName(t *testing.T) {
	l3tmpl, l3has := tokenizerConfig(t, "llama3")
	info := ModelInfo{Name: "x", TokenizerKind: "bpe", HasToken: l3has, ChatTemplate: l3tmpl, BOS: "<|begin_of_text|>"}
	for _, n := range Names() {
		tm, err := Select(n, info)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if n != NameModelTemplate && tm.Name() != n {
			t.Errorf("%s: got %s", n, tm.Name())
		}
	}
	if _, err := Select("vicuna", info); err == nil {
		t.Error("unknown name accepted")
	}
	if _, err := Select(NameModelTemplate, ModelInfo{Name: "y"}); err == nil {
		t.Error("jinja without a chat_template accepted")
	}
}

func TestJinjaTemplateFacts(t *testing.T) {
	l3tmpl, l3has := tokenizerConfig(t, "llama3")
	j, err := NewJinja("llama3", l3tmpl, "<|begin_of_text|>", "<|end_of_text|>", l3has)
	if err != nil {
		t.Fatal(err)
	}
	if !j.RendersBOS() {
		t.Error("Llama-3 template writes bos_token, RendersBOS false")
	}
	if got := strings.Join(j.Stops().Tokens, " "); got != "<|end_of_text|> <|eot_id|>" {
		t.Errorf("stops %q", got)
	}
	// The base Llama-3 template always opens an assistant turn, so with a
	// generation prompt it must equal Meta's instruct format.
	msgs := []Message{{"system", "Be brief."}, {"user", " Hi "}, {"assistant", "Hello"}, {"user", "Bye"}}
	got, err := j.Render(msgs, true)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Llama3Instruct{}.Render(msgs, true)
	if got != want {
		t.Errorf("\n got %q\nwant %q", got, want)
	}

	qtmpl, qhas := tokenizerConfig(t, "qwen3")
	q, err := NewJinja("qwen3", qtmpl, "", "<|im_end|>", qhas)
	if err != nil {
		t.Fatal(err)
	}
	if q.RendersBOS() {
		t.Error("Qwen3 has no BOS, RendersBOS true")
	}
	q.Vars = map[string]any{"enable_thinking": false}
	got, err = q.Render([]Message{{"user", "Hi"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"; got != want {
		t.Errorf("qwen3: got %q want %q", got, want)
	}
}

// The native Llama-2-chat and Llama-3-instruct formats must equal what
// real Jinja2 renders from Meta's HF templates (jinja/testdata).
func TestNativeLlamaFormatsMatchJinja2(t *testing.T) {
	var ref struct {
		Cases []struct {
			Name   string          `json:"name"`
			Vars   json.RawMessage `json:"vars"`
			Output *string         `json:"output"`
		} `json:"cases"`
	}
	loadJSON(t, "jinja/testdata/reference.json", &ref)
	n := 0
	for _, c := range ref.Cases {
		var tm Template
		switch {
		case strings.HasPrefix(c.Name, "llama2-chat-hf/"):
			tm = Llama2Chat{}
		case strings.HasPrefix(c.Name, "llama3-instruct-hf/"):
			tm = Llama3Instruct{}
		default:
			continue
		}
		n++
		var vars struct {
			Messages []Message `json:"messages"`
			AddGen   bool      `json:"add_generation_prompt"`
		}
		if err := json.Unmarshal(c.Vars, &vars); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		got, err := tm.Render(vars.Messages, vars.AddGen)
		if c.Output == nil {
			if err == nil {
				t.Errorf("%s: no error, Jinja2 raised", c.Name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
		} else if got != *c.Output {
			t.Errorf("%s:\n got %q\nwant %q", c.Name, got, *c.Output)
		}
	}
	if n != 28 {
		t.Fatalf("compared %d cases, want 28", n)
	}
}

func TestJinjaRenderJSONKeepsToolCalls(t *testing.T) {
	qtmpl, qhas := tokenizerConfig(t, "qwen3")
	q, err := NewJinja("qwen3", qtmpl, "", "<|im_end|>", qhas)
	if err != nil {
		t.Fatal(err)
	}
	msgs := `[{"role":"user","content":"Weather?"},
	  {"role":"assistant","content":"","tool_calls":[{"function":{"name":"w","arguments":{"city":"Paris","days":2}}}]},
	  {"role":"tool","content":"sunny"}]`
	got, err := q.RenderJSON([]byte(msgs), true)
	if err != nil {
		t.Fatal(err)
	}
	want := "<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n" +
		`{"name": "w", "arguments": {"city": "Paris", "days": 2}}` +
		"\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\nsunny\n</tool_response><|im_end|>\n<|im_start|>assistant\n"
	if got != want {
		t.Fatalf("\n got %q\nwant %q", got, want)
	}
	for _, bad := range []string{`{"role":"user"}`, `[{"role":`, `[] []`} {
		if _, err := q.RenderJSON([]byte(bad), true); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// Rendering shares only read-only state, so one Template serves many
// requests at once (run with -race).
func TestJinjaConcurrentRender(t *testing.T) {
	qtmpl, qhas := tokenizerConfig(t, "qwen3")
	q, err := NewJinja("qwen3", qtmpl, "", "<|im_end|>", qhas)
	if err != nil {
		t.Fatal(err)
	}
	msgs := benchConversation(3)
	want, err := q.Render(msgs, true)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 20; i++ {
				got, err := q.Render(msgs, true)
				if err == nil && got != want {
					err = fmt.Errorf("got %q", got)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
