package jinja

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// pyPercent is Python's printf-style str % args. A tuple supplies
// positional values; any other single value is the one positional value,
// and a mapping (dict, list or undefined, as CPython counts them) may also
// be indexed by %(key)s and leaves no "not all arguments converted" error.
func pyPercent(format string, args any) (string, error) {
	positional := []any{args}
	if t, ok := args.(Tuple); ok {
		positional = t
	}
	var mapping any
	switch args.(type) {
	case *Dict, []any, Undefined:
		mapping = args
	}
	next := 0
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(format) {
			return "", fmt.Errorf("incomplete format")
		}
		var val any
		haveVal := false
		if format[i] == '(' {
			end := strings.IndexByte(format[i:], ')')
			if end < 0 {
				return "", fmt.Errorf("incomplete format key")
			}
			if mapping == nil {
				return "", fmt.Errorf("format requires a mapping")
			}
			v, err := getItem(mapping, format[i+1:i+end])
			if err != nil {
				return "", err
			}
			if _, u := v.(Undefined); u {
				return "", fmt.Errorf("key %q not found", format[i+1:i+end])
			}
			val, haveVal = v, true
			i += end + 1
		}
		flags := ""
		for i < len(format) && strings.IndexByte("-+ #0", format[i]) >= 0 {
			flags += format[i : i+1]
			i++
		}
		width := ""
		for i < len(format) && format[i] >= '0' && format[i] <= '9' {
			width += format[i : i+1]
			i++
		}
		prec := -1
		if i < len(format) && format[i] == '.' {
			i++
			p := 0
			for i < len(format) && format[i] >= '0' && format[i] <= '9' {
				p = min(p*10+int(format[i]-'0'), 1<<16)
				i++
			}
			prec = p
		}
		for i < len(format) && strings.IndexByte("hlL", format[i]) >= 0 {
			i++
		}
		if i >= len(format) {
			return "", fmt.Errorf("incomplete format")
		}
		verb := format[i]
		if verb == '%' {
			b.WriteByte('%')
			continue
		}
		if !haveVal {
			if next >= len(positional) {
				return "", fmt.Errorf("not enough arguments for format string")
			}
			val = positional[next]
			next++
		}
		s, err := formatOne(verb, flags, prec, val)
		if err != nil {
			return "", err
		}
		w, _ := strconv.Atoi(width)
		w = min(w, 1<<16)
		if pad := w - utf8.RuneCountInString(s); pad > 0 {
			switch {
			case strings.Contains(flags, "-"):
				s += strings.Repeat(" ", pad)
			case strings.Contains(flags, "0") && strings.IndexByte("sra c", verb) < 0:
				sign := ""
				if s != "" && (s[0] == '-' || s[0] == '+' || s[0] == ' ') {
					sign, s = s[:1], s[1:]
				}
				s = sign + strings.Repeat("0", pad) + s
			default:
				s = strings.Repeat(" ", pad) + s
			}
		}
		b.WriteString(s)
		if b.Len() > maxOutput {
			return "", fmt.Errorf("formatted string longer than %d bytes", maxOutput)
		}
	}
	if next < len(positional) && mapping == nil {
		return "", fmt.Errorf("not all arguments converted during string formatting")
	}
	return b.String(), nil
}

func formatOne(verb byte, flags string, prec int, v any) (string, error) {
	sign := func(s string, neg bool) string {
		switch {
		case neg:
			return "-" + s
		case strings.Contains(flags, "+"):
			return "+" + s
		case strings.Contains(flags, " "):
			return " " + s
		}
		return s
	}
	switch verb {
	case 's':
		s := str(v)
		if prec >= 0 && utf8.RuneCountInString(s) > prec {
			s = string([]rune(s)[:prec])
		}
		return s, nil
	case 'r', 'a':
		return repr(v), nil
	case 'd', 'i', 'u', 'x', 'X', 'o':
		var n int64
		switch x := v.(type) {
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) >= 1<<63 {
				return "", fmt.Errorf("cannot convert float %s to integer", pyFloat(x))
			}
			n = int64(x)
		default:
			i, ok := asInt(v)
			if !ok {
				return "", fmt.Errorf("%%%c format: a real number is required, not %s", verb, typeName(v))
			}
			n = i
		}
		neg := n < 0
		u := uint64(n)
		if neg {
			u = uint64(-n)
		}
		base, prefix := 10, ""
		switch verb {
		case 'x', 'X':
			base, prefix = 16, "0x"
		case 'o':
			base, prefix = 8, "0o"
		}
		s := strconv.FormatUint(u, base)
		if verb == 'X' {
			s, prefix = strings.ToUpper(s), "0X"
		}
		if strings.Contains(flags, "#") && base != 10 {
			s = prefix + s
		}
		return sign(s, neg), nil
	case 'f', 'F', 'e', 'E', 'g', 'G':
		f, ok := number(v)
		if !ok {
			return "", fmt.Errorf("must be real number, not %s", typeName(v))
		}
		if prec < 0 {
			prec = 6
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			s := "inf"
			if math.IsNaN(f) {
				s = "nan"
			}
			if verb >= 'A' && verb <= 'Z' {
				s = strings.ToUpper(s)
			}
			return sign(s, math.IsInf(f, -1)), nil
		}
		if verb == 'g' || verb == 'G' {
			prec = max(prec, 1)
		}
		s := strconv.FormatFloat(math.Abs(f), verb|0x20, prec, 64)
		if verb >= 'A' && verb <= 'Z' {
			s = strings.ToUpper(s)
		}
		return sign(s, math.Signbit(f)), nil
	case 'c':
		switch x := v.(type) {
		case string:
			if utf8.RuneCountInString(x) != 1 {
				return "", fmt.Errorf("%%c requires an int or a unicode character")
			}
			return x, nil
		default:
			i, ok := asInt(v)
			if !ok || i < 0 || i > utf8.MaxRune {
				return "", fmt.Errorf("%%c requires an int or a unicode character")
			}
			return string(rune(i)), nil
		}
	}
	return "", fmt.Errorf("unsupported format character %q", verb)
}
