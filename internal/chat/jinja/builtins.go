package jinja

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// pyUpper and pyLower use full Unicode case mappings, as Python's
// str.upper/lower do ("ß" upper-cases to "SS", a final sigma lowers to "ς").
func pyUpper(s string) string { return cases.Upper(language.Und).String(s) }
func pyLower(s string) string { return cases.Lower(language.Und).String(s) }

type loopInfo struct {
	i     int
	items []any
}

func (l *loopInfo) attr(name string) any {
	n := len(l.items)
	switch name {
	case "index":
		return int64(l.i + 1)
	case "index0":
		return int64(l.i)
	case "revindex":
		return int64(n - l.i)
	case "revindex0":
		return int64(n - l.i - 1)
	case "first":
		return l.i == 0
	case "last":
		return l.i == n-1
	case "length":
		return int64(n)
	case "depth":
		return int64(1)
	case "depth0":
		return int64(0)
	case "previtem":
		if l.i > 0 {
			return l.items[l.i-1]
		}
	case "nextitem":
		if l.i < n-1 {
			return l.items[l.i+1]
		}
	case "cycle":
		return &Func{name: "loop.cycle", call: func(_ *renderer, args []any, _ map[string]any) (any, error) {
			if len(args) == 0 {
				return nil, fmt.Errorf("no items for cycling given")
			}
			return args[l.i%len(args)], nil
		}}
	}
	return Undefined{name: "loop." + name}
}

func undefinedErr(u Undefined) error {
	return fmt.Errorf("'%s' is undefined", u.name)
}

func getAttr(obj any, name string) (any, error) {
	switch o := obj.(type) {
	case Undefined:
		return nil, undefinedErr(o)
	case *Dict:
		if m := dictMethod(o, name); m != nil {
			return m, nil
		}
		if v, ok := o.m[name]; ok {
			return v, nil
		}
	case *Namespace:
		if v, ok := o.d.m[name]; ok {
			return v, nil
		}
	case *loopInfo:
		return o.attr(name), nil
	case string:
		if m := strMethod(o, name); m != nil {
			return m, nil
		}
	case []any, Tuple:
		l, _ := seq(o)
		if m := listMethod(l, name); m != nil {
			return m, nil
		}
	}
	return Undefined{name: fmt.Sprintf("%s object' has no attribute '%s", typeName(obj), name)}, nil
}

func getItem(obj, key any) (any, error) {
	switch o := obj.(type) {
	case Undefined:
		return nil, undefinedErr(o)
	case *Dict:
		if k, ok := key.(string); ok {
			if v, ok := o.m[k]; ok {
				return v, nil
			}
			return getAttr(obj, k)
		}
	case []any, Tuple:
		l, _ := seq(o)
		if i, ok := asInt(key); ok {
			if i < 0 {
				i += int64(len(l))
			}
			if i >= 0 && i < int64(len(l)) {
				return l[i], nil
			}
			return Undefined{name: "list index out of range"}, nil
		}
	case string:
		if i, ok := asInt(key); ok {
			rs := []rune(o)
			if i < 0 {
				i += int64(len(rs))
			}
			if i >= 0 && i < int64(len(rs)) {
				return string(rs[i]), nil
			}
			return Undefined{name: "string index out of range"}, nil
		}
	}
	if k, ok := key.(string); ok {
		return getAttr(obj, k)
	}
	return Undefined{name: fmt.Sprintf("%s object' has no element %s", typeName(obj), repr(key))}, nil
}

// sliceBounds is Python's slice.indices.
func sliceBounds(n int64, start, stop, step *int64) (int64, int64, int64, error) {
	st := int64(1)
	if step != nil {
		st = *step
	}
	if st == 0 {
		return 0, 0, 0, fmt.Errorf("slice step cannot be zero")
	}
	clamp := func(p *int64, def int64) int64 {
		if p == nil {
			return def
		}
		v := *p
		if v < 0 {
			v += n
			if v < 0 {
				if st < 0 {
					return -1
				}
				return 0
			}
		}
		if v >= n {
			if st < 0 {
				return n - 1
			}
			return n
		}
		return v
	}
	if st > 0 {
		return clamp(start, 0), clamp(stop, n), st, nil
	}
	return clamp(start, n-1), clamp(stop, -1), st, nil
}

func slice(obj any, start, stop, step *int64) (any, error) {
	var n int64
	var rs []rune
	switch o := obj.(type) {
	case []any:
		n = int64(len(o))
	case Tuple:
		n = int64(len(o))
	case string:
		rs = []rune(o)
		n = int64(len(rs))
	case Undefined:
		return nil, undefinedErr(o)
	default:
		// Jinja turns the TypeError of subscripting a scalar into Undefined.
		return Undefined{name: fmt.Sprintf("'%s' object is not subscriptable", typeName(obj))}, nil
	}
	a, b, st, err := sliceBounds(n, start, stop, step)
	if err != nil {
		return nil, err
	}
	idx := make([]int64, stepCount(a, b, st))
	for k := range idx {
		idx[k] = a + int64(k)*st
	}
	if l, ok := seq(obj); ok {
		out := make([]any, len(idx))
		for j, i := range idx {
			out[j] = l[i]
		}
		if _, isTuple := obj.(Tuple); isTuple {
			return Tuple(out), nil
		}
		return out, nil
	}
	out := make([]rune, len(idx))
	for j, i := range idx {
		out[j] = rs[i]
	}
	return string(out), nil
}

// stepCount is how many of a, a+st, a+2st, ... lie before b (st != 0),
// computed without overflow.
func stepCount(a, b, st int64) int64 {
	var span, step uint64
	switch {
	case st > 0 && b > a:
		span, step = uint64(b-a), uint64(st)
	case st < 0 && a > b:
		span, step = uint64(a-b), uint64(-(st+1))+1
	default:
		return 0
	}
	n := (span-1)/step + 1
	if n > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(n)
}

func iterate(v any) ([]any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case Tuple:
		return x, nil
	case string:
		out := make([]any, 0, len(x))
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, nil
	case *Dict:
		out := make([]any, len(x.keys))
		for i, k := range x.keys {
			out[i] = k
		}
		return out, nil
	case Undefined:
		return nil, nil
	}
	return nil, fmt.Errorf("'%s' object is not iterable", typeName(v))
}

func length(v any) (int64, error) {
	switch x := v.(type) {
	case string:
		return int64(utf8.RuneCountInString(x)), nil
	case []any:
		return int64(len(x)), nil
	case Tuple:
		return int64(len(x)), nil
	case *Dict:
		return int64(x.Len()), nil
	case Undefined:
		return 0, nil
	}
	return 0, fmt.Errorf("object of type '%s' has no len()", typeName(v))
}

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

type filterFunc func(r *renderer, v any, args []any, kw map[string]any) (any, error)
type testFunc func(v any, args []any) (bool, error)

var (
	filters map[string]filterFunc
	tests   map[string]testFunc
	globals map[string]*Func
)

func init() {
	filters = map[string]filterFunc{
		"trim":       fTrim,
		"length":     func(_ *renderer, v any, _ []any, _ map[string]any) (any, error) { return length(v) },
		"tojson":     fToJSON,
		"upper":      strFilter(pyUpper),
		"lower":      strFilter(pyLower),
		"capitalize": strFilter(capitalize),
		"title":      strFilter(jinjaTitle),
		"replace":    func(_ *renderer, v any, args []any, _ map[string]any) (any, error) { return replaceN(str(v), args) },
		"default":    fDefault,
		"first":      fFirst,
		"last":       fLast,
		"join":       fJoin,
		"selectattr": selectFilter(true, true),
		"rejectattr": selectFilter(true, false),
		"select":     selectFilter(false, true),
		"reject":     selectFilter(false, false),
		"map":        fMap,
		"list": func(_ *renderer, v any, _ []any, _ map[string]any) (any, error) {
			l, err := iterate(v)
			return listOf(append([]any{}, l...)), err
		},
		"string":    func(_ *renderer, v any, _ []any, _ map[string]any) (any, error) { return str(v), nil },
		"safe":      func(_ *renderer, v any, _ []any, _ map[string]any) (any, error) { return v, nil },
		"int":       fInt,
		"float":     fFloat,
		"abs":       fAbs,
		"items":     fItems,
		"dictsort":  fDictsort,
		"sort":      fSort,
		"unique":    fUnique,
		"reverse":   fReverse,
		"indent":    fIndent,
		"wordcount": fWordcount,
		"format":    fFormat,
		"sum":       fSum,
		"min":       minMax(true),
		"max":       minMax(false),
		"escape":    strFilter(htmlEscape),
		"round":     fRound,
	}
	filters["count"] = filters["length"]
	filters["d"] = filters["default"]
	filters["e"] = filters["escape"]

	tests = map[string]testFunc{
		"defined":   func(v any, _ []any) (bool, error) { _, u := v.(Undefined); return !u, nil },
		"undefined": func(v any, _ []any) (bool, error) { _, u := v.(Undefined); return u, nil },
		"none":      func(v any, _ []any) (bool, error) { return v == nil, nil },
		"string":    func(v any, _ []any) (bool, error) { _, ok := v.(string); return ok, nil },
		"mapping":   func(v any, _ []any) (bool, error) { _, ok := v.(*Dict); return ok, nil },
		// Undefined iterates as empty and has a length, so Jinja counts it
		// as iterable and as a sequence.
		"iterable": func(v any, _ []any) (bool, error) {
			switch v.(type) {
			case string, []any, Tuple, *Dict, Undefined:
				return true, nil
			}
			return false, nil
		},
		"number":   func(v any, _ []any) (bool, error) { _, ok := number(v); return ok, nil },
		"integer":  func(v any, _ []any) (bool, error) { _, ok := v.(int64); return ok, nil },
		"float":    func(v any, _ []any) (bool, error) { _, ok := v.(float64); return ok, nil },
		"boolean":  func(v any, _ []any) (bool, error) { _, ok := v.(bool); return ok, nil },
		"true":     func(v any, _ []any) (bool, error) { return v == true, nil },
		"false":    func(v any, _ []any) (bool, error) { return v == false, nil },
		"callable": func(v any, _ []any) (bool, error) { _, ok := v.(*Func); return ok, nil },
		"odd":      parityTest(false),
		"even":     parityTest(true),
		"divisibleby": func(v any, args []any) (bool, error) {
			x, ok1 := asInt(v)
			if len(args) != 1 {
				return false, fmt.Errorf("divisibleby takes one argument")
			}
			y, ok2 := asInt(args[0])
			if !ok1 || !ok2 || y == 0 {
				return false, fmt.Errorf("divisibleby needs nonzero integers")
			}
			return x%y == 0, nil
		},
		"lower": func(v any, _ []any) (bool, error) { s, ok := v.(string); return ok && s == pyLower(s), nil },
		"upper": func(v any, _ []any) (bool, error) { s, ok := v.(string); return ok && s == pyUpper(s), nil },
		"sameas": func(v any, args []any) (bool, error) {
			if len(args) != 1 {
				return false, fmt.Errorf("sameas takes one argument")
			}
			switch v.(type) {
			case nil, bool:
				return v == args[0], nil
			}
			return false, nil
		},
		"in": func(v any, args []any) (bool, error) {
			if len(args) != 1 {
				return false, fmt.Errorf("in takes one argument")
			}
			return contained(v, args[0])
		},
		"sequence": func(v any, _ []any) (bool, error) {
			switch v.(type) {
			case string, []any, Tuple, *Dict, Undefined:
				return true, nil
			}
			return false, nil
		},
	}
	for _, op := range [][]string{{"eq", "=="}, {"equalto", "=="}, {"==", "=="}, {"ne", "!="}, {"!=", "!="},
		{"lt", "<"}, {"lessthan", "<"}, {"<", "<"}, {"le", "<="}, {"<=", "<="},
		{"gt", ">"}, {"greaterthan", ">"}, {">", ">"}, {"ge", ">="}, {">=", ">="}} {
		cmp := op[1]
		tests[op[0]] = func(v any, args []any) (bool, error) {
			if len(args) != 1 {
				return false, fmt.Errorf("test takes one argument")
			}
			return compare(cmp, v, args[0])
		}
	}

	globals = map[string]*Func{
		"raise_exception": {name: "raise_exception", call: func(_ *renderer, args []any, _ map[string]any) (any, error) {
			msg := ""
			if len(args) > 0 {
				msg = str(args[0])
			}
			return nil, &ExceptionError{Msg: msg}
		}},
		"range":        {name: "range", call: gRange},
		"namespace":    {name: "namespace", call: gNamespace},
		"dict":         {name: "dict", call: gDict},
		"strftime_now": {name: "strftime_now", call: gStrftimeNow},
	}
}

// parityTest is Jinja's odd/even: value % 2 == 0 or == 1, so floats work
// too (0.5 is neither).
func parityTest(even bool) testFunc {
	want := int64(1)
	if even {
		want = 0
	}
	return func(v any, _ []any) (bool, error) {
		m, err := arith("%", v, int64(2))
		if err != nil {
			return false, err
		}
		return equal(m, want), nil
	}
}

func strFilter(f func(string) string) filterFunc {
	return func(_ *renderer, v any, _ []any, _ map[string]any) (any, error) { return f(str(v)), nil }
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

// fWordcount counts runs of Python regex \w (letters, digits, '_').
func fWordcount(_ *renderer, v any, _ []any, _ map[string]any) (any, error) {
	n, in := int64(0), false
	for _, r := range str(v) {
		w := unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_'
		if w && !in {
			n++
		}
		in = w
	}
	return n, nil
}

// fFormat is Jinja's format filter: value % args (or % kwargs).
func fFormat(_ *renderer, v any, args []any, kw map[string]any) (any, error) {
	if len(args) > 0 && len(kw) > 0 {
		return nil, fmt.Errorf("can't handle positional and keyword arguments at the same time")
	}
	if len(kw) > 0 {
		d, err := kwDict(nil, kw)
		if err != nil {
			return nil, err
		}
		return pyPercent(str(v), d)
	}
	return pyPercent(str(v), Tuple(args))
}

func fTrim(_ *renderer, v any, args []any, _ map[string]any) (any, error) {
	chars, ok, err := argStr(args, 0, "chars")
	if err != nil {
		return nil, err
	}
	if ok {
		return stripChars(str(v), chars, true, true), nil
	}
	return Strip(str(v)), nil
}

func fDefault(_ *renderer, v any, args []any, kw map[string]any) (any, error) {
	var def any = ""
	if len(args) > 0 {
		def = args[0]
	} else if d, ok := kw["default_value"]; ok {
		def = d
	}
	boolean := len(args) > 1 && truthy(args[1]) || truthy(kw["boolean"])
	if _, u := v.(Undefined); u || (boolean && !truthy(v)) {
		return def, nil
	}
	return v, nil
}

func fFirst(_ *renderer, v any, _ []any, _ map[string]any) (any, error) {
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return Undefined{name: "No first item, sequence was empty."}, nil
	}
	return items[0], nil
}

func fLast(_ *renderer, v any, _ []any, _ map[string]any) (any, error) {
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return Undefined{name: "No last item, sequence was empty."}, nil
	}
	return items[len(items)-1], nil
}

func attrPath(v any, path string) (any, error) {
	for _, part := range strings.Split(path, ".") {
		var err error
		if i, e := strconv.Atoi(part); e == nil {
			v, err = getItem(v, int64(i))
		} else {
			v, err = getItem(v, part)
		}
		if err != nil {
			return nil, err
		}
	}
	return v, nil
}

func fJoin(_ *renderer, v any, args []any, kw map[string]any) (any, error) {
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	sep := ""
	if len(args) > 0 {
		sep = str(args[0])
	} else if d, ok := kw["d"]; ok {
		sep = str(d)
	}
	attr, hasAttr := kw["attribute"]
	if len(args) > 1 {
		attr, hasAttr = args[1], true
	}
	parts := make([]string, len(items))
	total := 0
	for i, e := range items {
		if hasAttr {
			if e, err = attrPath(e, str(attr)); err != nil {
				return nil, err
			}
		}
		parts[i] = str(e)
		if total += len(parts[i]) + len(sep); total > maxOutput {
			return nil, fmt.Errorf("joined string longer than %d bytes", maxOutput)
		}
	}
	return strings.Join(parts, sep), nil
}

func selectFilter(byAttr, keep bool) filterFunc {
	return func(_ *renderer, v any, args []any, _ map[string]any) (any, error) {
		if !truthy(v) { // Jinja's select_or_reject skips a falsy sequence, even None
			return []any{}, nil
		}
		items, err := iterate(v)
		if err != nil {
			return nil, err
		}
		attr := ""
		if byAttr {
			if len(args) == 0 {
				return nil, fmt.Errorf("missing attribute name")
			}
			attr = str(args[0])
			args = args[1:]
		}
		test := func(x any, _ []any) (bool, error) { return truthy(x), nil }
		if len(args) > 0 {
			name := str(args[0])
			t, ok := tests[name]
			if !ok {
				return nil, fmt.Errorf("no test named %q", name)
			}
			test, args = t, args[1:]
		}
		out := []any{}
		for _, e := range items {
			x := e
			if byAttr {
				if x, err = attrPath(e, attr); err != nil {
					return nil, err
				}
			}
			ok, err := test(x, args)
			if err != nil {
				return nil, err
			}
			if ok == keep {
				out = append(out, e)
			}
		}
		return out, nil
	}
}

func fMap(r *renderer, v any, args []any, kw map[string]any) (any, error) {
	if !truthy(v) { // as Jinja's do_map: a falsy sequence, even None, maps to nothing
		return []any{}, nil
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(items))
	if attr, ok := kw["attribute"]; ok {
		def, hasDef := kw["default"]
		for i, e := range items {
			x, err := attrPath(e, str(attr))
			if err != nil {
				return nil, err
			}
			if _, u := x.(Undefined); u && hasDef {
				x = def
			}
			out[i] = x
		}
		return out, nil
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("map needs a filter name or attribute=")
	}
	name := str(args[0])
	f, ok := filters[name]
	if !ok {
		return nil, fmt.Errorf("no filter named %q", name)
	}
	for i, e := range items {
		x, err := f(r, e, args[1:], kw)
		if err != nil {
			return nil, err
		}
		out[i] = x
	}
	return out, nil
}

func fInt(_ *renderer, v any, args []any, _ map[string]any) (any, error) {
	var def any = int64(0)
	if len(args) > 0 {
		def = args[0]
	}
	switch x := v.(type) {
	case int64:
		return x, nil
	case bool:
		i, _ := asInt(x)
		return i, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return def, nil
		}
		if math.Abs(x) >= 1<<63 {
			return nil, fmt.Errorf("%s does not fit a 64-bit integer", pyFloat(x))
		}
		return int64(x), nil
	case string:
		s := strings.ReplaceAll(Strip(x), "_", "")
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) < 1<<63 {
			return int64(f), nil
		}
	}
	return def, nil
}

func fFloat(_ *renderer, v any, args []any, _ map[string]any) (any, error) {
	var def any = 0.0
	if len(args) > 0 {
		def = args[0]
	}
	if f, ok := number(v); ok {
		return f, nil
	}
	if s, ok := v.(string); ok {
		if f, err := strconv.ParseFloat(Strip(s), 64); err == nil {
			return f, nil
		}
	}
	return def, nil
}

func fAbs(_ *renderer, v any, _ []any, _ map[string]any) (any, error) {
	switch x := v.(type) {
	case int64:
		if x == math.MinInt64 {
			return nil, fmt.Errorf("integer overflow")
		}
		if x < 0 {
			return -x, nil
		}
		return x, nil
	case float64:
		return math.Abs(x), nil
	case bool:
		i, _ := asInt(x)
		return i, nil
	}
	return nil, fmt.Errorf("bad operand type for abs(): '%s'", typeName(v))
}

func fRound(_ *renderer, v any, args []any, kw map[string]any) (any, error) {
	f, ok := number(v)
	if !ok {
		return nil, fmt.Errorf("round needs a number")
	}
	prec := int64(0)
	if len(args) > 0 {
		prec, _ = asInt(args[0])
	}
	method := "common"
	if len(args) > 1 {
		method = str(args[1])
	} else if m, ok := kw["method"]; ok {
		method = str(m)
	}
	p := math.Pow(10, float64(prec))
	switch method {
	case "common":
		if i, ok := asInt(v); ok && prec >= 0 {
			return i, nil // Python's round keeps an int an int
		}
		return math.RoundToEven(f*p) / p, nil // Python's round: halves to even
	case "floor":
		return math.Floor(f*p) / p, nil
	case "ceil":
		return math.Ceil(f*p) / p, nil
	}
	return nil, fmt.Errorf("method must be common, ceil or floor")
}

func fItems(_ *renderer, v any, _ []any, _ map[string]any) (any, error) {
	switch d := v.(type) {
	case *Dict:
		return dictMethod(d, "items").call(nil, nil, nil)
	case Undefined:
		return []any{}, nil
	}
	return nil, fmt.Errorf("can only get item pairs from a mapping")
}

func sortKey(v any, caseSensitive bool) any {
	if s, ok := v.(string); ok && !caseSensitive {
		return pyLower(s)
	}
	return v
}

func sortItems(items []any, key func(any) (any, error), reverse bool) ([]any, error) {
	out := append([]any{}, items...)
	keys := make([]any, len(out))
	for i, e := range out {
		k, err := key(e)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	var sortErr error
	sort.SliceStable(idx, func(a, b int) bool {
		x, y := keys[idx[a]], keys[idx[b]]
		if reverse {
			x, y = y, x
		}
		lt, err := less(x, y)
		if err != nil && sortErr == nil {
			sortErr = err
		}
		return lt
	})
	if sortErr != nil {
		return nil, sortErr
	}
	sorted := make([]any, len(out))
	for i, j := range idx {
		sorted[i] = out[j]
	}
	return sorted, nil
}

func fSort(_ *renderer, v any, args []any, kw map[string]any) (any, error) {
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	reverse := len(args) > 0 && truthy(args[0]) || truthy(kw["reverse"])
	caseSensitive := len(args) > 1 && truthy(args[1]) || truthy(kw["case_sensitive"])
	attr, hasAttr := kw["attribute"]
	if len(args) > 2 {
		attr, hasAttr = args[2], true
	}
	return sortItems(items, func(e any) (any, error) {
		if hasAttr {
			var err error
			if e, err = attrPath(e, str(attr)); err != nil {
				return nil, err
			}
		}
		return sortKey(e, caseSensitive), nil
	}, reverse)
}

func fDictsort(_ *renderer, v any, args []any, kw map[string]any) (any, error) {
	d, ok := v.(*Dict)
	if !ok {
		return nil, fmt.Errorf("dictsort needs a mapping")
	}
	pairs, _ := dictMethod(d, "items").call(nil, nil, nil)
	caseSensitive := len(args) > 0 && truthy(args[0]) || truthy(kw["case_sensitive"])
	byValue := len(args) > 1 && str(args[1]) == "value" || str(kw["by"]) == "value"
	reverse := len(args) > 2 && truthy(args[2]) || truthy(kw["reverse"])
	pos := 0
	if byValue {
		pos = 1
	}
	return sortItems(pairs.([]any), func(e any) (any, error) {
		pair, _ := seq(e)
		return sortKey(pair[pos], caseSensitive), nil
	}, reverse)
}

func fUnique(_ *renderer, v any, _ []any, kw map[string]any) (any, error) {
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	caseSensitive := truthy(kw["case_sensitive"])
	var out, seen []any
	for _, e := range items {
		k := sortKey(e, caseSensitive)
		dup := false
		for _, s := range seen {
			if equal(s, k) {
				dup = true
				break
			}
		}
		if !dup {
			seen = append(seen, k)
			out = append(out, e)
		}
	}
	return listOf(out), nil
}

func fReverse(_ *renderer, v any, _ []any, _ map[string]any) (any, error) {
	if s, ok := v.(string); ok {
		rs := []rune(s)
		for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
			rs[i], rs[j] = rs[j], rs[i]
		}
		return string(rs), nil
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(items))
	for i, e := range items {
		out[len(items)-1-i] = e
	}
	return out, nil
}

func fIndent(_ *renderer, v any, args []any, kw map[string]any) (any, error) {
	s := str(v)
	var width any = int64(4)
	if len(args) > 0 {
		width = args[0]
	} else if w, ok := kw["width"]; ok {
		width = w
	}
	pad := ""
	switch w := width.(type) {
	case string:
		pad = w
	default:
		n, ok := asInt(w)
		if !ok || n < 0 || n > 1<<16 {
			return nil, fmt.Errorf("bad indent width %s", repr(w))
		}
		pad = strings.Repeat(" ", int(n))
	}
	first := len(args) > 1 && truthy(args[1]) || truthy(kw["first"])
	blank := len(args) > 2 && truthy(args[2]) || truthy(kw["blank"])
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if i == 0 && !first {
			continue
		}
		if l == "" && !blank {
			continue
		}
		lines[i] = pad + l
	}
	return strings.Join(lines, "\n"), nil
}

func fSum(_ *renderer, v any, args []any, kw map[string]any) (any, error) {
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	var total any = int64(0)
	if s, ok := kw["start"]; ok {
		total = s
	}
	attr, hasAttr := kw["attribute"]
	if len(args) > 0 {
		attr, hasAttr = args[0], true
	}
	for _, e := range items {
		if hasAttr {
			if e, err = attrPath(e, str(attr)); err != nil {
				return nil, err
			}
		}
		if total, err = arith("+", total, e); err != nil {
			return nil, err
		}
	}
	return total, nil
}

func minMax(isMin bool) filterFunc {
	return func(_ *renderer, v any, _ []any, kw map[string]any) (any, error) {
		items, err := iterate(v)
		if err != nil {
			return nil, err
		}
		if len(items) == 0 {
			return Undefined{name: "empty sequence"}, nil
		}
		cs := truthy(kw["case_sensitive"])
		best := items[0]
		for _, e := range items[1:] {
			lt, err := less(sortKey(e, cs), sortKey(best, cs))
			if err != nil {
				return nil, err
			}
			gt, _ := less(sortKey(best, cs), sortKey(e, cs))
			if (isMin && lt) || (!isMin && gt) {
				best = e
			}
		}
		return best, nil
	}
}

func gRange(_ *renderer, args []any, _ map[string]any) (any, error) {
	var n [3]int64
	n[2] = 1
	for i, a := range args {
		v, ok := asInt(a)
		if !ok || i > 2 {
			return nil, fmt.Errorf("range takes up to 3 integers")
		}
		n[i] = v
	}
	start, stop, step := int64(0), n[0], n[2]
	switch len(args) {
	case 0:
		return nil, fmt.Errorf("range expected at least 1 argument")
	case 2, 3:
		start, stop = n[0], n[1]
	}
	if step == 0 {
		return nil, fmt.Errorf("range() arg 3 must not be zero")
	}
	count := stepCount(start, stop, step)
	if count > maxRange {
		return nil, fmt.Errorf("range longer than %d", maxRange)
	}
	out := make([]any, count)
	for k := range out {
		out[k] = start + int64(k)*step
	}
	return out, nil
}

func kwDict(args []any, kw map[string]any) (*Dict, error) {
	d := NewDict()
	if len(args) > 1 {
		return nil, fmt.Errorf("expected at most 1 positional argument")
	}
	if len(args) == 1 {
		src, ok := args[0].(*Dict)
		if !ok {
			return nil, fmt.Errorf("positional argument must be a mapping")
		}
		for _, k := range src.keys {
			d.Set(k, src.m[k])
		}
	}
	keys := make([]string, 0, len(kw))
	for k := range kw {
		keys = append(keys, k)
	}
	sort.Strings(keys) // Go maps lose call order; sorting keeps output stable
	for _, k := range keys {
		d.Set(k, kw[k])
	}
	return d, nil
}

func gNamespace(_ *renderer, args []any, kw map[string]any) (any, error) {
	d, err := kwDict(args, kw)
	if err != nil {
		return nil, err
	}
	return &Namespace{d: d}, nil
}

func gDict(_ *renderer, args []any, kw map[string]any) (any, error) { return kwDict(args, kw) }

// Now is the clock strftime_now reads; tests replace it.
var Now = time.Now

func gStrftimeNow(_ *renderer, args []any, _ map[string]any) (any, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("strftime_now takes one format string")
	}
	f, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("format must be a string")
	}
	return strftime(Now(), f), nil
}

// strftime covers the C directives chat templates use.
func strftime(t time.Time, f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'e':
			fmt.Fprintf(&b, "%2d", t.Day())
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'Y':
			fmt.Fprintf(&b, "%d", t.Year())
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'b', 'h':
			b.WriteString(t.Month().String()[:3])
		case 'B':
			b.WriteString(t.Month().String())
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'A':
			b.WriteString(t.Weekday().String())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	return b.String()
}
