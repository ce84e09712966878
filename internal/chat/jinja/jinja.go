// Package jinja renders the Jinja2 subset that Hugging Face and GGUF chat
// templates use: output and statement tags with whitespace control, if/for
// (loop variable, else, filters, break/continue), set (including namespace
// attributes and block sets), macros, Python-like expressions, slicing,
// string/dict methods, the common filters and tests, and the
// raise_exception and strftime_now globals transformers adds. Output
// follows CPython's str()/repr() so rendered prompts match byte for byte.
package jinja

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Template is a parsed template; it is safe for concurrent Render calls.
type Template struct {
	src  string
	body []node
}

// Parse compiles src.
func Parse(src string, opt Options) (*Template, error) {
	// Jinja turns every \r\n and \r of the source into \n (its default
	// newline_sequence), in text and string literals alike.
	src = strings.ReplaceAll(strings.ReplaceAll(src, "\r\n", "\n"), "\r", "\n")
	segs, err := lex(src, opt)
	if err == nil {
		var body []node
		if body, err = parse(segs); err == nil {
			return &Template{src: src, body: body}, nil
		}
	}
	return nil, locate(src, err)
}

func locate(src string, err error) error {
	var pe *posError
	if errors.As(err, &pe) {
		line, col := lineCol(src, pe.pos)
		return fmt.Errorf("jinja: line %d col %d: %s", line, col, pe.msg)
	}
	return fmt.Errorf("jinja: %w", err)
}

// Render executes the template with vars as the top-level context. Values
// may be plain Go data (see FromGo) or engine values such as *Dict.
func (t *Template) Render(vars map[string]any) (string, error) {
	top := &scope{vars: make(map[string]any, len(vars))}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, err := FromGo(vars[k])
		if err != nil {
			return "", fmt.Errorf("jinja: variable %s: %w", k, err)
		}
		top.vars[k] = v
	}
	r := &renderer{}
	err := r.exec(t.body, top)
	switch {
	case err == errBreak || err == errContinue:
		return "", fmt.Errorf("jinja: %v", err)
	case err != nil:
		var ee *ExceptionError
		if errors.As(err, &ee) {
			return "", ee
		}
		return "", locate(t.src, err)
	}
	return r.out.String(), nil
}
