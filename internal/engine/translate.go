package engine

import (
	"fmt"
	"strings"

	"github.com/bayling-go/bayling/internal/lang"
)

// Instruction languages of BayLing's translation prompts.
const (
	PromptEnglish = "en"
	PromptChinese = "zh"
	PromptAuto    = "auto" // Chinese when the source is Chinese
)

// TranslationInstruction is BayLing's translation request for one
// segment, as a user message: "Provide the {tgt} translation for this
// sentence: {src}" or, in Chinese, "提供这句话的{tgt}翻译：{src}".
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
		return "提供这句话的" + nameZh(to) + "翻译：" + src, nil
	}
	return "Provide the " + nameEn(to) + " translation for this sentence: " + src, nil
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
	return strings.Join(strings.Fields(strings.NewReplacer("\r\n", "\n").Replace(s)), " ")
}
