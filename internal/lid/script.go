package lid

import "unicode"

// Scripts the classifier tells apart in its first stage. Index 0 means "no
// script" (digits, punctuation, symbols, unassigned or astral runes).
var scriptTables = []*unicode.RangeTable{
	nil,
	unicode.Latin, unicode.Arabic, unicode.Cyrillic, unicode.Devanagari, unicode.Bengali,
	unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Ethiopic,
	unicode.Tibetan, unicode.Myanmar, unicode.Tifinagh, unicode.Hebrew, unicode.Greek,
	unicode.Armenian, unicode.Georgian, unicode.Gujarati, unicode.Gurmukhi, unicode.Kannada,
	unicode.Khmer, unicode.Lao, unicode.Malayalam, unicode.Oriya, unicode.Ol_Chiki,
	unicode.Sinhala, unicode.Tamil, unicode.Telugu, unicode.Thai, unicode.Syriac,
	unicode.Thaana, unicode.Mongolian, unicode.Cherokee, unicode.Canadian_Aboriginal, unicode.Javanese,
	unicode.Balinese, unicode.Sundanese, unicode.Buginese, unicode.Vai, unicode.Nko,
}

// numScripts bounds script ids; they fit a byte.
var numScripts = len(scriptTables)

// bmpScript maps each rune of the Basic Multilingual Plane to its script id:
// one table load per rune in the hot path instead of a range search.
var bmpScript [0x10000]uint8

// scriptWeight counts a CJK character as three letters when deciding the
// dominant script: one ideograph carries about as much as a short word, so a
// Chinese sentence quoting an English name stays Chinese.
var scriptWeight = func() []int {
	w := make([]int, len(scriptTables))
	for id, tab := range scriptTables {
		w[id] = 1
		switch tab {
		case unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul:
			w[id] = 3
		}
	}
	return w
}()

func init() {
	for id, tab := range scriptTables {
		if tab == nil {
			continue
		}
		for _, r := range tab.R16 {
			for c := uint32(r.Lo); c <= uint32(r.Hi); c += uint32(r.Stride) {
				bmpScript[c] = uint8(id)
			}
		}
	}
}

// scriptOf returns the script id of r (0 when none of the known scripts).
func scriptOf(r rune) uint8 {
	if r >= 0 && r < 0x10000 {
		return bmpScript[r]
	}
	if unicode.Is(unicode.Han, r) { // CJK extensions B+ live beyond the BMP
		return bmpScript['中']
	}
	return 0
}
