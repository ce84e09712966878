package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/bayling-go/bayling/internal/chat"
	"github.com/bayling-go/bayling/internal/lang"
	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

// Instruction languages of BayLing's translation prompts.
const (
	PromptEnglish = "en"
	PromptChinese = "zh"
	PromptAuto    = "auto" // Chinese when the source is Chinese
)

// TranslationInstruction is BayLing's translation request for one
// segment, as a user message: chat.TranslateEn or, in Chinese,
// chat.TranslateZh.
// Simplified Chinese is named "Chinese" / "中文" as in BayLing's prompts.
func TranslationInstruction(src string, from, to lang.Language, promptLang string) (string, error) {
	zh := false
	switch promptLang {
	case PromptEnglish:
	case PromptChinese:
		zh = true
	case PromptAuto, "":
		zh = from.ISO639_3 == "zho"
	default:
		return "", fmt.Errorf("translate: prompt language %q (want en, zh or auto)", promptLang)
	}
	if zh {
		return chat.FillTranslation(chat.TranslateZh, nameZh(to), src), nil
	}
	return chat.FillTranslation(chat.TranslateEn, nameEn(to), src), nil
}

func nameEn(l lang.Language) string {
	if l.Code == "zho_Hans" {
		return "Chinese"
	}
	return l.Name
}

func nameZh(l lang.Language) string {
	switch {
	case l.Code == "zho_Hans":
		return "中文"
	case l.NameZh == "":
		return l.Name
	}
	return l.NameZh
}

// CleanTranslation makes a model's answer one line: surrounding space
// dropped, inner line breaks turned into spaces, so output stays aligned
// with input lines.
func CleanTranslation(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// Translator translates segments with BayLing's instruction in the model's
// chat format, several segments per batched beam search.
type Translator struct {
	Model      *llama.Model
	Tokenizer  tokenizer.Tokenizer
	Prompter   *Prompter
	StopIDs    []int // the checkpoint's end-of-generation ids
	From, To   lang.Language
	PromptLang string // PromptEnglish, PromptChinese or PromptAuto
	Beams      int    // 1 = greedy
	MaxTokens  int    // per segment
}

// Translate returns one cleaned, single-line translation per segment.
func (t *Translator) Translate(ctx context.Context, segs []string) ([]string, error) {
	prompts := make([][]int, len(segs))
	var req Request
	for i, s := range segs {
		inst, err := TranslationInstruction(s, t.From, t.To, t.PromptLang)
		if err != nil {
			return nil, err
		}
		if req, err = t.Prompter.Request([]chat.Message{{Role: "user", Content: inst}}, Request{StopIDs: t.StopIDs}); err != nil {
			return nil, fmt.Errorf("translate: segment %d: %w", i, err)
		}
		if n, ctxLen := len(req.Prompt), t.Model.Config().MaxPositionEmbeddings; n >= ctxLen {
			return nil, fmt.Errorf("translate: segment %d: %w", i, &ContextError{n, ctxLen})
		}
		prompts[i] = req.Prompt
	}
	out, err := BeamSearch(ctx, t.Model, prompts, BeamOptions{Beams: t.Beams, MaxTokens: t.MaxTokens, StopIDs: req.StopIDs})
	if err != nil {
		return nil, err
	}
	res := make([]string, len(segs))
	for i, ids := range out {
		text := t.Tokenizer.Decode(ids)
		for _, s := range req.Stop {
			if j := strings.Index(text, s); j >= 0 {
				text = text[:j]
			}
		}
		if req.Replacer != nil {
			text = req.Replacer.Push(text) + req.Replacer.Flush()
		}
		res[i] = CleanTranslation(text)
	}
	return res, nil
}
