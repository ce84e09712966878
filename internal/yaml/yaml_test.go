package yaml

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	src := `# a recipe
name: demo   # trailing comment
seed: 42
ratio: 0.306
enabled: true
empty:
langs: [eng_Latn, "zho_Hans", 'fra_Latn']
caps: {eng_Latn: 10, zho_Hans: 20}
inputs:
  - path: flores/dev
    kind: flores
  - path: "a # not a comment.tsv"
    kind: tsv
nested:
  deep:
    list:
    - 1
    - two
prompt: |
  line one
    indented
  line three
folded: >-
  a
  b
url: http://x/y#frag
`
	got, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"name": "demo", "seed": int64(42), "ratio": 0.306, "enabled": true, "empty": nil,
		"langs": []any{"eng_Latn", "zho_Hans", "fra_Latn"},
		"caps":  map[string]any{"eng_Latn": int64(10), "zho_Hans": int64(20)},
		"inputs": []any{
			map[string]any{"path": "flores/dev", "kind": "flores"},
			map[string]any{"path": "a # not a comment.tsv", "kind": "tsv"},
		},
		"nested": map[string]any{"deep": map[string]any{"list": []any{int64(1), "two"}}},
		"prompt": "line one\n  indented\nline three\n",
		"folded": "a b",
		"url":    "http://x/y#frag",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
}

func TestDecodeStruct(t *testing.T) {
	type In struct {
		Path string `json:"path"`
	}
	var cfg struct {
		Seed   int     `json:"seed"`
		LR     float64 `json:"lr"`
		Inputs []In    `json:"inputs"`
	}
	if err := Decode([]byte("seed: 7\nlr: 3e-4\ninputs:\n- path: a\n- path: b\n"), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Seed != 7 || cfg.LR != 3e-4 || len(cfg.Inputs) != 2 || cfg.Inputs[1].Path != "b" {
		t.Fatalf("got %+v", cfg)
	}
	err := Decode([]byte("seed: 7\nsede: 8\n"), &cfg)
	if err == nil || !strings.Contains(err.Error(), "sede") {
		t.Fatalf("unknown field not reported: %v", err)
	}
}

func TestErrorsNameLines(t *testing.T) {
	cases := map[string]string{
		"a: 1\n  b: 2\n":        "line 2",
		"a: [1, 2\n":            "line 1",
		"a: \"open\n":           "line 1",
		"a: 1\na: 2\n":          "line 2: duplicate key",
		"a: &x 1\n":             "line 1: anchors",
		"a: 1\n---\nb: 2\n":     "line 2: multiple documents",
		"x:\n  - 1\n  bad: 2\n": "line 3",
		"\ta: 1\n":              "line 1: tab",
	}
	for src, want := range cases {
		_, err := Parse([]byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", src, err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("a: 1\nb: [x, {y: z}]\nc:\n  - d: |\n      text\n"))
	f.Add([]byte("- a\n- - b\n  - c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Parse(data) // must not panic
	})
}

func TestMultiLineFlowAndBlockBrackets(t *testing.T) {
	src := "langs: [a, b,\n  c, \"d]\",\n  e]   # five\nmap: {x: 1,\n  y: [2, 3]}\ntext: |\n  [not a list\n  still text\nafter: 1\n"
	got, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"langs": []any{"a", "b", "c", "d]", "e"},
		"map":   map[string]any{"x": int64(1), "y": []any{int64(2), int64(3)}},
		"text":  "[not a list\nstill text\n",
		"after": int64(1),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v", got)
	}
	if _, err := Parse([]byte("a: [1,\n2\n")); err == nil || !strings.Contains(err.Error(), "line 1: unterminated") {
		t.Fatalf("unterminated: %v", err)
	}
}
