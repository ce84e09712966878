package jinja

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/bayling-go/bayling/internal/pyfmt"
)

// Values inside the engine are nil (None), bool, int64, float64, string,
// []any (list or tuple), *Dict, *Namespace, Undefined, *Func and *loopInfo.

// Dict is an insertion-ordered mapping with string keys, like a Python dict
// built from JSON.
type Dict struct {
	keys []string
	m    map[string]any
}

// NewDict returns an empty Dict.
func NewDict() *Dict { return &Dict{m: map[string]any{}} }

// Set adds or replaces a key, keeping first-insertion order.
func (d *Dict) Set(k string, v any) {
	if _, ok := d.m[k]; !ok {
		d.keys = append(d.keys, k)
	}
	d.m[k] = v
}

// Get returns the value for k.
func (d *Dict) Get(k string) (any, bool) { v, ok := d.m[k]; return v, ok }

// Keys returns the keys in insertion order.
func (d *Dict) Keys() []string { return d.keys }

// Len is the number of keys.
func (d *Dict) Len() int { return len(d.keys) }

// Tuple is an immutable sequence such as (1, 2) or a dict item pair; it
// prints as a Python tuple.
type Tuple []any

// seq returns the items of a list or tuple.
func seq(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case Tuple:
		return x, true
	}
	return nil, false
}

// Namespace is the object namespace() returns: attributes may be assigned
// with {% set ns.x = ... %}, also from inside loops.
type Namespace struct{ d *Dict }

// Undefined is a missing variable, attribute or item.
type Undefined struct{ name string }

// Func is a callable: a global, filter-like method or macro.
type Func struct {
	name string
	call func(r *renderer, args []any, kw map[string]any) (any, error)
}

// FromGo converts Go data into engine values: maps with string keys become
// Dicts with sorted keys (Go maps have no order; use *Dict or ParseJSON to
// keep one), slices become lists, integer and float kinds widen.
func FromGo(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, int64, float64, string, *Dict, *Namespace, Undefined:
		return v, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case float32:
		return float64(x), nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := FromGo(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = c
		}
		return out, nil
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out, nil
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := FromGo(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := NewDict()
		for _, k := range keys {
			c, err := FromGo(x[k])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			d.Set(k, c)
		}
		return d, nil
	case map[string]string:
		d := NewDict()
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			d.Set(k, x[k])
		}
		return d, nil
	}
	return nil, fmt.Errorf("unsupported Go type %T", v)
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil, Undefined:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case Tuple:
		return len(x) > 0
	case *Dict:
		return x.Len() > 0
	}
	return true
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case Undefined:
		return "Undefined"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []any:
		return "list"
	case Tuple:
		return "tuple"
	case *Dict:
		return "dict"
	case *Namespace:
		return "Namespace"
	case *Func:
		return "function"
	case *loopInfo:
		return "LoopContext"
	}
	return fmt.Sprintf("%T", v)
}

// str is Python's str() as Jinja prints values.
func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case Undefined:
		return ""
	}
	return repr(v)
}

// repr is Python's repr() for the engine's values.
func repr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case Undefined:
		return "Undefined"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return pyFloat(x)
	case string:
		return pyRepr(x)
	case []any:
		return reprItems("[", "]", len(x), func(i int) string { return repr(x[i]) })
	case Tuple:
		if len(x) == 1 {
			return "(" + repr(x[0]) + ",)"
		}
		return reprItems("(", ")", len(x), func(i int) string { return repr(x[i]) })
	case *Dict:
		return reprItems("{", "}", len(x.keys), func(i int) string {
			return pyRepr(x.keys[i]) + ": " + repr(x.m[x.keys[i]])
		})
	case *Namespace:
		return "<Namespace " + repr(x.d) + ">"
	case *Func:
		return "<function " + x.name + ">"
	}
	return fmt.Sprint(v)
}

// reprItems joins item reprs with ", ". A list can hold a million
// references to one huge string, so the text stops growing just past
// maxOutput: too long to be written or concatenated, both of which fail.
func reprItems(open, close string, n int, item func(int) string) string {
	var b strings.Builder
	b.WriteString(open)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(item(i))
		if b.Len() > maxOutput {
			return b.String()
		}
	}
	b.WriteString(close)
	return b.String()
}

// pyFloat formats like Python's float repr.
func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	return pyfmt.Float(f)
}

// pyRepr quotes a string the way Python's repr does.
func pyRepr(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0 || r == 0xad:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// equal is Python ==.
func equal(a, b any) bool {
	if fa, ok := number(a); ok {
		if fb, ok := number(b); ok {
			return fa == fb
		}
		return false
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case Undefined:
		_, ok := b.(Undefined)
		return ok
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any, Tuple:
		if typeName(a) != typeName(b) {
			return false
		}
		xs, _ := seq(a)
		ys, _ := seq(b)
		if len(xs) != len(ys) {
			return false
		}
		for i := range xs {
			if !equal(xs[i], ys[i]) {
				return false
			}
		}
		return true
	case *Dict:
		y, ok := b.(*Dict)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for _, k := range x.keys {
			w, ok := y.m[k]
			if !ok || !equal(x.m[k], w) {
				return false
			}
		}
		return true
	}
	return a == b
}

// number widens bool, int and float for arithmetic and comparison.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case int64:
		return x, true
	}
	return 0, false
}

// less is Python <, for numbers, strings and lists.
func less(a, b any) (bool, error) {
	if x, ok := asInt(a); ok {
		if y, ok := asInt(b); ok {
			return x < y, nil
		}
	}
	if x, ok := number(a); ok {
		if y, ok := number(b); ok {
			return x < y, nil
		}
	}
	if x, ok := a.(string); ok {
		if y, ok := b.(string); ok {
			return x < y, nil
		}
	}
	if x, ok := seq(a); ok {
		if y, ok := seq(b); ok && typeName(a) == typeName(b) {
			for i := 0; i < len(x) && i < len(y); i++ {
				if equal(x[i], y[i]) {
					continue
				}
				return less(x[i], y[i])
			}
			return len(x) < len(y), nil
		}
	}
	return false, fmt.Errorf("'<' not supported between instances of '%s' and '%s'", typeName(a), typeName(b))
}
