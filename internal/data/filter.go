package data

import (
	"strings"

	"github.com/bayling-go/bayling/internal/lid"
	"unicode"
	"unicode/utf8"
)

// Drop reasons, as counted in the manifest.
const (
	DropMalformed = "malformed"
	DropEmpty     = "empty"
	DropLength    = "length"
	DropRatio     = "ratio"
	DropScript    = "script"
	DropLID       = "lid"
	DropExactDup  = "dup_exact"
	DropNearDup   = "dup_near"
	DropCap       = "lang_cap"
	DropMix       = "mix_ratio"
)

// FilterConfig holds the per-record quality checks.
type FilterConfig struct {
	MinChars  int     `json:"min_chars"`  // per message; default 1
	MaxChars  int     `json:"max_chars"`  // per message; default 8192
	MaxRatio  float64 `json:"max_ratio"`  // source/target length ratio for translations; default 3
	MinScript float64 `json:"min_script"` // share of letters in the language's script; default 0.5
	LIDTopK   int     `json:"lid_top_k"`  // keep when the declared language is among the top k; default 3
	LIDMinP   float64 `json:"lid_min_p"`  // only reject when the top prediction is at least this sure; default 0.5
}

func (f *FilterConfig) defaults() {
	if f.MinChars == 0 {
		f.MinChars = 1
	}
	if f.MaxChars == 0 {
		f.MaxChars = 8192
	}
	if f.MaxRatio == 0 {
		f.MaxRatio = 3
	}
	if f.MinScript == 0 {
		f.MinScript = 0.5
	}
	if f.LIDTopK == 0 {
		f.LIDTopK = 3
	}
	if f.LIDMinP == 0 {
		f.LIDMinP = 0.5
	}
}

// check returns the reason to drop r, or "" to keep it.
func (f *FilterConfig) check(r *Record, lid lid.Predictor) string {
	for _, m := range r.Messages {
		n := utf8.RuneCountInString(m.Content)
		if strings.TrimSpace(m.Content) == "" {
			return DropEmpty
		}
		if n < f.MinChars || n > f.MaxChars {
			return DropLength
		}
	}
	src, tgt := r.texts()
	if (r.Task == TaskTranslate || r.Task == TaskMultiTurn) && src != "" && tgt != "" {
		a, b := weightedLen(src), weightedLen(tgt)
		if a > f.MaxRatio*b || b > f.MaxRatio*a {
			return DropRatio
		}
	}
	for _, lt := range [][2]string{{r.SrcLang, src}, {r.TgtLang, tgt}} {
		code, text := lt[0], lt[1]
		if code == "" || text == "" {
			continue
		}
		if scriptShare(text, code) < f.MinScript {
			return DropScript
		}
		if lid != nil && !f.lidAgrees(lid, text, code) {
			return DropLID
		}
	}
	return ""
}

func (f *FilterConfig) lidAgrees(id lid.Predictor, text, code string) bool {
	preds := id.PredictK(text, f.LIDTopK)
	if len(preds) == 0 || preds[0].Prob < f.LIDMinP {
		return true // unsure: no evidence against the declared language
	}
	for _, p := range preds {
		if p.Label == code {
			return true
		}
	}
	return false
}

// texts returns the source and target sentences of a translation-like record:
// the answer of the first turn is the target; the source is the user text of
// the first turn (which includes the template, harmless for ratios and script
// shares because templates are short and in a hub or the source language).
func (r *Record) texts() (src, tgt string) {
	if r.SrcLang == "" || len(r.Messages) < 2 {
		return "", ""
	}
	i := 0
	if r.Messages[0].Role == "system" {
		i = 1
	}
	return r.payloadSrc, r.Messages[i+1].Content
}

// weightedLen counts characters, weighting ideographic and syllabic
// scripts by how much Latin text one character carries, so that length
// ratios between, say, Chinese and English are near 1.
func weightedLen(s string) float64 {
	n := 0.0
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Han, r), unicode.Is(unicode.Hiragana, r), unicode.Is(unicode.Katakana, r):
			n += 3
		case unicode.Is(unicode.Hangul, r):
			n += 2.5
		default:
			n++
		}
	}
	return n
}

// scriptTables maps ISO 15924 codes to Unicode script tables.
var scriptTables = map[string][]*unicode.RangeTable{
	"Latn": {unicode.Latin}, "Cyrl": {unicode.Cyrillic}, "Arab": {unicode.Arabic},
	"Deva": {unicode.Devanagari}, "Beng": {unicode.Bengali}, "Tibt": {unicode.Tibetan},
	"Tfng": {unicode.Tifinagh}, "Mymr": {unicode.Myanmar}, "Hebr": {unicode.Hebrew},
	"Hant": {unicode.Han}, "Hans": {unicode.Han}, "Ethi": {unicode.Ethiopic},
	"Thai": {unicode.Thai}, "Telu": {unicode.Telugu}, "Taml": {unicode.Tamil},
	"Sinh": {unicode.Sinhala}, "Orya": {unicode.Oriya}, "Olck": {unicode.Ol_Chiki},
	"Mlym": {unicode.Malayalam}, "Laoo": {unicode.Lao}, "Knda": {unicode.Kannada},
	"Khmr": {unicode.Khmer}, "Jpan": {unicode.Han, unicode.Hiragana, unicode.Katakana},
	"Hang": {unicode.Hangul, unicode.Han}, "Guru": {unicode.Gurmukhi}, "Gujr": {unicode.Gujarati},
	"Grek": {unicode.Greek}, "Geor": {unicode.Georgian}, "Armn": {unicode.Armenian},
}

// scriptShare is the share of letters in s written in the script of the
// FLORES code (1 when the script is unknown or s has no letters).
func scriptShare(s, code string) float64 {
	_, script, _ := strings.Cut(code, "_")
	tables, ok := scriptTables[script]
	if !ok {
		return 1
	}
	letters, in := 0, 0
	for _, r := range s {
		if !unicode.IsLetter(r) {
			continue
		}
		letters++
		if unicode.In(r, tables...) {
			in++
		}
	}
	if letters == 0 {
		return 1
	}
	return float64(in) / float64(letters)
}
