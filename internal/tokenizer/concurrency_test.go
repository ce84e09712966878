package tokenizer

import (
	"sync"
	"testing"
)

// TestConcurrentEncode: one tokenizer shared by goroutines (scratch pools,
// word cache) gives the same ids as sequential use. Run with -race.
func TestConcurrentEncode(t *testing.T) {
	_, lines := floresLines(t, 200)
	for _, p := range []string{"llama2/tokenizer.model", "llama3/tokenizer.model", "llama2/tokenizer.bin"} {
		tok := load(t, fixture(t, p))
		var flat []string
		for _, f := range lines {
			flat = append(flat, f...)
		}
		want := make([][]int, len(flat))
		for i, s := range flat {
			want[i] = tok.Encode(s, EncodeOptions{AddBOS: true})
		}
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := g; i < len(flat); i += 2 {
					if got := tok.Encode(flat[i], EncodeOptions{AddBOS: true}); !equalInts(got, want[i]) {
						t.Errorf("%s line %d: concurrent %v != sequential %v", p, i, got, want[i])
						return
					}
				}
			}()
		}
		wg.Wait()
	}
}
