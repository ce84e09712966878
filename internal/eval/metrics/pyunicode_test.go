package metrics

import (
	"reflect"
	"testing"
)

// Expected values are CPython 3.11's str.lower / str.split / str.rstrip.
func TestPythonStringSemantics(t *testing.T) {
	for in, want := range map[string]string{
		"ΣΑΣ ΟΔΟΣ.": "σας οδος.",
		"Σ":         "σ",
		"ΑΣ\u0301Β": "ασ\u0301β",
		"ΑΣ\u0301":  "ας\u0301",
		"İstanbul":  "i\u0307stanbul",
		"A\u00adΣ":  "a\u00adς",
		"1Σ":        "1σ",
		"ΑΣ'":       "ας'",
		"ὈΔΥΣΣΕΎΣ":  "ὀδυσσεύς",
		"MiXeD ÄÖÜ": "mixed äöü",
		"no change": "no change",
	} {
		if got := pyLower(in); got != want {
			t.Errorf("lower(%q) = %q, want %q", in, got, want)
		}
	}
	var fields []string
	s := []byte(" a\x1cb\u3000c\u200bd ")
	spans := appendFieldSpans(nil, s, 0)
	for i := 0; i < len(spans); i += 2 {
		fields = append(fields, string(s[spans[i]:spans[i+1]]))
	}
	if want := []string{"a", "b", "c\u200bd"}; !reflect.DeepEqual(fields, want) {
		t.Errorf("split = %q, want %q", fields, want)
	}
	if got := pyRstrip("x \x1f\u00a0"); got != "x" {
		t.Errorf("rstrip = %q", got)
	}
	if got := string(appendFields(nil, []byte("\t a  b\x1dc \u2028"))); got != "a b c" {
		t.Errorf("fields join = %q", got)
	}
}

// The zh tokenizer splits U+2001..U+2A6D (sacreBLEU's mis-parsed range) and
// leaves supplementary-plane ideographs alone.
func TestZhQuirkRanges(t *testing.T) {
	tok, _ := NewTokenizer("zh", "")
	for in, want := range map[string]string{
		"a→b":      "a → b",
		"x€y":      "x € y",
		"a\u2000b": "a b", // U+2000 is whitespace, U+2001 the first split one
		"a\u1ffeb": "a\u1ffeb",
		"𠀀𠀁":       "𠀀𠀁",
		"中文abc":    "中 文 abc",
	} {
		if got := Tokenize(tok, in); got != want {
			t.Errorf("zh(%q) = %q, want %q", in, got, want)
		}
	}
}
