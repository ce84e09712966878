package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// preTokenizer splits text into the words BPE then encodes one by one. The
// scanners below are hand-written equivalents of the reference regexes
// (leftmost-first alternation with backtracking, as fancy-regex, Oniguruma
// and Python's regex evaluate them), so no regexp engine runs per call.
//
// Character classes use Go's unicode tables: \p{L} = unicode.L, \p{N} =
// unicode.N, \s = unicode.White_Space. Go 1.26 ships Unicode 15.0.0; the
// references use their own tables (tiktoken: Rust regex-syntax, Unicode
// 15/16; HF: Oniguruma; llama.cpp: its unicode-data.cpp). Characters assigned
// or re-categorised after Unicode 15.0 can therefore split differently.
type preTokenizer int

const (
	preLlama3     preTokenizer = iota // Llama 3 / tiktoken cl100k-style, \p{N}{1,3}
	preQwen2                          // as Llama 3 but \p{N} single digits
	preGPT2                           // GPT-2 byte-level regex
	preDigitsGPT2                     // each digit alone, then GPT-2 (starcoder, refact)
	preDefault                        // llama.cpp's default BPE regex sequence
	preFalcon                         // llama.cpp's falcon regex sequence
)

var preNames = map[string]preTokenizer{
	"llama3": preLlama3, "llama-bpe": preLlama3, "llama-v3": preLlama3, "dbrx": preLlama3, "smaug-bpe": preLlama3,
	"qwen2": preQwen2, "deepseek-r1-qwen": preQwen2,
	"gpt2": preGPT2, "gpt-2": preGPT2, "mpt": preGPT2, "olmo": preGPT2, "jais": preGPT2,
	"starcoder": preDigitsGPT2, "refact": preDigitsGPT2,
	"default": preDefault, "falcon": preFalcon,
}

// Reference patterns, recognised verbatim in tokenizer.json.
const (
	patLlama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	patQwen2  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	patGPT2   = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
)

// character classes of the patterns
const (
	clsOther   = iota // [^\s\p{L}\p{N}]
	clsLetter         // \p{L}
	clsNumber         // \p{N}
	clsSpace          // \s other than \r \n
	clsNewline        // \r or \n
)

// asciiClass is the class of each ASCII byte.
var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := range t {
		t[c] = runeClassSlow(rune(c))
	}
	return
}()

func runeClassSlow(r rune) uint8 {
	switch {
	case r == '\r' || r == '\n':
		return clsNewline
	case unicode.IsLetter(r):
		return clsLetter
	case unicode.IsNumber(r):
		return clsNumber
	case unicode.Is(unicode.White_Space, r):
		return clsSpace
	}
	return clsOther
}

// classAt returns the class and byte length of the character at s[i]. An
// invalid byte is a one-byte "other" character (it has no letter, number or
// space meaning for any reference).
func classAt(s string, i int) (uint8, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && n == 1 {
		return clsOther, 1
	}
	return runeClassSlow(r), n
}

func isSpaceCls(c uint8) bool { return c == clsSpace || c == clsNewline }

// split calls fn with each pre-token of s, in order.
func (p preTokenizer) split(s string, fn func(word string)) {
	switch p {
	case preLlama3:
		splitLlama3(s, 3, fn)
	case preQwen2:
		splitLlama3(s, 1, fn)
	case preGPT2:
		splitGPT2(s, fn)
	case preDefault:
		// [\p{P}\$\+<=>\^~\|]+ , GPT-2, \p{N}+ , [0-9][0-9][0-9]: each regex
		// splits every piece of the previous one into matches and the gaps
		// between them (llama.cpp unicode_regex_split).
		splitRuns(s, isDefaultPunct, func(a string) {
			splitGPT2(a, func(b string) {
				splitRuns(b, isNumberRune, func(c string) { splitDigits3(c, fn) })
			})
		})
	case preFalcon:
		splitRuns(s, isFalconPunct, func(a string) {
			splitGPT2(a, func(b string) { splitDigits3(b, fn) })
		})
	case preDigitsGPT2:
		// \p{N} first isolates every digit; the GPT-2 regex then runs on the
		// text between them (llama.cpp applies its regexes in sequence).
		start := 0
		for i := 0; i < len(s); {
			c, n := classAt(s, i)
			if c == clsNumber {
				if i > start {
					splitGPT2(s[start:i], fn)
				}
				fn(s[i : i+n])
				start = i + n
			}
			i += n
		}
		if start < len(s) {
			splitGPT2(s[start:], fn)
		}
	}
}

// contraction matches (?i:'s|'t|'re|'ve|'m|'ll|'d) (or the case-sensitive
// GPT-2 form) at s[i] == '\” and returns its length or 0. Unicode simple
// case folding makes ſ (U+017F) match 's' in the references' (?i).
func contraction(s string, i int, fold bool) int {
	if i+1 >= len(s) {
		return 0
	}
	low := func(c byte) byte {
		if fold && c >= 'A' && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}
	switch low(s[i+1]) {
	case 's', 't', 'm', 'd':
		return 2
	case 'r', 'v':
		if i+2 < len(s) && low(s[i+2]) == 'e' {
			return 3
		}
	case 'l':
		if i+2 < len(s) && low(s[i+2]) == 'l' {
			return 3
		}
	case 0xC5: // ſ is C5 BF
		if fold && i+2 < len(s) && s[i+2] == 0xBF {
			return 3
		}
	}
	return 0
}

// run returns the end of the run of characters of class cls starting at i
// (at most max characters when max > 0).
func run(s string, i int, pred func(uint8) bool, max int) int {
	k := 0
	for i < len(s) && (max <= 0 || k < max) {
		c, n := classAt(s, i)
		if !pred(c) {
			break
		}
		i += n
		k++
	}
	return i
}

func isLetter(c uint8) bool  { return c == clsLetter }
func isNumber(c uint8) bool  { return c == clsNumber }
func isOther(c uint8) bool   { return c == clsOther }
func isNewline(c uint8) bool { return c == clsNewline }

// splitLlama3 scans
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}|
//	 ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
func splitLlama3(s string, maxDigits int, fn func(string)) {
	for i := 0; i < len(s); {
		end := llama3Match(s, i, maxDigits)
		fn(s[i:end])
		i = end
	}
}

func llama3Match(s string, i, maxDigits int) int {
	c, n := classAt(s, i)
	if s[i] == '\'' {
		if k := contraction(s, i, true); k > 0 {
			return i + k
		}
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c == clsLetter {
		return run(s, i, isLetter, 0)
	}
	if c == clsOther || c == clsSpace {
		if i+n < len(s) {
			if c2, _ := classAt(s, i+n); c2 == clsLetter {
				return run(s, i+n, isLetter, 0)
			}
		}
	}
	// \p{N}{1,k}
	if c == clsNumber {
		return run(s, i, isNumber, maxDigits)
	}
	//  ?[^\s\p{L}\p{N}]+[\r\n]*
	j := i
	if s[i] == ' ' && i+1 < len(s) {
		if c2, _ := classAt(s, i+1); c2 == clsOther {
			j = i + 1
		}
	}
	if oc, _ := classAt(s, j); oc == clsOther {
		e := run(s, j, isOther, 0)
		return run(s, e, isNewline, 0)
	}
	// Whitespace from here on: the run is [i, e).
	e := i
	lastNL := -1
	for e < len(s) {
		c, n := classAt(s, e)
		if !isSpaceCls(c) {
			break
		}
		if c == clsNewline {
			lastNL = e
		}
		e += n
	}
	// \s*[\r\n]+ : greedy \s* backtracks to the last newline of the run.
	if lastNL >= 0 {
		return lastNL + 1
	}
	return spaceRunEnd(s, i, e)
}

// spaceRunEnd applies \s+(?!\S)|\s+ to the whitespace run [i, e): leave the
// last space for the next word when a non-space follows.
func spaceRunEnd(s string, i, e int) int {
	if e < len(s) {
		// back off one character; \s+ needs at least one
		_, n := utf8.DecodeLastRuneInString(s[i:e])
		if e-n > i {
			return e - n
		}
	}
	return e
}

// splitGPT2 scans 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
func splitGPT2(s string, fn func(string)) {
	for i := 0; i < len(s); {
		end := gpt2Match(s, i)
		fn(s[i:end])
		i = end
	}
}

func gpt2Match(s string, i int) int {
	if s[i] == '\'' {
		if k := contraction(s, i, false); k > 0 {
			return i + k
		}
	}
	j := i
	if s[i] == ' ' && i+1 < len(s) {
		j = i + 1
	}
	c, _ := classAt(s, j)
	if j == i+1 && isSpaceCls(c) {
		j, c = i, clsSpace
	}
	switch c {
	case clsLetter:
		return run(s, j, isLetter, 0)
	case clsNumber:
		return run(s, j, isNumber, 0)
	case clsOther:
		return run(s, j, isOther, 0)
	}
	e := run(s, i, isSpaceCls, 0)
	return spaceRunEnd(s, i, e)
}

func isDefaultPunct(r rune) bool {
	return unicode.IsPunct(r) || r == '$' || r == '+' || r == '<' || r == '=' || r == '>' || r == '^' || r == '~' || r == '|'
}

func isFalconPunct(r rune) bool { return isDefaultPunct(r) || r == '`' }

func isNumberRune(r rune) bool { return unicode.IsNumber(r) }

// splitRuns isolates maximal runs of characters satisfying pred; the text
// between runs is passed on too. Invalid bytes never satisfy pred.
func splitRuns(s string, pred func(rune) bool, fn func(string)) {
	start, inRun := 0, false
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		m := !(r == utf8.RuneError && n == 1) && pred(r)
		if m != inRun && i > start {
			fn(s[start:i])
			start = i
		}
		inRun = m
		i += n
	}
	if start < len(s) {
		fn(s[start:])
	}
}

// splitDigits3 isolates every non-overlapping [0-9][0-9][0-9] from the left.
func splitDigits3(s string, fn func(string)) {
	gap := 0
	for i := 0; i+3 <= len(s); {
		if isDigit(s[i]) && isDigit(s[i+1]) && isDigit(s[i+2]) {
			if i > gap {
				fn(s[gap:i])
			}
			fn(s[i : i+3])
			i += 3
			gap = i
			continue
		}
		i++
	}
	if gap < len(s) {
		fn(s[gap:])
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
