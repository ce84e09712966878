package tokenizer

import "testing"

// TestStreamDecoderHoldsPartialUTF8: byte tokens of one character come out
// only once the character is complete; the dummy-prefix space is dropped.
func TestStreamDecoderHoldsPartialUTF8(t *testing.T) {
	tok := load(t, fixture(t, "llama2/tokenizer.model"))
	d := NewStreamDecoder(tok)
	// [BOS, ▁, <0xF0> <0x9F> <0xA6> <0x99>, ▁grab, bed]
	steps := []struct {
		id   int
		want string
	}{{1, ""}, {29871, ""}, {243, ""}, {162, ""}, {169, ""}, {156, "🦙"}, {2646, " gra"}, {1327, "bb"}, {287, "ed"}}
	for _, s := range steps {
		if got := d.Add(s.id); got != s.want {
			t.Fatalf("Add(%d) = %q, want %q", s.id, got, s.want)
		}
	}
	if got := d.Flush(); got != "" {
		t.Fatalf("Flush = %q", got)
	}
	// An unfinished character is replaced at Flush, as Decode does.
	d.Add(243)
	d.Add(162)
	if got, want := d.Flush(), tok.Decode([]int{243, 162}); got != want || got != "\uFFFD\uFFFD" {
		t.Fatalf("Flush of a partial character = %q, Decode = %q", got, want)
	}

	// Llama 3: "🦙" is [9468, 99, 247]; one U+FFFD per maximal ill-formed
	// subsequence like tiktoken's errors="replace".
	l3 := load(t, fixture(t, "llama3/tokenizer.model"))
	d = NewStreamDecoder(l3)
	if a, b, c := d.Add(9468), d.Add(99), d.Add(247); a+b != "" || c != "🦙" {
		t.Fatalf("llama3 stream: %q %q %q", a, b, c)
	}
	if got := l3.Decode([]int{9468, 99}); got != "\uFFFD" {
		t.Fatalf("llama3 Decode of a truncated emoji = %q, want one U+FFFD", got)
	}
}
