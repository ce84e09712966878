// Package quickstart builds the offline demo of the whole recipe: a small
// multilingual corpus from the CLDR data in golang.org/x/text, a byte-level
// BPE tokenizer trained on it, a tiny Llama initialised at random, and the
// evaluation that compares training with and without cross-lingual data.
package quickstart

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/bayling-go/bayling/internal/lang"
)

// Locales are the corpus languages: FLORES code and CLDR locale.
var Locales = []struct{ Code, CLDR string }{
	{"eng_Latn", "en"}, {"zho_Hans", "zh"}, {"fra_Latn", "fr"}, {"deu_Latn", "de"},
	{"spa_Latn", "es"}, {"por_Latn", "pt"}, {"ita_Latn", "it"}, {"rus_Cyrl", "ru"},
	{"jpn_Jpan", "ja"}, {"kor_Hang", "ko"}, {"vie_Latn", "vi"}, {"ind_Latn", "id"},
	{"tur_Latn", "tr"}, {"arb_Arab", "ar"}, {"hin_Deva", "hi"}, {"swh_Latn", "sw"},
}

// HeldOut is the direction no training recipe contains; the quickstart
// scores both models on it.
var HeldOut = [2]string{"fra_Latn", "deu_Latn"}

// entity is one thing with a name in every locale.
type entity struct {
	kind string // language, region, script
	tag  any    // language.Base, language.Region or language.Script
	id   string
}

func entities() []entity {
	var out []entity
	seen := map[string]bool{}
	for _, l := range lang.All() {
		b, err := language.ParseBase(l.ISO639_3)
		if err != nil || seen["l"+b.String()] {
			continue
		}
		seen["l"+b.String()] = true
		out = append(out, entity{"language", b, b.String()})
	}
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			r, err := language.ParseRegion(string([]rune{a, b}))
			if err != nil || !r.IsCountry() || seen["r"+r.String()] {
				continue
			}
			seen["r"+r.String()] = true
			out = append(out, entity{"region", r, r.String()})
		}
	}
	scripts := map[string]bool{}
	for _, l := range lang.All() {
		scripts[l.Script] = true
	}
	for _, s := range sortedKeys(scripts) {
		if sc, err := language.ParseScript(s); err == nil {
			out = append(out, entity{"script", sc, sc.String()})
		}
	}
	return out
}

// name is e's name in locale loc, or "" when CLDR has none.
func (e entity) name(loc string) string {
	t := language.MustParse(loc)
	switch v := e.tag.(type) {
	case language.Base:
		return display.Languages(t).Name(v)
	case language.Region:
		return display.Regions(t).Name(v)
	case language.Script:
		return display.Scripts(t).Name(v)
	}
	return ""
}

// WriteCorpus writes a FLORES-style multiway folder (CODE.txt, one entity a
// line, empty where CLDR has no name) and two instruction sets, en.jsonl
// and zh.jsonl, of questions about languages answered from the registry.
// It returns the number of entities.
func WriteCorpus(dir string) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	ents := entities()
	for _, l := range Locales {
		var b strings.Builder
		for _, e := range ents {
			n := strings.ReplaceAll(e.name(l.CLDR), "\n", " ")
			b.WriteString(n)
			b.WriteByte('\n')
		}
		if err := os.WriteFile(filepath.Join(dir, l.Code+".txt"), []byte(b.String()), 0o644); err != nil {
			return 0, err
		}
	}
	en, zh := instructions()
	for name, recs := range map[string][]map[string]string{"en.jsonl": en, "zh.jsonl": zh} {
		var b strings.Builder
		for _, r := range recs {
			j, _ := json.Marshal(r)
			b.Write(j)
			b.WriteByte('\n')
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			return 0, err
		}
	}
	return len(ents), nil
}

// instructions asks, in English and in Chinese, which script a language is
// written in and what its ISO code is, answered from the FLORES registry.
func instructions() (en, zh []map[string]string) {
	scriptEn := display.Scripts(language.English)
	scriptZh := display.Scripts(language.SimplifiedChinese)
	for _, l := range lang.All() {
		sc, err := language.ParseScript(l.Script)
		if err != nil {
			continue
		}
		if se := scriptEn.Name(sc); se != "" {
			en = append(en,
				map[string]string{"instruction": fmt.Sprintf("Which script is %s written in here?", l.Name), "output": fmt.Sprintf("%s is written in the %s script.", l.Name, se)},
				map[string]string{"instruction": fmt.Sprintf("What is the ISO 639-3 code of %s?", l.Name), "output": fmt.Sprintf("The ISO 639-3 code of %s is %s.", l.Name, l.ISO639_3)})
		}
		if sz := scriptZh.Name(sc); sz != "" && l.NameZh != "" {
			zh = append(zh,
				map[string]string{"instruction": fmt.Sprintf("这里的%s用什么文字书写？", l.NameZh), "output": fmt.Sprintf("%s用%s书写。", l.NameZh, sz)},
				map[string]string{"instruction": fmt.Sprintf("%s的ISO 639-3代码是什么？", l.NameZh), "output": fmt.Sprintf("%s的ISO 639-3代码是%s。", l.NameZh, l.ISO639_3)})
		}
	}
	return en, zh
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
