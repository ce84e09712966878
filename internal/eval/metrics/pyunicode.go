package metrics

import (
	"unicode"
	"unicode/utf8"
)

// Python's str.isspace differs from unicode.IsSpace only in also treating
// the ASCII information separators U+001C..U+001F as whitespace (checked
// over all code points against CPython 3.11 on this machine).
func pyIsSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || (r >= '\t' && r <= '\r') || (r >= 0x1c && r <= 0x1f)
	}
	return unicode.IsSpace(r)
}

// maybeSpace marks the bytes that can start Python whitespace: ASCII
// whitespace and the lead bytes of U+0085/U+00A0 (0xC2), U+1680 (0xE1),
// U+2000..U+205F (0xE2) and U+3000 (0xE3). Every other byte, including all
// continuation bytes, can be copied without decoding.
var maybeSpace = func() (t [256]bool) {
	for _, c := range []byte{' ', '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, 0xc2, 0xe1, 0xe2, 0xe3} {
		t[c] = true
	}
	return
}()

// spaceAt reports whether the code point starting at s[i] is Python
// whitespace, and, if so, its length. s must be valid UTF-8.
func spaceAt(s []byte, i int) (bool, int) {
	c := s[i]
	if !maybeSpace[c] {
		return false, 1
	}
	if c < utf8.RuneSelf {
		return true, 1
	}
	r, n := utf8.DecodeRune(s[i:])
	return unicode.IsSpace(r), n
}

// nextSpace returns the offset and length of the first Python whitespace
// code point in s[i:], or len(s), 0.
func nextSpace(s []byte, i int) (int, int) {
	for ; i < len(s); i++ {
		if maybeSpace[s[i]] {
			if sp, n := spaceAt(s, i); sp {
				return i, n
			}
		}
	}
	return len(s), 0
}

// appendFields appends the whitespace-separated fields of s to dst joined by
// single spaces: Python's ' '.join(s.split()).
func appendFields(dst []byte, s []byte) []byte {
	start := len(dst)
	for i := 0; i < len(s); {
		j, n := nextSpace(s, i)
		if j > i {
			if len(dst) > start {
				dst = append(dst, ' ')
			}
			dst = append(dst, s[i:j]...)
		}
		i = j + n
		if n == 0 {
			break
		}
	}
	return dst
}

// pyRstrip is Python's str.rstrip() with no argument.
func pyRstrip(s string) string {
	for len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		if !pyIsSpace(r) {
			break
		}
		s = s[:len(s)-size]
	}
	return s
}

// pyStrip is Python's str.strip() with no argument.
func pyStrip(s string) string {
	s = pyRstrip(s)
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		if !pyIsSpace(r) {
			break
		}
		s = s[size:]
	}
	return s
}

// appendLower appends Python's s.lower() to dst. unicode.ToLower agrees
// with CPython 3.11 on every code point except U+0130, whose full lowercase
// mapping is two code points, and Python applies the contextual Final_Sigma
// rule to U+03A3.
func appendLower(dst []byte, s string) []byte {
	for i, r := range s {
		switch {
		case r < utf8.RuneSelf:
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			dst = append(dst, byte(r))
			continue
		case r == 0x130:
			dst = append(dst, "i\u0307"...)
			continue
		case r == 0x3a3:
			if finalSigma(s, i) {
				r = 0x3c2
			} else {
				r = 0x3c3
			}
		default:
			r = unicode.ToLower(r)
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// pyLower is Python's str.lower().
func pyLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return string(appendLower(make([]byte, 0, len(s)+8), s))
		}
	}
	return s
}

// finalSigma reports whether the capital sigma at byte offset i of s is in
// the Final_Sigma context, as CPython's handle_capital_sigma decides it:
// preceded by a cased letter and not followed by one, skipping
// case-ignorable characters in both directions.
func finalSigma(s string, i int) bool {
	j := i
	found := false
	for j > 0 {
		r, size := utf8.DecodeLastRuneInString(s[:j])
		j -= size
		if !caseIgnorable(r) {
			found = cased(r)
			break
		}
	}
	if !found {
		return false
	}
	for _, r := range s[i+2:] { // U+03A3 is two bytes long
		if !caseIgnorable(r) {
			return !cased(r)
		}
	}
	return true
}

// python14Unassigned lists code points that Go's Unicode 15 tables know but
// CPython 3.11's Unicode 14 database does not; for the sigma rule they are
// neither cased nor case-ignorable there.
var python14Unassigned = [][2]rune{
	{0xECE, 0xECE}, {0x10EFD, 0x10EFF}, {0x11241, 0x11241}, {0x11F00, 0x11F01},
	{0x11F36, 0x11F3A}, {0x11F40, 0x11F40}, {0x11F42, 0x11F42}, {0x13439, 0x13440},
	{0x13447, 0x13455}, {0x1DF25, 0x1DF2A}, {0x1E030, 0x1E06D}, {0x1E08F, 0x1E08F},
	{0x1E4EB, 0x1E4EF},
}

func unknownToPython(r rune) bool {
	for _, rg := range python14Unassigned {
		if r >= rg[0] && r <= rg[1] {
			return true
		}
	}
	return false
}

// caseIgnorable is Unicode's Case_Ignorable: Mn, Me, Cf, Lm, Sk and the
// Word_Break MidLetter/MidNumLet/Single_Quote characters.
func caseIgnorable(r rune) bool {
	switch r {
	case 0x27, 0x2E, 0x3A, 0xB7, 0x387, 0x55F, 0x5F4, 0x2018, 0x2019, 0x2024, 0x2027,
		0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A:
		return true
	}
	if r < utf8.RuneSelf {
		return r == '^' || r == '`'
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk) && !unknownToPython(r)
}

func cased(r rune) bool {
	if r < utf8.RuneSelf {
		return ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
	}
	return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase) && !unknownToPython(r)
}
