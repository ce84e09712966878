package jinja

import (
	"fmt"
	"slices"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// tuple parses an expression or an implicit tuple "a, b".
func (p *parser) tuple(cond bool) (expr, error) {
	first, err := p.expr(cond)
	if err != nil {
		return nil, err
	}
	if !p.isOp(",") {
		return first, nil
	}
	items := []expr{first}
	for p.skipOp(",") {
		if p.tok().kind == tEOF || p.isOp(")") {
			break // trailing comma: (1,)
		}
		e, err := p.expr(cond)
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	return &listExpr{items: items, tuple: true}, nil
}

// expr parses a full expression; without cond a trailing "if" is left for
// the caller (as in a for loop's filter).
func (p *parser) expr(cond bool) (expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, errAt(p.tok().pos, "expression nested too deeply")
	}
	x, err := p.or()
	if err != nil || !cond {
		return x, err
	}
	for p.isName("if") {
		pos := p.next().pos
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		var no expr
		if p.skipName("else") {
			if no, err = p.expr(true); err != nil {
				return nil, err
			}
		}
		x = &condExpr{pos: pos, cond: c, yes: x, no: no}
	}
	return x, nil
}

func (p *parser) or() (expr, error) {
	x, err := p.and()
	for err == nil && p.isName("or") {
		pos := p.next().pos
		var y expr
		if y, err = p.and(); err == nil {
			x = &binExpr{pos: pos, op: "or", l: x, r: y}
		}
	}
	return x, err
}

func (p *parser) and() (expr, error) {
	x, err := p.not()
	for err == nil && p.isName("and") {
		pos := p.next().pos
		var y expr
		if y, err = p.not(); err == nil {
			x = &binExpr{pos: pos, op: "and", l: x, r: y}
		}
	}
	return x, err
}

func (p *parser) not() (expr, error) {
	if p.isName("not") {
		pos := p.next().pos
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxDepth {
			return nil, errAt(pos, "expression nested too deeply")
		}
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return &unaryExpr{pos: pos, op: "not", x: x}, nil
	}
	return p.compare()
}

var cmpOps = map[string]bool{"==": true, "!=": true, "<": true, ">": true, "<=": true, ">=": true}

func (p *parser) compare() (expr, error) {
	pos := p.tok().pos
	x, err := p.math1()
	if err != nil {
		return nil, err
	}
	c := &compareExpr{pos: pos, first: x}
	for {
		t := p.tok()
		var op string
		switch {
		case t.kind == tOp && cmpOps[t.s]:
			op = t.s
			p.next()
		case p.isName("in"):
			op = "in"
			p.next()
		case p.isName("not") && p.ti+1 < len(p.toks) && p.toks[p.ti+1].kind == tName && p.toks[p.ti+1].s == "in":
			op = "not in"
			p.ti += 2
		default:
			if len(c.ops) == 0 {
				return x, nil
			}
			return c, nil
		}
		y, err := p.math1()
		if err != nil {
			return nil, err
		}
		c.ops = append(c.ops, op)
		c.rest = append(c.rest, y)
	}
}

func (p *parser) binLevel(ops []string, next func() (expr, error)) (expr, error) {
	x, err := next()
	for err == nil {
		t := p.tok()
		if t.kind != tOp || !slices.Contains(ops, t.s) {
			break
		}
		p.next()
		var y expr
		if y, err = next(); err == nil {
			x = &binExpr{pos: t.pos, op: t.s, l: x, r: y}
		}
	}
	return x, err
}

func (p *parser) math1() (expr, error)  { return p.binLevel([]string{"+", "-"}, p.concat) }
func (p *parser) concat() (expr, error) { return p.binLevel([]string{"~"}, p.math2) }
func (p *parser) math2() (expr, error) {
	return p.binLevel([]string{"*", "/", "//", "%"}, p.pow)
}
func (p *parser) pow() (expr, error) {
	return p.binLevel([]string{"**"}, func() (expr, error) { return p.unary(true) })
}

func (p *parser) unary(withFilter bool) (expr, error) {
	t := p.tok()
	var x expr
	var err error
	if t.kind == tOp && (t.s == "-" || t.s == "+") {
		p.next()
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxDepth {
			return nil, errAt(t.pos, "expression nested too deeply")
		}
		var y expr
		if y, err = p.unary(false); err != nil {
			return nil, err
		}
		x = &unaryExpr{pos: t.pos, op: t.s, x: y}
	} else {
		if x, err = p.primary(); err != nil {
			return nil, err
		}
	}
	if x, err = p.postfix(x); err != nil {
		return nil, err
	}
	if withFilter {
		return p.filterChain(x)
	}
	return x, nil
}

func (p *parser) primary() (expr, error) {
	t := p.tok()
	switch t.kind {
	case tName:
		p.next()
		switch t.s {
		case "true", "True":
			return &constExpr{true}, nil
		case "false", "False":
			return &constExpr{false}, nil
		case "none", "None":
			return &constExpr{nil}, nil
		}
		return &nameExpr{pos: t.pos, name: t.s}, nil
	case tString:
		s := p.next().s
		for p.tok().kind == tString {
			s += p.next().s
		}
		return &constExpr{s}, nil
	case tInt:
		p.next()
		return &constExpr{t.i}, nil
	case tFloat:
		p.next()
		return &constExpr{t.f}, nil
	case tOp:
		switch t.s {
		case "(":
			p.next()
			if p.skipOp(")") {
				return &listExpr{tuple: true}, nil
			}
			x, err := p.tuple(true)
			if err != nil {
				return nil, err
			}
			return x, p.expectOp(")")
		case "[":
			p.next()
			items, err := p.exprList("]")
			return &listExpr{items: items}, err
		case "{":
			p.next()
			d := &dictExpr{}
			for !p.skipOp("}") {
				if len(d.keys) > 0 {
					if err := p.expectOp(","); err != nil {
						return nil, err
					}
					if p.skipOp("}") {
						break
					}
				}
				k, err := p.expr(true)
				if err != nil {
					return nil, err
				}
				if err := p.expectOp(":"); err != nil {
					return nil, err
				}
				v, err := p.expr(true)
				if err != nil {
					return nil, err
				}
				d.keys, d.vals = append(d.keys, k), append(d.vals, v)
			}
			return d, nil
		}
	}
	return nil, p.unexpected("an expression")
}

// exprList parses "a, b, c" up to the closing bracket (trailing comma ok).
func (p *parser) exprList(closer string) ([]expr, error) {
	var items []expr
	for !p.skipOp(closer) {
		if len(items) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
			if p.skipOp(closer) {
				break
			}
		}
		e, err := p.expr(true)
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	return items, nil
}

func (p *parser) postfix(x expr) (expr, error) {
	for {
		t := p.tok()
		if t.kind != tOp {
			return x, nil
		}
		switch t.s {
		case ".":
			p.next()
			a := p.next()
			switch a.kind {
			case tName:
				x = &attrExpr{pos: a.pos, obj: x, name: a.s}
			case tInt:
				x = &itemExpr{pos: a.pos, obj: x, key: &constExpr{a.i}}
			default:
				return nil, errAt(a.pos, "expected attribute name after '.'")
			}
		case "[":
			p.next()
			var err error
			if x, err = p.subscript(t.pos, x); err != nil {
				return nil, err
			}
		case "(":
			p.next()
			c := &callExpr{pos: t.pos, fn: x}
			if err := p.callArgs(&c.args, &c.kwargs); err != nil {
				return nil, err
			}
			x = c
		default:
			return x, nil
		}
	}
}

func (p *parser) subscript(pos int, obj expr) (expr, error) {
	var parts [3]expr
	n := 0
	for {
		if !p.isOp(":") && !p.isOp("]") {
			e, err := p.expr(true)
			if err != nil {
				return nil, err
			}
			parts[n] = e
		}
		if p.skipOp("]") {
			break
		}
		if n == 2 || !p.skipOp(":") {
			return nil, p.unexpected("']'")
		}
		n++
	}
	if n == 0 {
		if parts[0] == nil {
			return nil, errAt(pos, "empty subscript")
		}
		return &itemExpr{pos: pos, obj: obj, key: parts[0]}, nil
	}
	return &sliceExpr{pos: pos, obj: obj, start: parts[0], stop: parts[1], step: parts[2]}, nil
}

func (p *parser) callArgs(args *[]expr, kwargs *[]kwarg) error {
	first := true
	for !p.skipOp(")") {
		if !first {
			if err := p.expectOp(","); err != nil {
				return err
			}
			if p.skipOp(")") {
				break
			}
		}
		first = false
		if p.tok().kind == tName && p.ti+1 < len(p.toks) && p.toks[p.ti+1].kind == tOp && p.toks[p.ti+1].s == "=" {
			name := p.next().s
			p.next()
			v, err := p.expr(true)
			if err != nil {
				return err
			}
			*kwargs = append(*kwargs, kwarg{name, v})
			continue
		}
		if len(*kwargs) > 0 {
			return errAt(p.tok().pos, "positional argument after keyword argument")
		}
		v, err := p.expr(true)
		if err != nil {
			return err
		}
		*args = append(*args, v)
	}
	return nil
}

func (p *parser) dottedName() (string, error) {
	name, err := p.expectName()
	for err == nil && p.isOp(".") {
		p.next()
		var more string
		if more, err = p.expectName(); err == nil {
			name += "." + more
		}
	}
	return name, err
}

// filterChain parses any "| filter" and "is test" suffixes.
func (p *parser) filterChain(x expr) (expr, error) {
	for {
		switch {
		case p.isOp("|"):
			pos := p.next().pos
			name, err := p.dottedName()
			if err != nil {
				return nil, err
			}
			f := &filterExpr{pos: pos, target: x, name: name}
			if p.skipOp("(") {
				if err := p.callArgs(&f.args, &f.kwargs); err != nil {
					return nil, err
				}
			}
			x = f
		case p.isName("is"):
			pos := p.next().pos
			t := &testExpr{pos: pos, target: x, negate: p.skipName("not")}
			name, err := p.dottedName()
			if err != nil {
				return nil, err
			}
			t.name = name
			if p.skipOp("(") {
				var kw []kwarg
				if err := p.callArgs(&t.args, &kw); err != nil {
					return nil, err
				}
			} else if p.testArgFollows() {
				a, err := p.primary()
				if err != nil {
					return nil, err
				}
				if a, err = p.postfix(a); err != nil {
					return nil, err
				}
				t.args = []expr{a}
			}
			x = t
		case p.isOp("(") && x != nil:
			pos := p.next().pos
			c := &callExpr{pos: pos, fn: x}
			if err := p.callArgs(&c.args, &c.kwargs); err != nil {
				return nil, err
			}
			x = c
		default:
			return x, nil
		}
	}
}

func (p *parser) testArgFollows() bool {
	t := p.tok()
	switch t.kind {
	case tString, tInt, tFloat:
		return true
	case tName:
		return t.s != "else" && t.s != "or" && t.s != "and" && t.s != "is" && t.s != "if" && t.s != "in" && t.s != "not"
	case tOp:
		return t.s == "[" || t.s == "{"
	}
	return false
}
