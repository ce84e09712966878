// Package pyfmt writes values the way Python prints them, for outputs that
// must equal a Python reference byte for byte: Jinja2 templates rendering
// floats and tojson, sacreBLEU's JSON scores.
package pyfmt

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Float is Python's repr of a finite float: the shortest round-tripping
// digits, exponent form when the decimal exponent is below -4 or at least
// 16, and always a decimal point or an exponent. Infinities and NaN are
// spelled differently by repr and json.dumps, so callers handle them.
func Float(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, expS, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expS)
	if exp < -4 || exp >= 16 {
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		return fmt.Sprintf("%se%s%02d", mant, sign, exp)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// JSONString writes s quoted as Python's json.dumps does: the short escapes
// for quote, backslash and \n \r \t \b \f, \u00XX for other control
// characters and, with ensureASCII, \uXXXX (surrogate pairs above the BMP)
// for everything past '~'.
func JSONString(b *strings.Builder, s string, ensureASCII bool) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || (ensureASCII && r > 0x7e && r < 0x10000):
				fmt.Fprintf(b, `\u%04x`, r)
			case ensureASCII && r >= 0x10000:
				r -= 0x10000
				fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}
