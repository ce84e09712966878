package metrics

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// The 13a substitutions written as regular expressions (Go's RE2 replaces
// leftmost, non-overlapping matches like Python's re.sub) are the oracle
// for the hand-written passes.
var regexp13a = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`([\{-\~\[-\` + "`" + ` -\&\(-\+\:-\@\/])`), " $1 "},
	{regexp.MustCompile(`([^0-9])([\.,])`), "$1 $2 "},
	{regexp.MustCompile(`([\.,])([^0-9])`), " $1 $2"},
	{regexp.MustCompile(`([0-9])(-)`), "$1 $2 "},
}

func regexpPostOracle(s string) string {
	for _, r := range regexp13a {
		s = r.re.ReplaceAllString(s, r.repl)
	}
	return strings.Join(strings.FieldsFunc(s, pyIsSpace), " ")
}

func FuzzRegexpPost(f *testing.F) {
	for _, s := range []string{"a.b", "3.14, 1,000", "1990-2000", "e.g. U.S.A.", ",.,..", "-1-2-", "x,y", "9.,9", "ß.,€-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if !utf8.ValidString(in) {
			return
		}
		s := &scratch{a: []byte(in)}
		got := string(s.regexpPost(nil))
		if want := regexpPostOracle(in); got != want {
			t.Fatalf("regexpPost(%q) = %q, want %q", in, got, want)
		}
	})
}
