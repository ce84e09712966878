package jinja

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

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
