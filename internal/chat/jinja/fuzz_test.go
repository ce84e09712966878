package jinja

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseRender: any template text must parse or fail cleanly, and a
// parsed template must render or fail cleanly — never panic or hang.
func FuzzParseRender(f *testing.F) {
	for _, s := range []string{
		"{{ x }}",
		"{% for m in messages %}{{ m.role }}: {{ m.content | trim }}\n{% endfor %}",
		"{%- if a is defined and a.b[1:] -%}{{ a.b ~ 'x' }}{% elif c %}{% else %}{% endif %}",
		"{% set ns = namespace(k=1) %}{% set ns.k = ns.k * 2 %}{{ ns.k | tojson(indent=2) }}",
		"{% macro m(x, y=2) %}{{ x ~ y }}{% endmacro %}{{ m(1) }}{# c #}{% raw %}{{{% endraw %}",
		"{{ {'a': [1, 2.5, none, true]} | items | list }}{{ 'a,b'.split(',') }}{{ range(3) | join }}",
		"{% for a, b in d.items() if a %}{{ loop.index }}{% break %}{% endfor %}",
		"{{ raise_exception('x') }}",
	} {
		f.Add(s)
	}
	vars := map[string]any{
		"messages": []any{map[string]any{"role": "user", "content": " hi "}},
		"a":        map[string]any{"b": "xyz"},
		"d":        map[string]any{"k": int64(1)},
		"c":        true,
	}
	Now = func() time.Time { return time.Unix(0, 0).UTC() }
	f.Fuzz(func(t *testing.T, src string) {
		tp, err := Parse(src, HF)
		if err != nil {
			return
		}
		_, _ = tp.Render(vars)
	})
}

func TestRunawayTemplatesFail(t *testing.T) {
	for _, src := range []string{
		"{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
		"{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
		"{% set ns = namespace(s='xx') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
		"{{ 'x' * 100000000000 }}",
		"{{ range(10000000000) | length }}",
		"{{ 2 ** 64 }}",
		"{{ 9223372036854775807 + 1 }}",
	} {
		tp, err := Parse(src, HF)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if _, err := tp.Render(nil); err == nil {
			t.Errorf("%q: no error", src)
		}
	}
}

func TestParseErrorsNameLine(t *testing.T) {
	_, err := Parse("line one\n{{ x + }}", HF)
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("got %v", err)
	}
	_, err = Parse("{% for x in y %}", HF)
	if err == nil || !strings.Contains(err.Error(), "endfor") {
		t.Fatalf("got %v", err)
	}
}

// FuzzParseJSON: request bodies reach ParseJSON; it must never panic.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`[{"role":"user","content":"hi"}]`, `{"a":[1,2.5,null,true,"x"]}`, `"s"`, `[`, `{"a":}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseJSON(b)
		if err != nil {
			return
		}
		if _, err := fToJSON(nil, v, nil, nil); err != nil {
			t.Fatalf("tojson of parsed JSON failed: %v", err)
		}
	})
}

func TestHugeStepsAndExpansions(t *testing.T) {
	cases := map[string]string{
		"{{ 'abc'[1::9223372036854775807] }}":                               "b",
		"{{ 'abc'[::-9223372036854775807] }}":                               "c",
		"{{ [1,2,3][::-9223372036854775807 - 1] }}":                         "[3]",
		"{{ range(1, 9223372036854775807, 9223372036854775807) | list }}":   "[1]",
		"{{ range(5, -9223372036854775807, -9223372036854775807) | list }}": "[5, -9223372036854775802]",
		"{{ (1,) }}{{ (1, 2,) }}":                                           "(1,)(1, 2)",
		"{{ range(10, 0, -3) | list }}":                                     "[10, 7, 4, 1]",
	}
	for src, want := range cases {
		tp, err := Parse(src, HF)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		got, err := tp.Render(nil)
		if err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", src, got, err, want)
		}
	}
	for _, src := range []string{
		"{% set s = 'x' * 700000 %}{{ ([s] * 100) | join }}",
		"{% set s = 'x' * 700000 %}{{ [s] * 100 }}",
		"{% set s = 'a' * 1000000 %}{{ s.replace('a', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb') }}",
		"{{ ('%65000s' * 300) % ((1,) * 300) }}",
	} {
		tp, err := Parse(src, HF)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if _, err := tp.Render(nil); err == nil {
			t.Errorf("%.40s...: no error", src)
		}
	}
}
