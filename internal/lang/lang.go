// Package lang is the FLORES-200 language registry: the 204 language codes
// used by FLORES-200 and NLLB (e.g. "zho_Hans", "swh_Latn"), their official
// English names, Chinese names, ISO 639 codes and ISO 15924 scripts, and a
// forgiving Lookup that accepts the spellings users actually type.
package lang

import (
	"fmt"
	"sort"
	"strings"

	"golang.org/x/text/language"
)

// Resource is a language's resource level. The table leaves every entry at
// ResourceUnknown: the NLLB paper's high/low split could not be established
// from a source available to the project, and a guessed split would be
// silently wrong.
type Resource uint8

const (
	ResourceUnknown Resource = iota
	ResourceLow
	ResourceMedium
	ResourceHigh
)

func (r Resource) String() string {
	switch r {
	case ResourceLow:
		return "low"
	case ResourceMedium:
		return "medium"
	case ResourceHigh:
		return "high"
	}
	return "unknown"
}

// Language is one FLORES-200 entry.
type Language struct {
	Code     string // FLORES-200 code: ISO 639-3 + "_" + ISO 15924, e.g. "zho_Hans"
	Name     string // English name as published by FLORES-200/NLLB
	NameZh   string // Chinese name (中文名)
	ISO639_3 string // e.g. "zho", "swh"
	ISO639_1 string // two-letter alias where one exists, else ""
	Script   string // ISO 15924 code, e.g. "Hans", "Latn"
	Resource Resource
}

func (l Language) String() string { return l.Code }

// defaultScript picks the entry a bare language code means when FLORES-200
// has it in several scripts: the script the language is mostly written in.
var defaultScript = map[string]string{
	"ace": "Latn", "arb": "Arab", "bjn": "Latn", "kas": "Arab",
	"knc": "Latn", "min": "Latn", "taq": "Latn", "zho": "Hans",
}

// macro maps ISO 639 macrolanguage codes (and a few common synonyms) to the
// individual FLORES-200 language NLLB uses for them.
var macro = map[string]string{
	"ara": "arb", "fas": "pes", "per": "pes", "swa": "swh", "msa": "zsm", "may": "zsm",
	"aze": "azj", "lav": "lvs", "mon": "khk", "uzb": "uzn", "orm": "gaz", "pus": "pbt",
	"sqi": "als", "alb": "als", "mlg": "plt", "nep": "npi", "que": "quy", "aym": "ayr",
	"kau": "knc", "yid": "ydd", "kur": "kmr", "ori": "ory", "ful": "fuv", "cmn": "zho",
	"chi": "zho", "nor": "nob", "no": "nob", "tmh": "taq", "iw": "heb",
	"fil": "tgl", "zlm": "zsm", "fre": "fra", "ger": "deu", "dut": "nld", "gre": "ell", "cze": "ces", "slo": "slk",
	"rum": "ron", "mac": "mkd", "ice": "isl", "wel": "cym", "arm": "hye", "geo": "kat",
	"baq": "eus", "bur": "mya", "tib": "bod", "mao": "mri",
}

// regionAlias covers BCP-47 tags whose region, not script, selects the entry.
var regionAlias = map[string]string{
	"fa-af": "prs_Arab", "prs": "prs_Arab", "zh-tw": "zho_Hant", "zh-hk": "zho_Hant",
	"zh-mo": "zho_Hant", "zh-cn": "zho_Hans", "zh-sg": "zho_Hans", "yue-hk": "yue_Hant",
	"yue": "yue_Hant", "zh-yue": "yue_Hant",
}

var (
	byCode  = map[string]int{} // lower-case FLORES code
	byISO3  = map[string]int{} // lower-case ISO 639-3 → default entry
	byISO1  = map[string]int{}
	byName  = map[string]int{} // lower-case English name
	keysAll []string           // every accepted spelling, for suggestions
)

func init() {
	for i, l := range table {
		byCode[strings.ToLower(l.Code)] = i
		byName[strings.ToLower(l.Name)] = i
		if s, ok := defaultScript[l.ISO639_3]; ok && s != l.Script {
			continue
		}
		byISO3[l.ISO639_3] = i
		if l.ISO639_1 != "" {
			byISO1[l.ISO639_1] = i
		}
	}
	for _, l := range table {
		keysAll = append(keysAll, l.Code, l.ISO639_3, strings.ToLower(l.Name))
		if l.ISO639_1 != "" {
			keysAll = append(keysAll, l.ISO639_1)
		}
	}
}

// All returns every language, sorted by FLORES-200 code. The slice is a copy.
func All() []Language { return append([]Language(nil), table...) }

// Codes returns every FLORES-200 code, sorted.
func Codes() []string {
	out := make([]string, len(table))
	for i, l := range table {
		out[i] = l.Code
	}
	return out
}

// MustLookup is Lookup for codes known at compile time; it panics on error.
func MustLookup(s string) Language {
	l, err := Lookup(s)
	if err != nil {
		panic(err)
	}
	return l
}

// Lookup resolves s to a FLORES-200 language. It accepts, in this order:
//   - the FLORES-200 code, any case: "zho_Hans", "ZHO_HANS"
//   - ISO 639-1: "zh", "sw" (multi-script languages get their default script)
//   - ISO 639-3 or ISO 639-2/B, including macrolanguages: "swh", "swa", "zho", "chi"
//   - the English name, any case: "swahili", "Chinese (Simplified)"
//   - BCP-47 tags, with "-" or "_": "zh-Hans", "zh_CN", "zh-TW", "sr-Cyrl", "fa-AF".
//     A region only selects the script (zh-TW → zho_Hant); an explicit script
//     FLORES-200 lacks ("sr-Latn") is an error, never a silent substitute.
//
// Anything else is an error that suggests the nearest known spellings.
func Lookup(s string) (Language, error) {
	key := strings.ToLower(strings.TrimSpace(s))
	if key == "" {
		return Language{}, fmt.Errorf("lang: empty language code")
	}
	if i, ok := byCode[key]; ok {
		return table[i], nil
	}
	if i, ok := byISO1[key]; ok {
		return table[i], nil
	}
	if i, ok := byISO3[key]; ok {
		return table[i], nil
	}
	if m, ok := macro[key]; ok {
		return table[byISO3[m]], nil
	}
	if i, ok := byName[key]; ok {
		return table[i], nil
	}
	bcp := strings.ReplaceAll(key, "_", "-")
	if c, ok := regionAlias[bcp]; ok {
		return table[byCode[strings.ToLower(c)]], nil
	}
	if l, ok, err := lookupBCP47(s, bcp); ok || err != nil {
		return l, err
	}
	return Language{}, unknown(s)
}

// lookupBCP47 maps a BCP-47 tag onto the table via its base language and
// script. ok is false when the tag does not parse or names no FLORES language.
func lookupBCP47(orig, tag string) (Language, bool, error) {
	t, err := language.Parse(tag)
	if err != nil {
		return Language{}, false, nil
	}
	base, conf := t.Base()
	if conf != language.Exact { // "und" and friends: x/text only guesses
		return Language{}, false, nil
	}
	cands := candidates(base)
	if len(cands) == 0 {
		return Language{}, false, nil
	}
	if c, ok := regionAlias[strings.ToLower(base.String()+"-"+regionOf(t))]; ok {
		return table[byCode[strings.ToLower(c)]], true, nil
	}
	script, conf := t.Script()
	for _, i := range cands {
		if table[i].Script == script.String() {
			return table[i], true, nil
		}
	}
	if conf == language.Exact {
		return Language{}, false, fmt.Errorf("lang: %q: FLORES-200 has %s only in %s, not in script %s",
			orig, table[cands[0]].Name, scriptsOf(cands), script)
	}
	def := cands[0]
	for _, i := range cands {
		if s, ok := defaultScript[table[i].ISO639_3]; ok && s == table[i].Script {
			def = i
		}
	}
	return table[def], true, nil
}

func regionOf(t language.Tag) string {
	r, conf := t.Region()
	if conf != language.Exact {
		return ""
	}
	return r.String()
}

// candidates lists the table entries for a base language, trying its
// 2-letter code, its ISO 639-3 code and the macrolanguage mapping.
func candidates(base language.Base) []int {
	iso3 := base.ISO3()
	if m, ok := macro[iso3]; ok {
		iso3 = m
	}
	if i, ok := byISO1[base.String()]; ok {
		iso3 = table[i].ISO639_3
	}
	var out []int
	for i, l := range table {
		if l.ISO639_3 == iso3 {
			out = append(out, i)
		}
	}
	return out
}

func scriptsOf(idx []int) string {
	var s []string
	for _, i := range idx {
		s = append(s, table[i].Script)
	}
	return strings.Join(s, ", ")
}

// unknown builds the not-found error with up to three suggestions: keys that
// share a prefix with s or lie within a small edit distance of it.
func unknown(s string) error {
	key := strings.ToLower(strings.TrimSpace(s))
	type cand struct {
		code string
		dist int
	}
	best := map[string]int{}
	for _, k := range keysAll {
		d := editDistance(key, strings.ToLower(k))
		if len(key) >= 3 && strings.HasPrefix(strings.ToLower(k), key) {
			d = min(d, 1)
		}
		limit := 2
		if len(key) <= 3 {
			limit = 1
		}
		if d > limit {
			continue
		}
		l, err := Lookup(k)
		if err != nil {
			continue
		}
		if old, ok := best[l.Code]; !ok || d < old {
			best[l.Code] = d
		}
	}
	var cs []cand
	for c, d := range best {
		cs = append(cs, cand{c, d})
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].dist != cs[j].dist {
			return cs[i].dist < cs[j].dist
		}
		return cs[i].code < cs[j].code
	})
	if len(cs) > 3 {
		cs = cs[:3]
	}
	if len(cs) == 0 {
		return fmt.Errorf("lang: unknown language %q (use a FLORES-200 code such as eng_Latn, an ISO 639 code or an English name)", s)
	}
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s (%s)", c.code, table[byCode[strings.ToLower(c.code)]].Name))
	}
	return fmt.Errorf("lang: unknown language %q; did you mean %s?", s, strings.Join(parts, " or "))
}

// editDistance is the Levenshtein distance over bytes; keys are ASCII.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
