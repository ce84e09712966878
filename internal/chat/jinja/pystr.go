package jinja

import (
	"strings"
	"unicode"
)

// IsSpace reports whether r is whitespace for Python's str.isspace, which is
// what str.strip() and Jinja's trim filter use. It differs from
// unicode.IsSpace only in also accepting U+001C..U+001F.
func IsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// Strip is Python's str.strip() with no argument.
func Strip(s string) string { return strings.TrimFunc(s, IsSpace) }

func lstrip(s string) string { return strings.TrimLeftFunc(s, IsSpace) }
func rstrip(s string) string { return strings.TrimRightFunc(s, IsSpace) }

// stripChars is Python's str.strip(chars): chars is a set, not a prefix.
func stripChars(s, chars string, left, right bool) string {
	in := func(r rune) bool { return strings.ContainsRune(chars, r) }
	if left {
		s = strings.TrimLeftFunc(s, in)
	}
	if right {
		s = strings.TrimRightFunc(s, in)
	}
	return s
}
