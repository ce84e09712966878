package chat

import (
	"strings"

	"github.com/bayling-go/bayling/internal/chat/jinja"
)

// BayLing's two prompt formats. The rules follow the "BayLing" and
// "BayLing-3" templates (SeparatorStyle.BAYLING and .LLAMA3) in
// bayling/conversation.py of github.com/ictnlp/BayLing at commit 8f6ecb91;
// testdata/bayling_prompts.json holds that code's own output.
const (
	bayLing2System = "I am an intelligent language assistant developed by the NLP Group of ICT/CAS.\n" +
		"Below is a dialog consisting of instructions and responses. Write a response that completes the request.\n"
	bayLing3System = "I am BayLing developed by the NLP Group of ICT/CAS."

	l3Header = "<|start_header_id|>"
	l3EndHdr = "<|end_header_id|>\n\n"
	l3EOT    = "<|eot_id|>"
)

// BayLing's translation requests (its evaluation scripts and demo), as user
// messages: {tgt} is the target language's name in the instruction's
// language, {src} the segment. FillTranslation renders one.
const (
	TranslateEn = "Provide the {tgt} translation for this sentence: {src}"
	TranslateZh = "提供这句话的{tgt}翻译：{src}"
)

// FillTranslation replaces {tgt} and {src} in tmpl in one pass, so braces
// inside the segment stay as they are.
func FillTranslation(tmpl, tgt, src string) string {
	return strings.NewReplacer("{tgt}", tgt, "{src}", src).Replace(tmpl)
}

// BayLingLlama2 is the format of the Llama-2-based BayLing models.
type BayLingLlama2 struct{}

func (BayLingLlama2) Name() string     { return "bayling-llama2" }
func (BayLingLlama2) RendersBOS() bool { return false }
func (BayLingLlama2) Stops() StopSpec  { return StopSpec{Tokens: []string{"</s>"}} }

// Render writes the system text, a blank line, then "### Instruction:\n" +
// user + "\n" and "### Response:\n" + assistant + "</s>\n" per turn. As in
// BayLing's code an empty message renders as its bare role header and
// contents are not stripped. A leading system message replaces the default
// system text (with the same trailing newline added).
func (t BayLingLlama2) Render(msgs []Message, addGen bool) (string, error) {
	body, system, hasSystem, err := checkAlternation(t.Name(), msgs, addGen)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if hasSystem {
		b.WriteString(system + "\n")
	} else {
		b.WriteString(bayLing2System)
	}
	b.WriteString("\n")
	for i, m := range body {
		if i%2 == 0 {
			b.WriteString("### Instruction:\n")
			if m.Content != "" {
				b.WriteString(m.Content + "\n")
			}
			continue
		}
		b.WriteString("### Response:\n")
		if m.Content != "" {
			b.WriteString(m.Content + "</s>\n")
		}
	}
	if addGen {
		b.WriteString("### Response:\n")
	}
	return b.String(), nil
}

// BayLingLlama3 is the format of the Llama-3-based BayLing 2 model.
type BayLingLlama3 struct{}

func (BayLingLlama3) Name() string     { return "bayling-llama3" }
func (BayLingLlama3) RendersBOS() bool { return false }

// Stops mirrors BayLing's stop_str and stop_token_ids. Id 2 is Llama-2's EOS
// kept by BayLing's code; in the Llama-3 vocabulary it is the plain token "#".
func (BayLingLlama3) Stops() StopSpec {
	return StopSpec{
		Strings: []string{l3EOT},
		Tokens:  []string{l3EOT, "<|end_of_text|>"},
		IDs:     []int{2, 128001, 128009},
	}
}

// Render writes the fixed system turn, then for each message its header and
// its content stripped of surrounding whitespace, closed by <|eot_id|>. An
// empty message renders as its bare header, as in BayLing's code; a
// whitespace-only one renders as an empty closed turn. A leading system
// message replaces the system text (not stripped, like BayLing's).
func (t BayLingLlama3) Render(msgs []Message, addGen bool) (string, error) {
	body, system, hasSystem, err := checkAlternation(t.Name(), msgs, addGen)
	if err != nil {
		return "", err
	}
	if !hasSystem {
		system = bayLing3System
	}
	var b strings.Builder
	b.WriteString(l3Header + "system" + l3EndHdr + system + l3EOT)
	for i, m := range body {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		b.WriteString(l3Header + role + l3EndHdr)
		if m.Content != "" {
			b.WriteString(jinja.Strip(m.Content) + l3EOT)
		}
	}
	if addGen {
		b.WriteString(l3Header + "assistant" + l3EndHdr)
	}
	return b.String(), nil
}
