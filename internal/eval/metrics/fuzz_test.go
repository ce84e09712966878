package metrics

import (
	"context"
	"testing"
	"unicode/utf8"
)

// FuzzMetrics feeds arbitrary hypothesis/reference pairs through every
// tokenizer and metric: no panics, scores in range, errors only for
// invalid UTF-8.
func FuzzMetrics(f *testing.F) {
	f.Add("The dog bit the man.", "The dog had bit the man.")
	f.Add("", "")
	f.Add("他补充道：“我们现在有 4 个月大", "我们现在有4个月大的老鼠")
	f.Add("3.14, 1,000 -- e.g. U.S.A. &amp; <skipped>", "It's 1990-2000; &quot;x&quot;")
	f.Add("a b a b a b c d e", "c d e a b a b")
	f.Add("ΣΑΣ İ \u3000\x1c", "σας i")
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, hyp, ref string) {
		segs := []Segment{{Hyp: hyp, Refs: []string{ref, hyp + " " + ref}}}
		valid := utf8.ValidString(hyp) && utf8.ValidString(ref)
		for _, tok := range []string{"13a", "intl", "zh", "char", "none"} {
			b, err := NewBLEU(BLEUOptions{Tokenize: tok, EffectiveOrder: true, Lowercase: len(hyp)%2 == 0})
			if err != nil {
				t.Fatal(err)
			}
			s, err := b.CorpusScore(ctx, segs)
			if err != nil {
				if valid {
					t.Fatalf("bleu %s: %v", tok, err)
				}
				continue
			}
			if s.Score < 0 || s.Score > 100.0000001 {
				t.Fatalf("bleu %s = %v", tok, s.Score)
			}
		}
		c, _ := NewCHRF(CHRFOptions{WordOrder: 2})
		if s, err := c.CorpusScore(ctx, segs); err == nil && (s.Score < 0 || s.Score > 100.0000001) {
			t.Fatalf("chrf = %v", s.Score)
		} else if err != nil && valid {
			t.Fatal(err)
		}
		ter := NewTER(TEROptions{Normalized: true, AsianSupport: true})
		if s, err := ter.CorpusScore(ctx, segs); err == nil && s.Score < 0 {
			t.Fatalf("ter = %v", s.Score)
		} else if err != nil && valid {
			t.Fatal(err)
		}
	})
}
