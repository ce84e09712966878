package metrics

import (
	"strings"
	"unicode/utf8"
)

// TERTokenizer is sacreBLEU's TercomTokenizer (a port of Tercom's
// Normalizer.java).
type TERTokenizer struct {
	Normalized    bool
	NoPunct       bool
	AsianSupport  bool
	CaseSensitive bool
}

// Tokenize returns the normalized, space-joined tokens of sent.
func (t TERTokenizer) Tokenize(sent string) string {
	if sent == "" {
		return ""
	}
	if !t.CaseSensitive {
		sent = pyLower(sent)
	}
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	s.a = append(s.a[:0], sent...)
	if t.Normalized {
		s.normalizeWestern()
		if t.AsianSupport {
			s.normalizeAsian()
		}
	}
	if t.NoPunct {
		s.removePunct(t.AsianSupport)
	}
	return string(appendFields(nil, s.a))
}

// normalizeWestern is Tercom's language-independent and Western
// normalization on s.a.
func (s *scratch) normalizeWestern() {
	sent := string(s.a)
	sent = strings.ReplaceAll(sent, "\n-", "")
	sent = strings.ReplaceAll(sent, "\n", " ")
	sent = strings.ReplaceAll(sent, "&quot;", `"`)
	sent = strings.ReplaceAll(sent, "&amp;", "&")
	sent = strings.ReplaceAll(sent, "&lt;", "<")
	sent = strings.ReplaceAll(sent, "&gt;", ">")
	o := append(s.b[:0], ' ')
	for i := 0; i < len(sent); i++ {
		if c := sent[i]; isPunct13a[c] {
			o = append(o, ' ', c, ' ')
		} else {
			o = append(o, c)
		}
	}
	o = append(o, ' ')
	// Possessives: "'s " -> " 's ". The "'s$" rule can never fire here
	// because the padding leaves a space at the end.
	if strings.Contains(string(o), "'s ") {
		o = []byte(strings.ReplaceAll(string(o), "'s ", " 's "))
	}
	s.a, s.b = o, s.a[:0]
	s.passes13a()
}

// isAsianSplit is the union of the code points Tercom's Asian
// normalization surrounds with spaces: CJK ideographs, strokes, radicals,
// compatibility forms, enclosed letters up to U+3F22, and CJK / full-width
// punctuation. (Its Hiragana/Katakana rules are anchored at the start of a
// string that always starts with the padding space, so they never match.)
func isAsianSplit(r rune) bool {
	switch {
	case r >= 0x4e00 && r <= 0x9fff, r >= 0x3400 && r <= 0x4dbf,
		r >= 0x31c0 && r <= 0x31ef, r >= 0x2e80 && r <= 0x2eff,
		r >= 0x3300 && r <= 0x33ff, r >= 0xf900 && r <= 0xfaff, r >= 0xfe30 && r <= 0xfe4f,
		r >= 0x3200 && r <= 0x3f22:
		return true
	}
	return isAsianPunct(r) || isFullWidthPunct(r)
}

// isAsianPunct is TercomTokenizer.ASIAN_PUNCT.
func isAsianPunct(r rune) bool {
	return r == 0x3001 || r == 0x3002 || (r >= 0x3008 && r <= 0x3011) || (r >= 0x3014 && r <= 0x301f) ||
		(r >= 0xff61 && r <= 0xff65) || r == 0x30fb
}

// isFullWidthPunct is TercomTokenizer.FULL_WIDTH_PUNCT.
func isFullWidthPunct(r rune) bool {
	switch r {
	case 0xff0e, 0xff0c, 0xff1f, 0xff1a, 0xff1b, 0xff01, 0xff02, 0xff08, 0xff09:
		return true
	}
	return false
}

func (s *scratch) normalizeAsian() {
	o := s.b[:0]
	for i := 0; i < len(s.a); {
		r, n := utf8.DecodeRune(s.a[i:])
		if isAsianSplit(r) {
			o = append(o, ' ')
			o = append(o, s.a[i:i+n]...)
			o = append(o, ' ')
		} else {
			o = append(o, s.a[i:i+n]...)
		}
		i += n
	}
	s.a, s.b = o, s.a[:0]
}

// removePunct deletes [.,?:;!"()] and, with asian, CJK and full-width
// punctuation.
func (s *scratch) removePunct(asian bool) {
	o := s.b[:0]
	for i := 0; i < len(s.a); {
		r, n := utf8.DecodeRune(s.a[i:])
		drop := false
		switch r {
		case '.', ',', '?', ':', ';', '!', '"', '(', ')':
			drop = true
		default:
			drop = asian && (isAsianPunct(r) || isFullWidthPunct(r))
		}
		if !drop {
			o = append(o, s.a[i:i+n]...)
		}
		i += n
	}
	s.a, s.b = o, s.a[:0]
}
