package jinja

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Options are the Jinja environment flags that change how text around tags
// is kept. Hugging Face's apply_chat_template and llama.cpp both use
// TrimBlocks and LStripBlocks.
type Options struct {
	TrimBlocks          bool // drop the first newline after a block or comment tag
	LStripBlocks        bool // drop spaces and tabs before a block or comment tag that starts a line
	KeepTrailingNewline bool // keep a single newline at the end of the template
}

// HF is the environment transformers uses for chat templates.
var HF = Options{TrimBlocks: true, LStripBlocks: true}

type tokKind int

const (
	tName tokKind = iota
	tString
	tInt
	tFloat
	tOp
	tEOF
)

type token struct {
	kind tokKind
	s    string // name, operator, or decoded string
	i    int64
	f    float64
	pos  int // byte offset in the template
}

type segKind int

const (
	segText segKind = iota
	segOutput
	segStmt
)

type segment struct {
	kind segKind
	text string
	toks []token // ends with tEOF
	pos  int
}

// posError is an error at a byte offset; Template adds line and column.
type posError struct {
	pos int
	msg string
}

func (e *posError) Error() string { return e.msg }

func errAt(pos int, format string, args ...any) error {
	return &posError{pos: pos, msg: fmt.Sprintf(format, args...)}
}

// lineCol turns a byte offset into 1-based line and column.
func lineCol(src string, pos int) (int, int) {
	if pos > len(src) {
		pos = len(src)
	}
	line := 1 + strings.Count(src[:pos], "\n")
	col := pos - strings.LastIndexByte(src[:pos], '\n')
	return line, col
}

type lexer struct {
	src  string
	opt  Options
	segs []segment
}

func lex(src string, opt Options) ([]segment, error) {
	if !opt.KeepTrailingNewline {
		if strings.HasSuffix(src, "\r\n") {
			src = src[:len(src)-2]
		} else if strings.HasSuffix(src, "\n") || strings.HasSuffix(src, "\r") {
			src = src[:len(src)-1]
		}
	}
	lx := &lexer{src: src, opt: opt}
	return lx.segs, lx.run()
}

func (lx *lexer) run() error {
	src := lx.src
	pos := 0
	stripNext := false // a "-" closed the previous tag
	for pos <= len(src) {
		open := nextOpen(src, pos)
		textEnd := open
		if open < 0 {
			textEnd = len(src)
		}
		text := src[pos:textEnd]
		if stripNext {
			text = strings.TrimLeftFunc(text, IsSpace)
		}
		if open < 0 {
			lx.addText(text)
			return nil
		}
		kind := src[open+1]
		inner := open + 2
		var mod byte
		if inner < len(src) && (src[inner] == '-' || src[inner] == '+') {
			mod = src[inner]
			inner++
		}
		switch {
		case mod == '-':
			text = strings.TrimRightFunc(text, IsSpace)
		case mod != '+' && kind != '{' && lx.opt.LStripBlocks:
			text = lx.lstripLine(text, pos)
		}
		lx.addText(text)
		var err error
		switch kind {
		case '#':
			pos, stripNext, err = lx.comment(open, inner)
		case '{':
			pos, stripNext, err = lx.tag(open, inner, segOutput, "}}")
		default:
			pos, stripNext, err = lx.tag(open, inner, segStmt, "%}")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// nextOpen finds the next "{{", "{%" or "{#" at or after pos.
func nextOpen(src string, pos int) int {
	for {
		i := strings.IndexByte(src[pos:], '{')
		if i < 0 || pos+i+1 >= len(src) {
			return -1
		}
		c := src[pos+i+1]
		if c == '{' || c == '%' || c == '#' {
			return pos + i
		}
		pos += i + 1
	}
}

// lstripLine removes the spaces before a tag when only whitespace separates
// it from the start of its line.
func (lx *lexer) lstripLine(text string, start int) string {
	nl := strings.LastIndexByte(text, '\n')
	if nl < 0 && start > 0 && lx.src[start-1] != '\n' {
		return text
	}
	tail := text[nl+1:]
	for _, r := range tail {
		if !IsSpace(r) || r == '\n' {
			return text
		}
	}
	return text[:nl+1]
}

func (lx *lexer) addText(text string) {
	if text != "" {
		lx.segs = append(lx.segs, segment{kind: segText, text: text})
	}
}

func (lx *lexer) comment(open, inner int) (int, bool, error) {
	end := strings.Index(lx.src[inner:], "#}")
	if end < 0 {
		return 0, false, errAt(open, "unclosed comment")
	}
	end += inner
	strip := end > inner && lx.src[end-1] == '-'
	return lx.afterClose(end+2, strip, true), strip, nil
}

// afterClose applies trim_blocks after a block or comment tag.
func (lx *lexer) afterClose(pos int, strip, block bool) int {
	if block && !strip && lx.opt.TrimBlocks {
		if strings.HasPrefix(lx.src[pos:], "\r\n") {
			return pos + 2
		}
		if pos < len(lx.src) && (lx.src[pos] == '\n' || lx.src[pos] == '\r') {
			return pos + 1
		}
	}
	return pos
}

func (lx *lexer) tag(open, inner int, kind segKind, closer string) (int, bool, error) {
	toks, end, strip, err := lexExpr(lx.src, inner, closer)
	if err != nil {
		return 0, false, err
	}
	seg := segment{kind: kind, toks: toks, pos: open}
	lx.segs = append(lx.segs, seg)
	next := lx.afterClose(end, strip, kind == segStmt)
	if kind == segStmt && len(toks) == 2 && toks[0].kind == tName && toks[0].s == "raw" {
		return lx.raw(open, next, strip)
	}
	return next, strip, nil
}

// raw copies text verbatim up to {% endraw %}.
func (lx *lexer) raw(open, pos int, strip bool) (int, bool, error) {
	lx.segs = lx.segs[:len(lx.segs)-1]
	src := lx.src
	for p := pos; ; {
		i := strings.Index(src[p:], "{%")
		if i < 0 {
			return 0, false, errAt(open, "raw block not closed by endraw")
		}
		q := p + i + 2
		m := q
		if m < len(src) && (src[m] == '-' || src[m] == '+') {
			m++
		}
		rest := strings.TrimLeftFunc(src[m:], IsSpace)
		if !strings.HasPrefix(rest, "endraw") {
			p = q
			continue
		}
		text := src[pos : p+i]
		if strip {
			text = strings.TrimLeftFunc(text, IsSpace)
		}
		if m > q && src[q] == '-' {
			text = strings.TrimRightFunc(text, IsSpace)
		}
		lx.addText(text)
		toks, end, s, err := lexExpr(src, m, "%}")
		if err != nil {
			return 0, false, err
		}
		if len(toks) != 2 {
			return 0, false, errAt(p+i, "unexpected tokens after endraw")
		}
		return lx.afterClose(end, s, true), s, nil
	}
}

var ops3 = []string{"//=", "**="}
var ops2 = []string{"==", "!=", "<=", ">=", "//", "**"}

const ops1 = "+-*/%~|.,:()[]{}=<>"

// lexExpr tokenizes an expression from pos up to the closing delimiter
// (outside any brackets). It returns the tokens, the offset after the
// closer, and whether the closer had a "-" whitespace modifier.
func lexExpr(src string, pos int, closer string) ([]token, int, bool, error) {
	var toks []token
	depth := 0
	start := pos
	for {
		for pos < len(src) {
			r, n := utf8.DecodeRuneInString(src[pos:])
			if !IsSpace(r) {
				break
			}
			pos += n
		}
		if pos >= len(src) {
			return nil, 0, false, errAt(start, "tag not closed by %q", closer)
		}
		if depth == 0 {
			if strings.HasPrefix(src[pos:], closer) {
				return append(toks, token{kind: tEOF, pos: pos}), pos + 2, false, nil
			}
			if (src[pos] == '-' || src[pos] == '+') && strings.HasPrefix(src[pos+1:], closer) {
				return append(toks, token{kind: tEOF, pos: pos}), pos + 3, src[pos] == '-', nil
			}
		}
		c := src[pos]
		switch {
		case c == '\'' || c == '"':
			s, n, err := lexString(src, pos)
			if err != nil {
				return nil, 0, false, err
			}
			toks = append(toks, token{kind: tString, s: s, pos: pos})
			pos += n
		case c >= '0' && c <= '9':
			t, n, err := lexNumber(src, pos)
			if err != nil {
				return nil, 0, false, err
			}
			toks = append(toks, t)
			pos += n
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			e := pos + 1
			for e < len(src) && (src[e] == '_' || src[e] >= 'a' && src[e] <= 'z' || src[e] >= 'A' && src[e] <= 'Z' || src[e] >= '0' && src[e] <= '9') {
				e++
			}
			toks = append(toks, token{kind: tName, s: src[pos:e], pos: pos})
			pos = e
		default:
			op := ""
			for _, o := range ops2 {
				if strings.HasPrefix(src[pos:], o) {
					op = o
					break
				}
			}
			if op == "" && strings.IndexByte(ops1, c) >= 0 {
				op = src[pos : pos+1]
			}
			if op == "" {
				return nil, 0, false, errAt(pos, "unexpected character %q", src[pos:pos+utf8RuneLen(src[pos:])])
			}
			switch op {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				if depth > 0 {
					depth--
				}
			}
			toks = append(toks, token{kind: tOp, s: op, pos: pos})
			pos += len(op)
		}
	}
}

func utf8RuneLen(s string) int {
	_, n := utf8.DecodeRuneInString(s)
	return max(n, 1)
}

func lexNumber(src string, pos int) (token, int, error) {
	e := pos
	isFloat := false
	digits := func() {
		for e < len(src) && (src[e] >= '0' && src[e] <= '9' || src[e] == '_') {
			e++
		}
	}
	digits()
	if e+1 < len(src) && src[e] == '.' && src[e+1] >= '0' && src[e+1] <= '9' {
		isFloat = true
		e++
		digits()
	}
	if e < len(src) && (src[e] == 'e' || src[e] == 'E') {
		f := e + 1
		if f < len(src) && (src[f] == '+' || src[f] == '-') {
			f++
		}
		if f < len(src) && src[f] >= '0' && src[f] <= '9' {
			isFloat = true
			e = f
			digits()
		}
	}
	text := strings.ReplaceAll(src[pos:e], "_", "")
	if isFloat {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return token{}, 0, errAt(pos, "bad number %q", text)
		}
		return token{kind: tFloat, f: f, pos: pos}, e - pos, nil
	}
	i, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return token{}, 0, errAt(pos, "bad integer %q", text)
	}
	return token{kind: tInt, i: i, pos: pos}, e - pos, nil
}

// lexString decodes a quoted literal with Python's backslash escapes.
func lexString(src string, pos int) (string, int, error) {
	q := src[pos]
	var b strings.Builder
	i := pos + 1
	for i < len(src) {
		c := src[i]
		if c == q {
			return b.String(), i + 1 - pos, nil
		}
		if c != '\\' {
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(src) {
			break
		}
		e := src[i+1]
		i += 2
		switch e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case '0':
			b.WriteByte(0)
		case '\n':
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+n > len(src) {
				return "", 0, errAt(i-2, "truncated \\%c escape", e)
			}
			v, err := strconv.ParseUint(src[i:i+n], 16, 32)
			if err != nil || v > utf8.MaxRune {
				return "", 0, errAt(i-2, "bad \\%c escape", e)
			}
			b.WriteRune(rune(v))
			i += n
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return "", 0, errAt(pos, "unterminated string")
}
