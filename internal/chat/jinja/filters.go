package jinja

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

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
