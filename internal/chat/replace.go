package chat

import (
	"fmt"
	"strings"
)

// bayLingCard is the substitution table BayLing applies to everything its
// released (anonymised) weights write: MODEL_CARD and post_process in
// bayling/inference.py of github.com/ictnlp/BayLing at commit 8f6ecb91.
// post_process also turns a literal backslash-n into a newline.
var bayLingCard = []string{
	"[NAME]", "BayLing",
	"[INSTITUTE]", "NLP group of Institute of Computing Technology, Chinese Academy of Sciences (ICT/CAS)",
	"[CREATE_TIME]", "2023",
	"[名字]", "百聆",
	"[机构]", "中国科学院计算技术研究所自然语言处理研究组",
	"[开发时间]", "2023年",
	`\n`, "\n",
}

// Replacer substitutes fixed strings in streamed text. Text that could
// still grow into a match is held back until the next Push or Flush, so the
// concatenated output equals replacing in the whole text at once.
type Replacer struct {
	pairs   []string // old, new, old, new...
	r       *strings.Replacer
	pending string
}

// NewReplacer substitutes pairs of old, new strings. Every old must be
// non-empty, and the first byte of each must occur in no old string except
// at its start (true of bracketed placeholders): that is what lets a held
// back suffix never cut through a match.
func NewReplacer(oldnew ...string) (*Replacer, error) {
	if len(oldnew)%2 == 1 {
		return nil, fmt.Errorf("chat replacer: odd number of arguments")
	}
	for i := 0; i < len(oldnew); i += 2 {
		if oldnew[i] == "" {
			return nil, fmt.Errorf("chat replacer: pair %d: empty old string", i/2)
		}
	}
	for i := 0; i < len(oldnew); i += 2 {
		c := oldnew[i][0]
		for j := 0; j < len(oldnew); j += 2 {
			if strings.IndexByte(oldnew[j][1:], c) >= 0 {
				return nil, fmt.Errorf("chat replacer: %q contains %q, the first byte of %q, past its start", oldnew[j], c, oldnew[i])
			}
		}
	}
	return &Replacer{pairs: oldnew, r: strings.NewReplacer(oldnew...)}, nil
}

// NewBayLingReplacer does BayLing's post-processing: fills in the model
// card placeholders ([NAME], [名字], ...) and unescapes literal "\n".
func NewBayLingReplacer() *Replacer {
	// The table meets NewReplacer's rule; TestBayLingCardValid checks it.
	return &Replacer{pairs: bayLingCard, r: strings.NewReplacer(bayLingCard...)}
}

// Push adds a chunk and returns the text that is now safe to emit.
func (r *Replacer) Push(chunk string) string {
	s := r.pending + chunk
	keep := r.holdBack(s)
	r.pending = s[len(s)-keep:]
	return r.r.Replace(s[:len(s)-keep])
}

// Flush returns everything held back and resets the Replacer.
func (r *Replacer) Flush() string {
	s := r.r.Replace(r.pending)
	r.pending = ""
	return s
}

// holdBack is the length of the longest suffix of s that is a proper prefix
// of some old string. A match starting before the cut cannot reach past it:
// the held text begins with the first byte of an old string, which occurs
// inside no match. Nor can one run on past the end of s, or its start would
// begin a longer such suffix.
func (r *Replacer) holdBack(s string) int {
	best := 0
	for i := 0; i < len(r.pairs); i += 2 {
		old := r.pairs[i]
		for n := min(len(old)-1, len(s)); n > best; n-- {
			if strings.HasSuffix(s, old[:n]) {
				best = n
				break
			}
		}
	}
	return best
}

// OutputFilter returns the post-processing a template's model needs on its
// generated text: BayLing's placeholder filling for the BayLing formats,
// nil (emit text as is) for every other template.
func OutputFilter(t Template) *Replacer {
	switch t.(type) {
	case BayLingLlama2, BayLingLlama3:
		return NewBayLingReplacer()
	}
	return nil
}
