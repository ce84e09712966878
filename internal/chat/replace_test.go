package chat

import (
	"math/rand"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBayLingCardValid(t *testing.T) {
	if _, err := NewReplacer(bayLingCard...); err != nil {
		t.Fatal(err)
	}
}

func TestNewReplacerRejects(t *testing.T) {
	for _, args := range [][]string{{"a"}, {"", "x"}, {"ab", "x", "b", "y"}, {"[a[", "x"}} {
		if _, err := NewReplacer(args...); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

// testdata/bayling_postprocess.json pairs inputs with the output of BayLing's
// own post_process (ictnlp/BayLing@8f6ecb91, bayling/inference.py). Every
// input is streamed in random chunks; the concatenation must equal the
// reference, and no emitted text may be undone later.
func TestBayLingReplacerMatchesReference(t *testing.T) {
	var cases []struct{ In, Out string }
	loadJSON(t, "testdata/bayling_postprocess.json", &cases)
	if len(cases) < 100 {
		t.Fatalf("only %d cases", len(cases))
	}
	changed := 0
	rng := rand.New(rand.NewSource(1))
	for _, c := range cases {
		if c.In != c.Out {
			changed++
		}
		for trial := 0; trial < 5; trial++ {
			r := NewBayLingReplacer()
			var got strings.Builder
			rest := c.In
			for rest != "" {
				n := 1 + rng.Intn(len(rest))
				if trial == 0 {
					_, n = utf8.DecodeRuneInString(rest)
				}
				got.WriteString(r.Push(rest[:n]))
				if !strings.HasPrefix(c.Out, got.String()) {
					t.Fatalf("%q: emitted %q, not a prefix of %q", c.In, got.String(), c.Out)
				}
				rest = rest[n:]
			}
			got.WriteString(r.Flush())
			if got.String() != c.Out {
				t.Fatalf("%q: got %q want %q", c.In, got.String(), c.Out)
			}
		}
	}
	if changed < len(cases)/2 {
		t.Fatalf("only %d of %d reference cases change the text", changed, len(cases))
	}
}

func TestReplacerHoldsBackPartialPlaceholder(t *testing.T) {
	r := NewBayLingReplacer()
	if got := r.Push("I am [NA"); got != "I am " {
		t.Fatalf("got %q", got)
	}
	if got := r.Push("ME], from [机"); got != "BayLing, from " {
		t.Fatalf("got %q", got)
	}
	if got := r.Push("构]."); got != "中国科学院计算技术研究所自然语言处理研究组." {
		t.Fatalf("got %q", got)
	}
	if got := r.Push(`a\`); got != "a" {
		t.Fatalf("got %q", got)
	}
	if got := r.Flush(); got != `\` {
		t.Fatalf("flush %q", got)
	}
}

func TestOutputFilter(t *testing.T) {
	if OutputFilter(BayLingLlama2{}) == nil || OutputFilter(BayLingLlama3{}) == nil {
		t.Fatal("BayLing templates need the placeholder filter")
	}
	if OutputFilter(Llama2Chat{}) != nil || OutputFilter(Llama3Instruct{}) != nil {
		t.Fatal("non-BayLing templates must pass text through")
	}
}
