package jinja

import (
	"fmt"
	"math"
	"unicode/utf8"
)

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
