package jinja

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// pyUpper and pyLower use full Unicode case mappings, as Python's
// str.upper/lower do ("ß" upper-cases to "SS", a final sigma lowers to "ς").
func pyUpper(s string) string { return cases.Upper(language.Und).String(s) }

func pyLower(s string) string { return cases.Lower(language.Und).String(s) }

func method(name string, f func(args []any, kw map[string]any) (any, error)) *Func {
	return &Func{name: name, call: func(_ *renderer, args []any, kw map[string]any) (any, error) { return f(args, kw) }}
}

func argStr(args []any, i int, name string) (string, bool, error) {
	if i >= len(args) || args[i] == nil {
		return "", false, nil
	}
	s, ok := args[i].(string)
	if !ok {
		return "", false, fmt.Errorf("%s must be a string, not %s", name, typeName(args[i]))
	}
	return s, true, nil
}

func dictMethod(d *Dict, name string) *Func {
	switch name {
	case "items":
		return method("items", func([]any, map[string]any) (any, error) {
			out := make([]any, len(d.keys))
			for i, k := range d.keys {
				out[i] = Tuple{k, d.m[k]}
			}
			return out, nil
		})
	case "keys":
		return method("keys", func([]any, map[string]any) (any, error) { return iterate(d) })
	case "values":
		return method("values", func([]any, map[string]any) (any, error) {
			out := make([]any, len(d.keys))
			for i, k := range d.keys {
				out[i] = d.m[k]
			}
			return out, nil
		})
	case "get":
		return method("get", func(args []any, _ map[string]any) (any, error) {
			if len(args) == 0 || len(args) > 2 {
				return nil, fmt.Errorf("get expected 1 or 2 arguments, got %d", len(args))
			}
			if k, ok := args[0].(string); ok {
				if v, ok := d.m[k]; ok {
					return v, nil
				}
			}
			if len(args) == 2 {
				return args[1], nil
			}
			return nil, nil
		})
	}
	return nil
}

func listMethod(l []any, name string) *Func {
	switch name {
	case "index":
		return method("index", func(args []any, _ map[string]any) (any, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("index expected 1 argument")
			}
			for i, e := range l {
				if equal(e, args[0]) {
					return int64(i), nil
				}
			}
			return nil, fmt.Errorf("%s is not in list", repr(args[0]))
		})
	case "count":
		return method("count", func(args []any, _ map[string]any) (any, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("count expected 1 argument")
			}
			n := int64(0)
			for _, e := range l {
				if equal(e, args[0]) {
					n++
				}
			}
			return n, nil
		})
	}
	return nil
}

func strMethod(s string, name string) *Func {
	strip := func(left, right bool) *Func {
		return method(name, func(args []any, _ map[string]any) (any, error) {
			chars, ok, err := argStr(args, 0, "chars")
			if err != nil {
				return nil, err
			}
			if ok {
				return stripChars(s, chars, left, right), nil
			}
			switch {
			case left && right:
				return Strip(s), nil
			case left:
				return lstrip(s), nil
			}
			return rstrip(s), nil
		})
	}
	affix := func(has func(string, string) bool) *Func {
		return method(name, func(args []any, _ map[string]any) (any, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("%s takes one argument", name)
			}
			switch a := args[0].(type) {
			case string:
				return has(s, a), nil
			case []any, Tuple:
				l, _ := seq(a)
				for _, e := range l {
					if p, ok := e.(string); ok && has(s, p) {
						return true, nil
					}
				}
				return false, nil
			}
			return nil, fmt.Errorf("%s arg must be str or a tuple of str, not %s", name, typeName(args[0]))
		})
	}
	pred := func(f func(rune) bool, needCased bool) *Func {
		return method(name, func([]any, map[string]any) (any, error) {
			if s == "" {
				return false, nil
			}
			cased := false
			for _, r := range s {
				if !f(r) {
					return false, nil
				}
				cased = cased || unicode.IsUpper(r) || unicode.IsLower(r)
			}
			return !needCased || cased, nil
		})
	}
	switch name {
	case "strip":
		return strip(true, true)
	case "lstrip":
		return strip(true, false)
	case "rstrip":
		return strip(false, true)
	case "startswith":
		return affix(strings.HasPrefix)
	case "endswith":
		return affix(strings.HasSuffix)
	case "split", "rsplit":
		return method(name, func(args []any, kw map[string]any) (any, error) {
			sep, hasSep, err := argStr(args, 0, "sep")
			if err != nil {
				return nil, err
			}
			if v, ok := kw["sep"]; ok && v != nil {
				sep, hasSep = str(v), true
			}
			maxSplit := int64(-1)
			if len(args) > 1 {
				if m, ok := asInt(args[1]); ok {
					maxSplit = m
				}
			}
			if v, ok := kw["maxsplit"]; ok {
				if m, ok := asInt(v); ok {
					maxSplit = m
				}
			}
			return pySplit(s, sep, hasSep, maxSplit, name == "rsplit")
		})
	case "splitlines":
		return method(name, func([]any, map[string]any) (any, error) {
			var out []any
			for _, l := range strings.SplitAfter(s, "\n") {
				if l == "" {
					continue
				}
				out = append(out, strings.TrimSuffix(strings.TrimSuffix(l, "\n"), "\r"))
			}
			return listOf(out), nil
		})
	case "upper":
		return method(name, func([]any, map[string]any) (any, error) { return pyUpper(s), nil })
	case "lower":
		return method(name, func([]any, map[string]any) (any, error) { return pyLower(s), nil })
	case "title":
		return method(name, func([]any, map[string]any) (any, error) { return pyTitle(s), nil })
	case "capitalize":
		return method(name, func([]any, map[string]any) (any, error) { return capitalize(s), nil })
	case "replace":
		return method(name, func(args []any, _ map[string]any) (any, error) {
			return replaceN(s, args)
		})
	case "find", "rfind", "count":
		return method(name, func(args []any, _ map[string]any) (any, error) {
			sub, ok, err := argStr(args, 0, "sub")
			if err != nil || !ok {
				return nil, fmt.Errorf("%s needs a string argument", name)
			}
			var i int
			switch name {
			case "count":
				if sub == "" {
					return int64(utf8.RuneCountInString(s) + 1), nil
				}
				return int64(strings.Count(s, sub)), nil
			case "find":
				i = strings.Index(s, sub)
			default:
				i = strings.LastIndex(s, sub)
			}
			if i < 0 {
				return int64(-1), nil
			}
			return int64(utf8.RuneCountInString(s[:i])), nil
		})
	case "join":
		return method(name, func(args []any, _ map[string]any) (any, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("join takes one argument")
			}
			items, err := iterate(args[0])
			if err != nil {
				return nil, err
			}
			parts := make([]string, len(items))
			for i, e := range items {
				p, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("sequence item %d: expected str instance, %s found", i, typeName(e))
				}
				parts[i] = p
			}
			return strings.Join(parts, s), nil
		})
	case "isdigit":
		return pred(unicode.IsDigit, false)
	case "isalpha":
		return pred(unicode.IsLetter, false)
	case "isalnum":
		return pred(func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }, false)
	case "isspace":
		return pred(IsSpace, false)
	case "islower":
		return pred(func(r rune) bool { return !unicode.IsUpper(r) && !unicode.IsTitle(r) }, true)
	case "isupper":
		return pred(func(r rune) bool { return !unicode.IsLower(r) && !unicode.IsTitle(r) }, true)
	}
	return nil
}

func listOf(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

// pySplit is Python's str.split / str.rsplit.
func pySplit(s, sep string, hasSep bool, maxSplit int64, fromRight bool) (any, error) {
	if hasSep && sep == "" {
		return nil, fmt.Errorf("empty separator")
	}
	var parts []string
	if hasSep {
		switch {
		case maxSplit < 0:
			parts = strings.Split(s, sep)
		case fromRight:
			parts = rsplitN(s, sep, int(min(maxSplit, int64(len(s)+1))))
		default:
			parts = strings.SplitN(s, sep, int(min(maxSplit, int64(len(s)+1)))+1)
		}
	} else {
		fields := strings.FieldsFunc(s, IsSpace)
		if maxSplit < 0 || int64(len(fields)) <= maxSplit+1 {
			parts = fields
		} else if !fromRight {
			rest := s
			for i := int64(0); i < maxSplit; i++ {
				rest = lstrip(rest)
				j := strings.IndexFunc(rest, IsSpace)
				parts = append(parts, rest[:j])
				rest = rest[j:]
			}
			parts = append(parts, lstrip(rest))
		} else {
			rest := s
			var rev []string
			for i := int64(0); i < maxSplit; i++ {
				rest = rstrip(rest)
				j := strings.LastIndexFunc(rest, IsSpace)
				_, w := utf8.DecodeRuneInString(rest[j:])
				rev = append(rev, rest[j+w:])
				rest = rest[:j]
			}
			parts = append(parts, rstrip(rest))
			for i := len(rev) - 1; i >= 0; i-- {
				parts = append(parts, rev[i])
			}
		}
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

func rsplitN(s, sep string, n int) []string {
	var rev []string
	for len(rev) < n {
		i := strings.LastIndex(s, sep)
		if i < 0 {
			break
		}
		rev = append(rev, s[i+len(sep):])
		s = s[:i]
	}
	out := []string{s}
	for i := len(rev) - 1; i >= 0; i-- {
		out = append(out, rev[i])
	}
	return out
}

func replaceN(s string, args []any) (any, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("replace expected at least 2 arguments")
	}
	old, ok1 := args[0].(string)
	nw, ok2 := args[1].(string)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("replace arguments must be strings")
	}
	n := -1
	if len(args) > 2 {
		c, ok := asInt(args[2])
		if !ok {
			return nil, fmt.Errorf("replace count must be an integer")
		}
		if c >= 0 {
			n = int(min(c, int64(len(s)+1)))
		}
	}
	count := strings.Count(s, old)
	if n >= 0 && n < count {
		count = n
	}
	if len(nw) > len(old) && int64(len(s))+int64(count)*int64(len(nw)-len(old)) > maxOutput {
		return nil, fmt.Errorf("replaced string longer than %d bytes", maxOutput)
	}
	return strings.Replace(s, old, nw, n), nil
}

// titleRune is the full titlecase mapping of one character ("ß" -> "Ss").
func titleRune(r rune) string {
	return cases.Title(language.Und, cases.NoLower).String(string(r))
}

func isCased(r rune) bool { return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) }

// pyTitle is Python's str.title.
func pyTitle(s string) string {
	var b strings.Builder
	prev := false
	for _, r := range s {
		if prev {
			b.WriteString(pyLower(string(r)))
		} else {
			b.WriteString(titleRune(r))
		}
		prev = isCased(r)
	}
	return b.String()
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return titleRune(r) + pyLower(s[n:])
}

// jinjaTitle is Jinja's title filter: words start after '-', whitespace or
// an opening bracket.
func jinjaTitle(s string) string {
	var b strings.Builder
	start := true
	for _, r := range s {
		boundary := r == '-' || IsSpace(r) || strings.ContainsRune("({[<", r)
		switch {
		case boundary:
			b.WriteRune(r)
		case start:
			b.WriteString(pyUpper(string(r)))
		default:
			b.WriteString(pyLower(string(r)))
		}
		start = boundary
	}
	return b.String()
}
