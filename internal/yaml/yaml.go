// Package yaml decodes the subset of YAML that configuration files use:
// block mappings and sequences, flow lists and maps, plain and quoted
// scalars, literal (|) and folded (>) block scalars, and comments. Anchors,
// tags, multiple documents and complex keys are rejected with an error.
//
// The project keeps its dependency list short; recipe and training files need
// no more than this, and every error names the file and line.
package yaml

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// DecodeFile reads a YAML file into v (a pointer to a struct with json tags).
// Unknown fields are an error, so a misspelt key does not pass silently.
func DecodeFile(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := Decode(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Decode parses data and stores the result in v through encoding/json, so
// struct tags and types behave as they do for JSON.
func Decode(data []byte, v any) error {
	tree, err := Parse(data)
	if err != nil {
		return err
	}
	js, err := json.Marshal(tree)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("yaml: %w", err)
	}
	return nil
}

// Parse returns the document as map[string]any, []any and scalars
// (string, int64, float64, bool, nil).
func Parse(data []byte) (any, error) {
	p := &parser{}
	if err := p.split(string(data)); err != nil {
		return nil, err
	}
	if len(p.lines) == 0 {
		return map[string]any{}, nil
	}
	v, err := p.block(p.lines[0].indent)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.lines) {
		return nil, fmt.Errorf("line %d: unexpected content after the document", p.lines[p.i].num)
	}
	return v, nil
}

type line struct {
	num    int
	indent int
	text   string // without indentation and trailing comment
	raw    string // the full original line, for block scalars
}

type parser struct {
	lines []line
	all   []string // every raw line, for block scalars
	i     int
}

func (p *parser) split(src string) error {
	src = strings.TrimPrefix(src, "\ufeff")
	p.all = strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	blockIndent := -1 // indent of a "key: |" line whose content follows
	for n := 0; n < len(p.all); n++ {
		raw := p.all[n]
		t := strings.TrimLeft(raw, " ")
		indent := len(raw) - len(t)
		if blockIndent >= 0 && (strings.TrimSpace(raw) == "" || indent > blockIndent) {
			// Block scalar content: kept as is (blockScalar reads p.all).
			if strings.TrimSpace(raw) != "" {
				p.lines = append(p.lines, line{num: n + 1, indent: indent, text: strings.TrimSpace(raw), raw: raw})
			}
			continue
		}
		blockIndent = -1
		if strings.Contains(raw, "\t") && strings.TrimLeft(raw, " ") != strings.TrimLeft(raw, " \t") {
			return fmt.Errorf("line %d: tab in indentation", n+1)
		}
		t = strings.TrimRight(stripComment(t), " \t")
		if t == "" {
			continue
		}
		if t == "---" && len(p.lines) == 0 {
			continue
		}
		if t == "---" || t == "..." {
			return fmt.Errorf("line %d: multiple documents are not supported", n+1)
		}
		// A flow collection may continue over the following lines.
		first := n
		for flowDepth(t) > 0 && n+1 < len(p.all) {
			n++
			t += " " + strings.TrimSpace(stripComment(strings.TrimLeft(p.all[n], " ")))
		}
		if flowDepth(t) > 0 {
			return fmt.Errorf("line %d: unterminated flow collection", first+1)
		}
		p.lines = append(p.lines, line{num: first + 1, indent: indent, text: t, raw: raw})
		if _, rest, ok := splitKey(t); ok && rest != "" && (rest[0] == '|' || rest[0] == '>') {
			blockIndent = indent
		}
	}
	return nil
}

// flowDepth is the number of [ and { left open in s, outside quotes.
func flowDepth(s string) int {
	depth := 0
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0:
			if c == '\\' && q == '"' {
				i++
			} else if c == q {
				q = 0
			}
		case (c == '"' || c == '\'') && (i == 0 || strings.IndexByte(" [{,:", s[i-1]) >= 0):
			q = c
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		}
	}
	return depth
}

// stripComment removes a " #" comment that is outside quotes.
func stripComment(s string) string {
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0:
			if c == '\\' && q == '"' {
				i++
			} else if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			if i == 0 || s[i-1] == ' ' || s[i-1] == '[' || s[i-1] == '{' || s[i-1] == ',' || s[i-1] == ':' {
				q = c
			}
		case c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return s[:i]
		}
	}
	return s
}

// block parses the node whose lines start at the current line with the given indent.
func (p *parser) block(indent int) (any, error) {
	l := p.lines[p.i]
	if l.text == "-" || strings.HasPrefix(l.text, "- ") {
		return p.sequence(indent)
	}
	if _, _, ok := splitKey(l.text); ok {
		return p.mapping(indent)
	}
	p.i++
	return scalar(l.text, l.num)
}

func (p *parser) sequence(indent int) (any, error) {
	out := []any{}
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if l.indent < indent {
			break
		}
		if l.indent > indent {
			return nil, fmt.Errorf("line %d: unexpected indentation", l.num)
		}
		if l.text != "-" && !strings.HasPrefix(l.text, "- ") {
			break // a key at the same indent ends a sequence nested as "key:\n- item"
		}
		rest := strings.TrimLeft(strings.TrimPrefix(l.text, "-"), " ")
		if rest == "" {
			p.i++
			if p.i < len(p.lines) && p.lines[p.i].indent > indent {
				v, err := p.block(p.lines[p.i].indent)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			} else {
				out = append(out, nil)
			}
			continue
		}
		// "- key: value" opens a mapping whose indent is the column of key.
		inner := indent + (len(l.text) - len(rest))
		p.lines[p.i] = line{num: l.num, indent: inner, text: rest, raw: l.raw}
		v, err := p.block(inner)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (p *parser) mapping(indent int) (any, error) {
	out := map[string]any{}
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if l.indent < indent {
			break
		}
		if l.indent > indent {
			return nil, fmt.Errorf("line %d: unexpected indentation", l.num)
		}
		key, rest, ok := splitKey(l.text)
		if !ok {
			return nil, fmt.Errorf("line %d: expected \"key: value\"", l.num)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("line %d: duplicate key %q", l.num, key)
		}
		p.i++
		switch {
		case rest == "":
			if p.i < len(p.lines) && (p.lines[p.i].indent > indent ||
				(p.lines[p.i].indent == indent && strings.HasPrefix(p.lines[p.i].text+" ", "- "))) {
				v, err := p.block(p.lines[p.i].indent)
				if err != nil {
					return nil, err
				}
				out[key] = v
			} else {
				out[key] = nil
			}
		case rest[0] == '|' || rest[0] == '>':
			v, err := p.blockScalar(rest, indent, l.num)
			if err != nil {
				return nil, err
			}
			out[key] = v
		default:
			v, err := scalar(rest, l.num)
			if err != nil {
				return nil, err
			}
			out[key] = v
		}
	}
	return out, nil
}

// blockScalar reads a | or > scalar from the raw lines after the header line.
func (p *parser) blockScalar(header string, parentIndent, num int) (string, error) {
	folded := header[0] == '>'
	chomp := strings.TrimSpace(header[1:])
	if chomp != "" && chomp != "-" && chomp != "+" {
		return "", fmt.Errorf("line %d: unsupported block scalar header %q", num, header)
	}
	var body []string
	indent := -1
	last := num // 1-based line number of the header
	for n := num; n < len(p.all); n++ {
		raw := p.all[n]
		t := strings.TrimLeft(raw, " ")
		if t == "" {
			body = append(body, "")
			continue
		}
		ind := len(raw) - len(t)
		if ind <= parentIndent {
			break
		}
		if indent < 0 {
			indent = ind
		}
		if ind < indent {
			break
		}
		body = append(body, raw[indent:])
		last = n + 1
	}
	body = body[:len(body)-countTrailingEmpty(body)]
	for p.i < len(p.lines) && p.lines[p.i].num <= last {
		p.i++
	}
	var s string
	if folded {
		s = strings.Join(body, " ")
	} else {
		s = strings.Join(body, "\n")
	}
	if chomp != "-" && len(body) > 0 {
		s += "\n"
	}
	return s, nil
}

func countTrailingEmpty(b []string) int {
	n := 0
	for i := len(b) - 1; i >= 0 && b[i] == ""; i-- {
		n++
	}
	return n
}

// splitKey splits "key: rest". Keys may be quoted.
func splitKey(s string) (key, rest string, ok bool) {
	if s[0] == '"' || s[0] == '\'' {
		end := strings.IndexByte(s[1:], s[0])
		if end < 0 {
			return "", "", false
		}
		k := s[1 : end+1]
		after := s[end+2:]
		if after == ":" || strings.HasPrefix(after, ": ") {
			return k, strings.TrimSpace(after[1:]), true
		}
		return "", "", false
	}
	if s[0] == '[' || s[0] == '{' {
		return "", "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == ':' && (i+1 == len(s) || s[i+1] == ' ') {
			return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:]), i > 0
		}
	}
	return "", "", false
}

func scalar(s string, num int) (any, error) {
	switch s[0] {
	case '[', '{':
		f := &flow{s: s, num: num}
		v, err := f.value()
		if err != nil {
			return nil, err
		}
		f.space()
		if f.i != len(f.s) {
			return nil, fmt.Errorf("line %d: trailing text after flow value", num)
		}
		return v, nil
	case '"', '\'':
		v, n, err := quoted(s, num)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(s[n:]) != "" {
			return nil, fmt.Errorf("line %d: trailing text after quoted string", num)
		}
		return v, nil
	case '&', '*', '!':
		return nil, fmt.Errorf("line %d: anchors, aliases and tags are not supported", num)
	}
	return plain(s), nil
}

func plain(s string) any {
	switch s {
	case "~", "null", "Null", "NULL":
		return nil
	case "true", "True", "TRUE":
		return true
	case "false", "False", "FALSE":
		return false
	case ".inf", "+.inf":
		return math.Inf(1)
	case "-.inf":
		return math.Inf(-1)
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	if strings.ContainsAny(s, "0123456789") && !strings.ContainsAny(s, "_xX") {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	}
	return s
}

// quoted parses a quoted string at the start of s and returns its value and length.
func quoted(s string, num int) (string, int, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		if q == '\'' {
			if c == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					b.WriteByte('\'')
					i++
					continue
				}
				return b.String(), i + 1, nil
			}
			b.WriteByte(c)
			continue
		}
		switch c {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			if i+1 >= len(s) {
				return "", 0, fmt.Errorf("line %d: unterminated escape", num)
			}
			i++
			switch e := s[i]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			case '"', '\\', '/', '\'':
				b.WriteByte(e)
			case 'u', 'U', 'x':
				n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
				if i+n >= len(s) {
					return "", 0, fmt.Errorf("line %d: short \\%c escape", num, e)
				}
				r, err := strconv.ParseUint(s[i+1:i+1+n], 16, 32)
				if err != nil {
					return "", 0, fmt.Errorf("line %d: bad \\%c escape", num, e)
				}
				b.WriteRune(rune(r))
				i += n
			default:
				return "", 0, fmt.Errorf("line %d: unknown escape \\%c", num, e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("line %d: unterminated %c string", num, q)
}

// flow parses [a, b] and {k: v} values on one line.
type flow struct {
	s   string
	i   int
	num int
}

func (f *flow) space() {
	for f.i < len(f.s) && f.s[f.i] == ' ' {
		f.i++
	}
}

func (f *flow) value() (any, error) {
	f.space()
	if f.i >= len(f.s) {
		return nil, fmt.Errorf("line %d: unexpected end of flow value", f.num)
	}
	switch f.s[f.i] {
	case '[':
		f.i++
		out := []any{}
		for {
			f.space()
			if f.i < len(f.s) && f.s[f.i] == ']' {
				f.i++
				return out, nil
			}
			v, err := f.value()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			if err := f.sep(']'); err != nil {
				return nil, err
			}
		}
	case '{':
		f.i++
		out := map[string]any{}
		for {
			f.space()
			if f.i < len(f.s) && f.s[f.i] == '}' {
				f.i++
				return out, nil
			}
			k, err := f.value()
			if err != nil {
				return nil, err
			}
			f.space()
			if f.i >= len(f.s) || f.s[f.i] != ':' {
				return nil, fmt.Errorf("line %d: expected ':' in flow mapping", f.num)
			}
			f.i++
			v, err := f.value()
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = v
			if err := f.sep('}'); err != nil {
				return nil, err
			}
		}
	case '"', '\'':
		v, n, err := quoted(f.s[f.i:], f.num)
		if err != nil {
			return nil, err
		}
		f.i += n
		return v, nil
	}
	start := f.i
	for f.i < len(f.s) && !strings.ContainsRune(",]}", rune(f.s[f.i])) &&
		!(f.s[f.i] == ':' && (f.i+1 == len(f.s) || f.s[f.i+1] == ' ')) {
		f.i++
	}
	return plain(strings.TrimSpace(f.s[start:f.i])), nil
}

func (f *flow) sep(close byte) error {
	f.space()
	if f.i < len(f.s) && f.s[f.i] == ',' {
		f.i++
		return nil
	}
	if f.i < len(f.s) && f.s[f.i] == close {
		return nil
	}
	return fmt.Errorf("line %d: expected ',' or '%c' in flow value", f.num, close)
}
