package jinja

import (
	"slices"
	"strings"
)

type parser struct {
	segs []segment
	si   int // next segment
	toks []token
	ti   int
	// depth bounds nesting so hostile input cannot exhaust the stack.
	depth int
	open  int // offset of the statement whose block is being read
}

const maxDepth = 200

func parse(segs []segment) ([]node, error) {
	p := &parser{segs: segs}
	body, end, err := p.body()
	if err != nil {
		return nil, err
	}
	if end != "" {
		return nil, errAt(p.tok().pos, "unexpected %q", end)
	}
	return body, nil
}

func (p *parser) tok() token { return p.toks[p.ti] }

func (p *parser) next() token {
	t := p.toks[p.ti]
	if t.kind != tEOF {
		p.ti++
	}
	return t
}

func (p *parser) isOp(s string) bool   { t := p.tok(); return t.kind == tOp && t.s == s }
func (p *parser) isName(s string) bool { t := p.tok(); return t.kind == tName && t.s == s }

func (p *parser) skipOp(s string) bool {
	if p.isOp(s) {
		p.ti++
		return true
	}
	return false
}

func (p *parser) skipName(s string) bool {
	if p.isName(s) {
		p.ti++
		return true
	}
	return false
}

func (p *parser) expectOp(s string) error {
	if !p.skipOp(s) {
		return p.unexpected("%q", s)
	}
	return nil
}

func (p *parser) unexpected(wantFmt string, args ...any) error {
	t := p.tok()
	got := "end of tag"
	switch t.kind {
	case tName, tOp:
		got = "'" + t.s + "'"
	case tString:
		got = "string"
	case tInt, tFloat:
		got = "number"
	}
	want := wantFmt
	if len(args) > 0 {
		want = sprintf(wantFmt, args...)
	}
	return errAt(t.pos, "expected %s, got %s", want, got)
}

func (p *parser) expectName() (string, error) {
	t := p.tok()
	if t.kind != tName {
		return "", p.unexpected("a name")
	}
	p.ti++
	return t.s, nil
}

func (p *parser) expectEnd() error {
	if p.tok().kind != tEOF {
		return p.unexpected("end of tag")
	}
	return nil
}

// body parses nodes until a statement whose keyword is in ends (returned,
// with the cursor after the keyword) or the end of the template ("").
func (p *parser) body(ends ...string) ([]node, string, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		pos := 0
		if p.si > 0 {
			pos = p.segs[p.si-1].pos
		}
		return nil, "", errAt(pos, "blocks nested too deeply")
	}
	var out []node
	for p.si < len(p.segs) {
		seg := p.segs[p.si]
		p.si++
		switch seg.kind {
		case segText:
			out = append(out, &textNode{seg.text})
			continue
		case segOutput:
			p.toks, p.ti = seg.toks, 0
			e, err := p.tuple(true)
			if err != nil {
				return nil, "", err
			}
			if err := p.expectEnd(); err != nil {
				return nil, "", err
			}
			out = append(out, &outputNode{e})
			continue
		}
		p.toks, p.ti = seg.toks, 0
		kw, err := p.expectName()
		if err != nil {
			return nil, "", err
		}
		if slices.Contains(ends, kw) {
			return out, kw, nil
		}
		n, err := p.stmt(kw, seg.pos)
		if err != nil {
			return nil, "", err
		}
		if n != nil {
			out = append(out, n)
		}
	}
	if len(ends) > 0 {
		return nil, "", errAt(p.open, "block not closed: reached the end of the template looking for %s", strings.Join(ends, " or "))
	}
	return out, "", nil
}

func (p *parser) stmt(kw string, pos int) (node, error) {
	saved := p.open
	p.open = pos
	defer func() { p.open = saved }()
	switch kw {
	case "if":
		return p.ifStmt()
	case "for":
		return p.forStmt(pos)
	case "set":
		return p.setStmt(pos)
	case "macro":
		return p.macroStmt()
	case "call":
		return p.callStmt(pos)
	case "filter":
		return p.filterStmt(pos)
	case "break", "continue":
		return &loopCtl{pos: pos, brk: kw == "break"}, p.expectEnd()
	case "generation":
		// transformers' AssistantTracker marks assistant text; for rendering
		// the block is transparent.
		if err := p.expectEnd(); err != nil {
			return nil, err
		}
		body, _, err := p.body("endgeneration")
		if err != nil {
			return nil, err
		}
		return &ifNode{conds: []expr{&constExpr{true}}, bodies: [][]node{body}}, p.expectEnd()
	}
	return nil, errAt(pos, "unknown tag %q", kw)
}

func (p *parser) ifStmt() (node, error) {
	n := &ifNode{}
	for {
		cond, err := p.expr(true)
		if err != nil {
			return nil, err
		}
		if err := p.expectEnd(); err != nil {
			return nil, err
		}
		body, end, err := p.body("elif", "else", "endif")
		if err != nil {
			return nil, err
		}
		n.conds = append(n.conds, cond)
		n.bodies = append(n.bodies, body)
		switch end {
		case "elif":
			continue
		case "else":
			if err := p.expectEnd(); err != nil {
				return nil, err
			}
			body, _, err := p.body("endif")
			if err != nil {
				return nil, err
			}
			n.bodies = append(n.bodies, body)
		}
		return n, p.expectEnd()
	}
}

func (p *parser) targets() ([]string, error) {
	paren := p.skipOp("(")
	var names []string
	for {
		n, err := p.expectName()
		if err != nil {
			return nil, err
		}
		names = append(names, n)
		if !p.skipOp(",") {
			break
		}
	}
	if paren {
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
	}
	return names, nil
}

func (p *parser) forStmt(pos int) (node, error) {
	n := &forNode{pos: pos}
	var err error
	if n.targets, err = p.targets(); err != nil {
		return nil, err
	}
	if !p.skipName("in") {
		return nil, p.unexpected("'in'")
	}
	// No conditional expression here: a trailing "if" filters the loop.
	if n.iter, err = p.tuple(false); err != nil {
		return nil, err
	}
	if p.skipName("if") {
		if n.filter, err = p.expr(true); err != nil {
			return nil, err
		}
	}
	n.recursive = p.skipName("recursive")
	if err := p.expectEnd(); err != nil {
		return nil, err
	}
	body, end, err := p.body("else", "endfor")
	if err != nil {
		return nil, err
	}
	n.body = body
	if end == "else" {
		if err := p.expectEnd(); err != nil {
			return nil, err
		}
		if n.elseBody, _, err = p.body("endfor"); err != nil {
			return nil, err
		}
	}
	return n, p.expectEnd()
}

func (p *parser) setStmt(pos int) (node, error) {
	n := &setNode{pos: pos}
	name, err := p.expectName()
	if err != nil {
		return nil, err
	}
	n.targets = []string{name}
	if p.skipOp(".") {
		if n.attr, err = p.expectName(); err != nil {
			return nil, err
		}
	} else {
		for p.skipOp(",") {
			nm, err := p.expectName()
			if err != nil {
				return nil, err
			}
			n.targets = append(n.targets, nm)
		}
	}
	if p.skipOp("=") {
		if n.value, err = p.tuple(true); err != nil {
			return nil, err
		}
		return n, p.expectEnd()
	}
	if n.attr != "" || len(n.targets) != 1 {
		return nil, p.unexpected("'='")
	}
	if p.isOp("|") {
		f, err := p.filterChain(nil)
		if err != nil {
			return nil, err
		}
		n.filter = f.(*filterExpr)
	}
	if err := p.expectEnd(); err != nil {
		return nil, err
	}
	if n.body, _, err = p.body("endset"); err != nil {
		return nil, err
	}
	return n, p.expectEnd()
}

func (p *parser) macroStmt() (node, error) {
	n := &macroNode{}
	var err error
	if n.name, err = p.expectName(); err != nil {
		return nil, err
	}
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	for !p.skipOp(")") {
		if len(n.params) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
			if p.skipOp(")") {
				break
			}
		}
		name, err := p.expectName()
		if err != nil {
			return nil, err
		}
		var def expr
		if p.skipOp("=") {
			if def, err = p.expr(true); err != nil {
				return nil, err
			}
		}
		n.params = append(n.params, name)
		n.defaults = append(n.defaults, def)
	}
	if err := p.expectEnd(); err != nil {
		return nil, err
	}
	if n.body, _, err = p.body("endmacro"); err != nil {
		return nil, err
	}
	p.skipName(n.name)
	return n, p.expectEnd()
}

func (p *parser) callStmt(pos int) (node, error) {
	e, err := p.expr(true)
	if err != nil {
		return nil, err
	}
	c, ok := e.(*callExpr)
	if !ok {
		return nil, errAt(pos, "call tag needs a call expression")
	}
	if err := p.expectEnd(); err != nil {
		return nil, err
	}
	body, _, err := p.body("endcall")
	if err != nil {
		return nil, err
	}
	return &callBlockNode{pos: pos, call: c, body: body}, p.expectEnd()
}

func (p *parser) filterStmt(pos int) (node, error) {
	p.ti-- // let filterChain read the name as if after "|"
	p.toks = append(append([]token(nil), p.toks[:p.ti]...), append([]token{{kind: tOp, s: "|", pos: pos}}, p.toks[p.ti+1:]...)...)
	f, err := p.filterChain(nil)
	if err != nil {
		return nil, err
	}
	if err := p.expectEnd(); err != nil {
		return nil, err
	}
	body, _, err := p.body("endfilter")
	if err != nil {
		return nil, err
	}
	return &filterBlockNode{filter: f.(*filterExpr), body: body}, p.expectEnd()
}
