package sample

import (
	"strings"
	"testing"
)

func TestStopMatcher(t *testing.T) {
	cases := []struct {
		stops  []string
		chunks []string
		emits  []string // what each Push returns
		stop   bool
		flush  string
	}{
		{[]string{"</s>"}, []string{"Hello <", "/s", ">tail"}, []string{"Hello ", "", ""}, true, ""},
		{[]string{"</s>"}, []string{"a <b", "c"}, []string{"a <b", "c"}, false, ""},
		{[]string{"</s>"}, []string{"x <", "/"}, []string{"x ", ""}, false, "</"},
		{[]string{"\n\nUser:", "###"}, []string{"Hi.\n", "\nUs", "er: more"}, []string{"Hi.", "", ""}, true, ""},
		{[]string{"ab", "b"}, []string{"xab"}, []string{"x"}, true, ""},
		{[]string{"aab"}, []string{"aa", "aab"}, []string{"", "aa"}, true, ""},
		{nil, []string{"abc"}, []string{"abc"}, false, ""},
	}
	for i, c := range cases {
		m := NewStopMatcher(c.stops)
		var stopped bool
		for j, ch := range c.chunks {
			var e string
			e, stopped = m.Push(ch)
			if e != c.emits[j] {
				t.Errorf("case %d push %d (%q): emitted %q, want %q", i, j, ch, e, c.emits[j])
			}
		}
		if stopped != c.stop {
			t.Errorf("case %d: stopped %v", i, stopped)
		}
		if f := m.Flush(); f != c.flush {
			t.Errorf("case %d: flush %q, want %q", i, f, c.flush)
		}
	}
}

// Whatever the chunking, the emitted text is the input up to the first stop
// string.
func TestStopMatcherChunking(t *testing.T) {
	text := "one two <|eot|> three <|eot|>"
	want := "one two "
	for size := 1; size <= len(text); size++ {
		m := NewStopMatcher([]string{"<|eot|>", "zzz"})
		var b strings.Builder
		for i := 0; i < len(text); i += size {
			e, stop := m.Push(text[i:min(i+size, len(text))])
			b.WriteString(e)
			if stop {
				break
			}
		}
		b.WriteString(m.Flush())
		if b.String() != want {
			t.Errorf("chunk %d: %q", size, b.String())
		}
	}
}
