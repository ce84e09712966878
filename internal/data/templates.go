package data

import (
	"strings"
	"sync"

	"github.com/bayling-go/bayling/internal/chat"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// A template renders a translation request. {src} is the sentence, {tgt}
// the target language's name and {srcname} the source language's name, both
// in the template's own language.
type template struct {
	lang string // the language the instruction is written in
	text string
}

// BayLing's own phrasings come first in each pool; they are what BayLing's
// inference and evaluation use (see internal/chat).
var enTemplates = []template{
	{"eng_Latn", chat.TranslateEn},
	{"eng_Latn", "Translate the following {srcname} text into {tgt}:\n{src}"},
	{"eng_Latn", "Translate into {tgt}: {src}"},
	{"eng_Latn", "What is the {tgt} translation of this {srcname} sentence?\n{src}"},
	{"eng_Latn", "Please translate this sentence from {srcname} to {tgt}.\n{src}"},
	{"eng_Latn", "{src}\n\nTranslate the text above into {tgt}."},
}

var zhTemplates = []template{
	{"zho_Hans", chat.TranslateZh},
	{"zho_Hans", "把下面的{srcname}句子翻译成{tgt}：\n{src}"},
	{"zho_Hans", "请将以下内容翻译为{tgt}：{src}"},
	{"zho_Hans", "{src}\n将上面这句话翻译成{tgt}。"},
	{"zho_Hans", "这句{srcname}用{tgt}怎么说？\n{src}"},
}

// Templates written in the source language itself, so a model learns to
// follow instructions given in that language. Phrased to avoid grammatical
// agreement with the inserted language name where the language inflects.
var nativeTemplates = map[string][]template{
	"fra_Latn": {{"fra_Latn", "Traduisez la phrase suivante en {tgt} : {src}"}},
	"deu_Latn": {{"deu_Latn", "Übersetze den folgenden Satz. Zielsprache: {tgt}.\n{src}"}},
	"spa_Latn": {{"spa_Latn", "Traduce la siguiente oración al {tgt}: {src}"}},
	"por_Latn": {{"por_Latn", "Traduza a seguinte frase. Idioma de destino: {tgt}.\n{src}"}},
	"ita_Latn": {{"ita_Latn", "Traduci la seguente frase in {tgt}: {src}"}},
	"rus_Cyrl": {{"rus_Cyrl", "Переведите следующее предложение. Язык перевода: {tgt}.\n{src}"}},
	"jpn_Jpan": {{"jpn_Jpan", "次の文を{tgt}に翻訳してください：{src}"}},
	"kor_Hang": {{"kor_Hang", "다음 문장을 번역하세요. 목표 언어: {tgt}.\n{src}"}},
	"vie_Latn": {{"vie_Latn", "Dịch câu sau sang {tgt}: {src}"}},
	"ind_Latn": {{"ind_Latn", "Terjemahkan kalimat berikut ke dalam bahasa {tgt}: {src}"}},
	"tur_Latn": {{"tur_Latn", "Aşağıdaki cümleyi çevirin. Hedef dil: {tgt}.\n{src}"}},
	"arb_Arab": {{"arb_Arab", "ترجم الجملة التالية إلى {tgt}: {src}"}},
	"hin_Deva": {{"hin_Deva", "निम्नलिखित वाक्य का {tgt} में अनुवाद करें: {src}"}},
	"swh_Latn": {{"swh_Latn", "Tafsiri sentensi ifuatayo kwa {tgt}: {src}"}},
}

// cldrTags maps instruction languages to the CLDR locale used for names.
var cldrTags = map[string]string{
	"eng_Latn": "en", "zho_Hans": "zh", "fra_Latn": "fr", "deu_Latn": "de", "spa_Latn": "es",
	"por_Latn": "pt", "ita_Latn": "it", "rus_Cyrl": "ru", "jpn_Jpan": "ja", "kor_Hang": "ko",
	"vie_Latn": "vi", "ind_Latn": "id", "tur_Latn": "tr", "arb_Arab": "ar", "hin_Deva": "hi",
	"swh_Latn": "sw",
}

// Namer gives a language's name written in another language, or "" when
// none is known. English and Chinese names come from the language registry;
// other display languages from CLDR.
type Namer func(code, in string) string

var (
	namerMu    sync.Mutex
	namerCache = map[[2]string]string{}
	cldrNamers = map[string]display.Namer{}
)

// cldrName names the base language of a FLORES code (e.g. "swh" of
// "swh_Latn") in the display language in, through CLDR.
func cldrName(code, in string) string {
	namerMu.Lock()
	defer namerMu.Unlock()
	key := [2]string{code, in}
	if n, ok := namerCache[key]; ok {
		return n
	}
	n := ""
	if loc, ok := cldrTags[in]; ok {
		nm, ok := cldrNamers[loc]
		if !ok {
			nm = display.Languages(language.MustParse(loc))
			cldrNamers[loc] = nm
		}
		base, _, _ := strings.Cut(code, "_")
		if t, err := language.Parse(base); err == nil {
			n = nm.Name(t)
		}
	}
	namerCache[key] = n
	return n
}

// render fills a template; ok is false when a name is unknown in the
// template's language, so the caller can fall back to another pool.
func (t template) render(src, srcLang, tgtLang string, name Namer) (string, bool) {
	tgt := name(tgtLang, t.lang)
	if tgt == "" {
		return "", false
	}
	s := t.text
	if strings.Contains(s, "{srcname}") {
		sn := name(srcLang, t.lang)
		if sn == "" {
			return "", false
		}
		s = strings.ReplaceAll(s, "{srcname}", sn)
	}
	s = strings.ReplaceAll(s, "{tgt}", tgt)
	return strings.Replace(s, "{src}", src, 1), true
}
