package metrics

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// A Tokenizer turns one line into space-separated tokens the way one of
// sacreBLEU's BLEU tokenizers does. Implementations are safe for concurrent
// use.
type Tokenizer interface {
	// Append appends the tokenized line to dst and returns the result.
	Append(dst []byte, line string) []byte
	// Signature is the tokenizer's name in metric signatures ("13a", ...).
	Signature() string
}

// Tokenize returns tok's output for line as a string.
func Tokenize(tok Tokenizer, line string) string {
	return string(tok.Append(nil, line))
}

// TokenizerNames lists the BLEU tokenizers NewTokenizer accepts.
var TokenizerNames = []string{"none", "zh", "13a", "intl", "char", "flores101", "flores200", "spm"}

// NewTokenizer returns the named sacreBLEU tokenizer. The SentencePiece
// tokenizers (flores101, flores200 and the deprecated alias spm) read the
// unigram model at spmModel, or else the file sacreBLEU itself would have
// downloaded into $SACREBLEU/models or ~/.sacrebleu/models.
func NewTokenizer(name, spmModel string) (Tokenizer, error) {
	switch name {
	case "none":
		return tokNone{}, nil
	case "13a":
		return tok13a{}, nil
	case "intl":
		return tokIntl{}, nil
	case "zh":
		return tokZh{}, nil
	case "char":
		return tokChar{}, nil
	case "spm", "flores101", "flores200":
		// sacreBLEU downloads the model; here it must already be on disk:
		// spmModel, or where sacreBLEU would have cached it.
		sig := name
		if name == "spm" {
			sig = "flores101"
		}
		path := spmModel
		if path == "" {
			path = defaultSPMPath(sig)
		}
		m, err := LoadSPM(path)
		if err != nil {
			return nil, fmt.Errorf("tokenizer %s: %w (give the SentencePiece model with --spm-model)", name, err)
		}
		return &tokSPM{model: m, sig: sig}, nil
	case "ja-mecab", "ko-mecab":
		return nil, fmt.Errorf("tokenizer %q needs MeCab, which bayling does not include", name)
	}
	return nil, fmt.Errorf("unknown tokenizer %q (known: %s)", name, strings.Join(TokenizerNames, ", "))
}

type tokNone struct{}

func (tokNone) Signature() string                     { return "none" }
func (tokNone) Append(dst []byte, line string) []byte { return append(dst, line...) }

// tokChar is " ".join(line): every code point, whitespace included, becomes
// a token.
type tokChar struct{}

func (tokChar) Signature() string { return "char" }
func (tokChar) Append(dst []byte, line string) []byte {
	for i, r := range line {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// scratch holds the two ping-pong buffers of the multi-pass tokenizers.
type scratch struct{ a, b []byte }

var scratchPool = sync.Pool{New: func() any { return &scratch{make([]byte, 0, 512), make([]byte, 0, 512)} }}

// tok13a is mteval-v13a's tokenizer as sacreBLEU implements it.
type tok13a struct{}

func (tok13a) Signature() string { return "13a" }

func (tok13a) Append(dst []byte, line string) []byte {
	if strings.Contains(line, "<skipped>") {
		line = strings.ReplaceAll(line, "<skipped>", "")
	}
	if strings.Contains(line, "\n") {
		line = strings.ReplaceAll(line, "-\n", "")
		line = strings.ReplaceAll(line, "\n", " ")
	}
	if strings.Contains(line, "&") {
		// Sequential, as in sacreBLEU: "&amp;lt;" becomes "<".
		line = strings.ReplaceAll(line, "&quot;", `"`)
		line = strings.ReplaceAll(line, "&amp;", "&")
		line = strings.ReplaceAll(line, "&lt;", "<")
		line = strings.ReplaceAll(line, "&gt;", ">")
	}
	s := scratchPool.Get().(*scratch)
	s.a = append(s.a[:0], ' ')
	s.a = append(s.a, line...)
	s.a = append(s.a, ' ')
	dst = s.regexpPost(dst)
	scratchPool.Put(s)
	return dst
}

// isPunct13a is the class [\{-\~\[-\` -\&\(-\+\:-\@\/] of sacreBLEU's
// TokenizerRegexp (and Tercom's normalizer).
var isPunct13a = func() (t [256]bool) {
	for _, rg := range [][2]byte{{'{', '~'}, {'[', '`'}, {' ', '&'}, {'(', '+'}, {':', '@'}, {'/', '/'}} {
		for c := rg[0]; c <= rg[1]; c++ {
			t[c] = true
		}
	}
	return
}()

func isDigit(c byte) bool    { return '0' <= c && c <= '9' }
func isDotComma(c byte) bool { return c == '.' || c == ',' }

// regexpPost applies TokenizerRegexp's four substitutions to s.a and appends
// the whitespace-normalized result to dst. Each substitution is one
// left-to-right pass over bytes: all the patterns are ASCII and [^0-9]
// matches any other byte, so byte-wise and code-point-wise matching agree.
func (s *scratch) regexpPost(dst []byte) []byte {
	// ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> " \1 "
	o, b := s.b[:0], s.a
	i := 0
	for j, c := range b {
		if isPunct13a[c] {
			o = append(o, b[i:j]...)
			o = append(o, ' ', c, ' ')
			i = j + 1
		}
	}
	o = append(o, b[i:]...)
	s.a, s.b = o, s.a
	s.passes13a()
	return appendFields(dst, s.a)
}

// apply runs one substitution pass from s.a into s.b and swaps them.
func (s *scratch) apply(pass func(src, dst []byte) []byte) {
	s.a, s.b = pass(s.a, s.b[:0]), s.a[:0]
}

// passes13a applies, in place on s.a, the period/comma/dash substitutions
// shared by the 13a tokenizer and Tercom's normalizer. A pass whose
// trigger characters are absent cannot match and is skipped.
func (s *scratch) passes13a() {
	if bytes.IndexByte(s.a, '.') >= 0 || bytes.IndexByte(s.a, ',') >= 0 {
		s.apply(passNonDigitDot)
		s.apply(passDotNonDigit)
	}
	if bytes.IndexByte(s.a, '-') >= 0 {
		s.apply(passDigitDash)
	}
}

// The passes below jump from one trigger byte to the next and copy the
// bytes in between in bulk; a match at p is the leftmost one at or after
// the first uncopied byte i, as in a regex substitution.

func indexDotComma(b []byte, from int) int {
	for k := from; k < len(b); k++ {
		if b[k] == '.' || b[k] == ',' {
			return k
		}
	}
	return -1
}

// passNonDigitDot is ([^0-9])([\.,]) -> "\1 \2 ".
func passNonDigitDot(b, o []byte) []byte {
	i := 0
	for from := 1; ; {
		q := indexDotComma(b, from)
		if q < 0 {
			return append(o, b[i:]...)
		}
		if p := q - 1; !isDigit(b[p]) { // p >= i: from is always past i
			o = append(o, b[i:p]...)
			o = append(o, b[p], ' ', b[q], ' ')
			i, from = q+1, q+2
		} else {
			from = q + 1
		}
	}
}

// passDotNonDigit is ([\.,])([^0-9]) -> " \1 \2".
func passDotNonDigit(b, o []byte) []byte {
	i := 0
	for from := 0; ; {
		q := indexDotComma(b, from)
		if q < 0 {
			return append(o, b[i:]...)
		}
		if q+1 < len(b) && !isDigit(b[q+1]) {
			o = append(o, b[i:q]...)
			o = append(o, ' ', b[q], ' ', b[q+1])
			i, from = q+2, q+2
		} else {
			from = q + 1
		}
	}
}

// passDigitDash is ([0-9])(-) -> "\1 \2 ".
func passDigitDash(b, o []byte) []byte {
	i := 0
	for from := 1; from < len(b); {
		k := bytes.IndexByte(b[from:], '-')
		if k < 0 {
			break
		}
		q := from + k
		if p := q - 1; isDigit(b[p]) {
			o = append(o, b[i:p]...)
			o = append(o, b[p], ' ', '-', ' ')
			i, from = q+1, q+2
		} else {
			from = q + 1
		}
	}
	return append(o, b[i:]...)
}

// tokIntl is mteval-v14's international tokenizer: punctuation is split off
// unless it sits between digits, symbols are always split. The classes are
// Unicode general categories P, S and N; the Python regex module on the
// reference machine uses Unicode 15.0 for them, the same version as Go's
// unicode package, and all three classes agree on every code point.
type tokIntl struct{}

func (tokIntl) Signature() string { return "intl" }

func (tokIntl) Append(dst []byte, line string) []byte {
	s := scratchPool.Get().(*scratch)
	b := s.a[:0]
	// (\P{N})(\p{P}) -> "\1 \2 "
	for i := 0; i < len(line); {
		r, n := utf8.DecodeRuneInString(line[i:])
		if i+n < len(line) && !unicode.IsNumber(r) {
			r2, n2 := utf8.DecodeRuneInString(line[i+n:])
			if unicode.IsPunct(r2) {
				b = append(b, line[i:i+n]...)
				b = append(b, ' ')
				b = append(b, line[i+n:i+n+n2]...)
				b = append(b, ' ')
				i += n + n2
				continue
			}
		}
		b = append(b, line[i:i+n]...)
		i += n
	}
	o := s.b[:0]
	// (\p{P})(\P{N}) -> " \1 \2"
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if i+n < len(b) && unicode.IsPunct(r) {
			r2, n2 := utf8.DecodeRune(b[i+n:])
			if !unicode.IsNumber(r2) {
				o = append(o, ' ')
				o = append(o, b[i:i+n]...)
				o = append(o, ' ')
				o = append(o, b[i+n:i+n+n2]...)
				i += n + n2
				continue
			}
		}
		o = append(o, b[i:i+n]...)
		i += n
	}
	b = b[:0]
	// (\p{S}) -> " \1 "
	for i := 0; i < len(o); {
		c := o[i]
		if c < utf8.RuneSelf {
			if unicode.IsSymbol(rune(c)) {
				b = append(b, ' ', c, ' ')
			} else {
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(o[i:])
		if unicode.IsSymbol(r) {
			b = append(b, ' ')
			b = append(b, o[i:i+n]...)
			b = append(b, ' ')
		} else {
			b = append(b, o[i:i+n]...)
		}
		i += n
	}
	dst = appendFields(dst, b)
	s.a, s.b = b, o
	scratchPool.Put(s)
	return dst
}

// tokZh is sacreBLEU's Chinese tokenizer: strip, put spaces around every
// "Chinese" code point, then the 13a regular expressions (without 13a's
// padding and entity handling).
type tokZh struct{}

func (tokZh) Signature() string { return "zh" }

func (tokZh) Append(dst []byte, line string) []byte {
	line = pyStrip(line)
	s := scratchPool.Get().(*scratch)
	b := s.a[:0]
	for _, r := range line {
		if isChineseChar(r) {
			b = append(b, ' ')
			b = utf8.AppendRune(b, r)
			b = append(b, ' ')
		} else {
			b = utf8.AppendRune(b, r)
		}
	}
	s.a = b
	dst = s.regexpPost(dst)
	scratchPool.Put(s)
	return dst
}

// zhRanges are the code point ranges sacreBLEU's _is_chinese_char accepts.
// Two entries of its table were meant as CJK Extension B and the CJK
// Compatibility Supplement but are written as '\u20000'..'\u2a6d6' and
// '\u2f800'..'\u2fa1d', which Python reads as two-character strings; a
// single character c then satisfies start <= c <= end exactly for
// U+2001..U+2A6D and U+2F81..U+2FA1, and supplementary-plane ideographs are
// never split. Reproduced as written, since it decides the scores.
var zhRanges = [][2]rune{
	{0x3400, 0x4db5}, {0x4e00, 0x9fa5}, {0x9fa6, 0x9fbb}, {0xf900, 0xfa2d},
	{0xfa30, 0xfa6a}, {0xfa70, 0xfad9}, {0x2001, 0x2a6d}, {0x2f81, 0x2fa1},
	{0xff00, 0xffef}, {0x2e80, 0x2eff}, {0x3000, 0x303f}, {0x31c0, 0x31ef},
	{0x2f00, 0x2fdf}, {0x2ff0, 0x2fff}, {0x3100, 0x312f}, {0x31a0, 0x31bf},
	{0xfe10, 0xfe1f}, {0xfe30, 0xfe4f}, {0x2600, 0x26ff}, {0x2700, 0x27bf},
	{0x3200, 0x32ff}, {0x3300, 0x33ff},
}

func isChineseChar(r rune) bool {
	if r < 0x2001 {
		return false
	}
	for _, rg := range zhRanges {
		if r >= rg[0] && r <= rg[1] {
			return true
		}
	}
	return false
}
