package jinja

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bayling-go/bayling/internal/pyfmt"
)

// jsonOpts mirror the json.dumps arguments transformers' tojson passes.
type jsonOpts struct {
	indent      string
	hasIndent   bool
	itemSep     string
	keySep      string
	sortKeys    bool
	ensureASCII bool
}

// fToJSON is transformers' tojson override: json.dumps(x,
// ensure_ascii=False, indent=indent, separators=separators,
// sort_keys=sort_keys) — not Jinja's HTML-safe, key-sorting built-in.
func fToJSON(_ *renderer, v any, args []any, kw map[string]any) (any, error) {
	o := jsonOpts{itemSep: ", ", keySep: ": "}
	ind, ok := kw["indent"]
	if len(args) > 0 {
		ind, ok = args[0], true
	}
	if ok && ind != nil {
		o.hasIndent, o.itemSep = true, ","
		switch x := ind.(type) {
		case string:
			o.indent = x
		default:
			n, isInt := asInt(x)
			if !isInt || n > 1<<10 {
				return nil, fmt.Errorf("bad indent %s", repr(ind))
			}
			o.indent = strings.Repeat(" ", int(max(n, 0)))
		}
	}
	if s, ok := kw["separators"]; ok && s != nil {
		l, isList := seq(s)
		if !isList || len(l) != 2 {
			return nil, fmt.Errorf("separators must be a pair of strings")
		}
		o.itemSep, o.keySep = str(l[0]), str(l[1])
	}
	o.sortKeys = truthy(kw["sort_keys"])
	o.ensureASCII = truthy(kw["ensure_ascii"])
	var b strings.Builder
	if err := o.write(&b, v, 0); err != nil {
		return nil, err
	}
	return b.String(), nil
}

func (o *jsonOpts) newline(b *strings.Builder, level int) {
	if o.hasIndent {
		b.WriteByte('\n')
		for i := 0; i < level; i++ {
			b.WriteString(o.indent)
		}
	}
}

func (o *jsonOpts) write(b *strings.Builder, v any, level int) error {
	if level > maxDepth {
		return fmt.Errorf("value nested too deeply")
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		switch {
		case math.IsNaN(x):
			b.WriteString("NaN")
		case math.IsInf(x, 1):
			b.WriteString("Infinity")
		case math.IsInf(x, -1):
			b.WriteString("-Infinity")
		default:
			b.WriteString(pyFloat(x))
		}
	case string:
		o.str(b, x)
	case []any, Tuple:
		items, _ := seq(v)
		if len(items) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i, e := range items {
			if i > 0 {
				b.WriteString(o.itemSep)
			}
			o.newline(b, level+1)
			if err := o.write(b, e, level+1); err != nil {
				return err
			}
		}
		o.newline(b, level)
		b.WriteByte(']')
	case *Dict:
		if x.Len() == 0 {
			b.WriteString("{}")
			return nil
		}
		keys := x.keys
		if o.sortKeys {
			keys = append([]string{}, keys...)
			sort.Strings(keys)
		}
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(o.itemSep)
			}
			o.newline(b, level+1)
			o.str(b, k)
			b.WriteString(o.keySep)
			if err := o.write(b, x.m[k], level+1); err != nil {
				return err
			}
		}
		o.newline(b, level)
		b.WriteByte('}')
	default:
		return fmt.Errorf("Object of type %s is not JSON serializable", typeName(v))
	}
	return nil
}

func (o *jsonOpts) str(b *strings.Builder, s string) { pyfmt.JSONString(b, s, o.ensureASCII) }

// ParseJSON decodes JSON into engine values, keeping object key order so
// tojson reproduces it.
func ParseJSON(data []byte) (any, error) {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	v, err := decodeJSON(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("json: data after the top-level value")
	}
	return v, nil
}

func decodeJSON(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("json: nested too deeply")
	}
	t, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	switch x := t.(type) {
	case json.Delim:
		switch x {
		case '[':
			out := []any{}
			for dec.More() {
				v, err := decodeJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			_, err := dec.Token()
			return out, err
		case '{':
			d := NewDict()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("json: %w", err)
				}
				v, err := decodeJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				d.Set(kt.(string), v)
			}
			_, err := dec.Token()
			return d, err
		}
		return nil, fmt.Errorf("json: unexpected %v", x)
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return nil, fmt.Errorf("json: bad number %s", x)
		}
		return f, nil
	case string:
		if !utf8.ValidString(x) {
			return nil, fmt.Errorf("json: invalid UTF-8")
		}
		return x, nil
	}
	return t, nil // bool or nil
}
