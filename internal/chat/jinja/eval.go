package jinja

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Limits that keep a hostile template from running away.
const (
	maxOutput    = 16 << 20
	maxCallDepth = 100
	maxRange     = 1 << 20
	maxSteps     = 1 << 20 // loop iterations and macro calls per render
)

type scope struct {
	vars   map[string]any
	parent *scope
}

func (s *scope) lookup(name string) (any, bool) {
	for ; s != nil; s = s.parent {
		if v, ok := s.vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

type renderer struct {
	out   strings.Builder
	depth int
	steps int
}

func (r *renderer) step() error {
	r.steps++
	if r.steps > maxSteps {
		return fmt.Errorf("template ran more than %d loop iterations and calls", maxSteps)
	}
	return nil
}

// Control flow for break/continue travels as these errors.
var (
	errBreak    = errors.New("break outside a loop")
	errContinue = errors.New("continue outside a loop")
)

// ExceptionError is what raise_exception(msg) produces.
type ExceptionError struct{ Msg string }

func (e *ExceptionError) Error() string { return "template raised: " + e.Msg }

func (r *renderer) write(s string) error {
	if r.out.Len()+len(s) > maxOutput {
		return fmt.Errorf("output larger than %d bytes", maxOutput)
	}
	r.out.WriteString(s)
	return nil
}

func (r *renderer) exec(nodes []node, sc *scope) error {
	for _, n := range nodes {
		if err := r.execOne(n, sc); err != nil {
			return err
		}
	}
	return nil
}

func (r *renderer) execOne(n node, sc *scope) error {
	switch n := n.(type) {
	case *textNode:
		return r.write(n.text)
	case *outputNode:
		v, err := r.eval(n.expr, sc)
		if err != nil {
			return err
		}
		return r.write(str(v))
	case *ifNode:
		for i, c := range n.conds {
			v, err := r.eval(c, sc)
			if err != nil {
				return err
			}
			if truthy(v) {
				return r.exec(n.bodies[i], sc)
			}
		}
		if len(n.bodies) > len(n.conds) {
			return r.exec(n.bodies[len(n.conds)], sc)
		}
		return nil
	case *forNode:
		return r.execFor(n, sc)
	case *setNode:
		return r.execSet(n, sc)
	case *macroNode:
		sc.vars[n.name] = r.macro(n, sc)
		return nil
	case *callBlockNode:
		return r.execCallBlock(n, sc)
	case *filterBlockNode:
		s, err := r.capture(n.body, sc)
		if err != nil {
			return err
		}
		v, err := r.applyFilter(n.filter, s, sc)
		if err != nil {
			return err
		}
		return r.write(str(v))
	case *loopCtl:
		if n.brk {
			return errBreak
		}
		return errContinue
	}
	return fmt.Errorf("internal: unknown node %T", n)
}

// capture renders nodes into a string instead of the output.
func (r *renderer) capture(nodes []node, sc *scope) (string, error) {
	saved := r.out
	r.out = strings.Builder{}
	err := r.exec(nodes, sc)
	s := r.out.String()
	r.out = saved
	return s, err
}

// execCallBlock calls a macro with the block's body as its caller().
func (r *renderer) execCallBlock(n *callBlockNode, sc *scope) error {
	fn, err := r.eval(n.call.fn, sc)
	if err != nil {
		return err
	}
	f, ok := fn.(*Func)
	if !ok {
		return errAt(n.pos, "call block needs a macro, got %s", typeName(fn))
	}
	args, kw, err := r.evalArgs(n.call.args, n.call.kwargs, sc)
	if err != nil {
		return err
	}
	if kw == nil {
		kw = map[string]any{}
	}
	kw["caller"] = &Func{name: "caller", call: func(r *renderer, _ []any, _ map[string]any) (any, error) {
		return r.capture(n.body, &scope{vars: map[string]any{}, parent: sc})
	}}
	v, err := f.call(r, args, kw)
	if err != nil {
		return err
	}
	return r.write(str(v))
}

func (r *renderer) execFor(n *forNode, sc *scope) error {
	it, err := r.eval(n.iter, sc)
	if err != nil {
		return err
	}
	items, err := iterate(it)
	if err != nil {
		return errAt(n.pos, "for: %v", err)
	}
	if n.filter != nil {
		kept := items[:0:0]
		for _, item := range items {
			s := &scope{vars: map[string]any{}, parent: sc}
			if err := bind(s, n.targets, item, n.pos); err != nil {
				return err
			}
			v, err := r.eval(n.filter, s)
			if err != nil {
				return err
			}
			if truthy(v) {
				kept = append(kept, item)
			}
		}
		items = kept
	}
	if len(items) == 0 {
		return r.exec(n.elseBody, sc)
	}
	// One frame and loop object serve every iteration: a frame is emptied
	// between iterations, since sets inside a loop body do not carry over.
	li := &loopInfo{items: items}
	s := &scope{vars: map[string]any{}, parent: sc}
	for i, item := range items {
		if err := r.step(); err != nil {
			return errAt(n.pos, "%v", err)
		}
		clear(s.vars)
		li.i = i
		s.vars["loop"] = li
		if err := bind(s, n.targets, item, n.pos); err != nil {
			return err
		}
		err := r.exec(n.body, s)
		if err == errBreak {
			break
		}
		if err != nil && err != errContinue {
			return err
		}
	}
	return nil
}

// bind assigns a loop or set target, unpacking tuples.
func bind(sc *scope, targets []string, v any, pos int) error {
	if len(targets) == 1 {
		sc.vars[targets[0]] = v
		return nil
	}
	items, err := iterate(v)
	if err != nil || len(items) != len(targets) {
		return errAt(pos, "cannot unpack %s into %d names", typeName(v), len(targets))
	}
	for i, t := range targets {
		sc.vars[t] = items[i]
	}
	return nil
}

func (r *renderer) execSet(n *setNode, sc *scope) error {
	var v any
	var err error
	if n.value != nil {
		v, err = r.eval(n.value, sc)
	} else {
		var s string
		s, err = r.capture(n.body, sc)
		v = s
		if err == nil && n.filter != nil {
			v, err = r.applyFilter(n.filter, s, sc)
		}
	}
	if err != nil {
		return err
	}
	if n.attr == "" {
		return bind(sc, n.targets, v, n.pos)
	}
	obj, _ := sc.lookup(n.targets[0])
	ns, ok := obj.(*Namespace)
	if !ok {
		return errAt(n.pos, "cannot assign attribute on %s %q (only namespace objects)", typeName(obj), n.targets[0])
	}
	ns.d.Set(n.attr, v)
	return nil
}

func (r *renderer) macro(n *macroNode, def *scope) *Func {
	return &Func{name: n.name, call: func(r *renderer, args []any, kw map[string]any) (any, error) {
		if len(args) > len(n.params) {
			return nil, fmt.Errorf("macro %s takes %d arguments, got %d", n.name, len(n.params), len(args))
		}
		s := &scope{vars: map[string]any{}, parent: def}
		if c, ok := kw["caller"]; ok {
			s.vars["caller"] = c
		}
		for i, p := range n.params {
			switch {
			case i < len(args):
				s.vars[p] = args[i]
			case kw[p] != nil:
				s.vars[p] = kw[p]
			case n.defaults[i] != nil:
				v, err := r.eval(n.defaults[i], def)
				if err != nil {
					return nil, err
				}
				s.vars[p] = v
			default:
				s.vars[p] = Undefined{name: p}
			}
			if v, ok := kw[p]; ok {
				s.vars[p] = v
			}
		}
		if err := r.step(); err != nil {
			return nil, err
		}
		r.depth++
		defer func() { r.depth-- }()
		if r.depth > maxCallDepth {
			return nil, fmt.Errorf("macro %s: calls nested more than %d deep", n.name, maxCallDepth)
		}
		return r.capture(n.body, s)
	}}
}

func (r *renderer) eval(e expr, sc *scope) (any, error) {
	switch e := e.(type) {
	case *constExpr:
		return e.v, nil
	case *nameExpr:
		if v, ok := sc.lookup(e.name); ok {
			return v, nil
		}
		if f, ok := globals[e.name]; ok {
			return f, nil
		}
		return Undefined{name: e.name}, nil
	case *listExpr:
		out := make([]any, len(e.items))
		for i, x := range e.items {
			v, err := r.eval(x, sc)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		if e.tuple {
			return Tuple(out), nil
		}
		return out, nil
	case *dictExpr:
		d := NewDict()
		for i := range e.keys {
			k, err := r.eval(e.keys[i], sc)
			if err != nil {
				return nil, err
			}
			v, err := r.eval(e.vals[i], sc)
			if err != nil {
				return nil, err
			}
			ks, ok := k.(string)
			if !ok {
				ks = repr(k)
			}
			d.Set(ks, v)
		}
		return d, nil
	case *attrExpr:
		obj, err := r.eval(e.obj, sc)
		if err != nil {
			return nil, err
		}
		v, err := getAttr(obj, e.name)
		if err != nil {
			return nil, errAt(e.pos, "%v", err)
		}
		return v, nil
	case *itemExpr:
		obj, err := r.eval(e.obj, sc)
		if err != nil {
			return nil, err
		}
		k, err := r.eval(e.key, sc)
		if err != nil {
			return nil, err
		}
		v, err := getItem(obj, k)
		if err != nil {
			return nil, errAt(e.pos, "%v", err)
		}
		return v, nil
	case *sliceExpr:
		return r.evalSlice(e, sc)
	case *callExpr:
		return r.evalCall(e, sc)
	case *filterExpr:
		return r.applyFilter(e, nil, sc)
	case *testExpr:
		return r.evalTest(e, sc)
	case *unaryExpr:
		v, err := r.eval(e.x, sc)
		if err != nil {
			return nil, err
		}
		switch e.op {
		case "not":
			return !truthy(v), nil
		case "-":
			switch x := v.(type) {
			case int64:
				if x == math.MinInt64 {
					return nil, errAt(e.pos, "integer overflow")
				}
				return -x, nil
			case float64:
				return -x, nil
			case bool:
				if x {
					return int64(-1), nil
				}
				return int64(0), nil
			}
		case "+":
			if _, ok := number(v); ok {
				return v, nil
			}
		}
		return nil, errAt(e.pos, "bad operand type for unary %s: '%s'", e.op, typeName(v))
	case *binExpr:
		return r.evalBin(e, sc)
	case *compareExpr:
		return r.evalCompare(e, sc)
	case *condExpr:
		c, err := r.eval(e.cond, sc)
		if err != nil {
			return nil, err
		}
		if truthy(c) {
			return r.eval(e.yes, sc)
		}
		if e.no == nil {
			return Undefined{name: "else"}, nil
		}
		return r.eval(e.no, sc)
	}
	return nil, fmt.Errorf("internal: unknown expression %T", e)
}

func (r *renderer) evalSlice(e *sliceExpr, sc *scope) (any, error) {
	obj, err := r.eval(e.obj, sc)
	if err != nil {
		return nil, err
	}
	var idx [3]*int64
	for i, x := range []expr{e.start, e.stop, e.step} {
		if x == nil {
			continue
		}
		v, err := r.eval(x, sc)
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue
		}
		n, ok := asInt(v)
		if !ok {
			return nil, errAt(e.pos, "slice indices must be integers or None, not %s", typeName(v))
		}
		idx[i] = &n
	}
	v, err := slice(obj, idx[0], idx[1], idx[2])
	if err != nil {
		return nil, errAt(e.pos, "%v", err)
	}
	return v, nil
}

func (r *renderer) evalArgs(args []expr, kwargs []kwarg, sc *scope) ([]any, map[string]any, error) {
	av := make([]any, len(args))
	for i, a := range args {
		v, err := r.eval(a, sc)
		if err != nil {
			return nil, nil, err
		}
		av[i] = v
	}
	var kw map[string]any
	if len(kwargs) > 0 {
		kw = map[string]any{}
		for _, k := range kwargs {
			v, err := r.eval(k.val, sc)
			if err != nil {
				return nil, nil, err
			}
			kw[k.name] = v
		}
	}
	return av, kw, nil
}

func (r *renderer) evalCall(e *callExpr, sc *scope) (any, error) {
	fn, err := r.eval(e.fn, sc)
	if err != nil {
		return nil, err
	}
	f, ok := fn.(*Func)
	if !ok {
		if u, isU := fn.(Undefined); isU {
			return nil, errAt(e.pos, "'%s' is undefined", u.name)
		}
		return nil, errAt(e.pos, "'%s' object is not callable", typeName(fn))
	}
	args, kw, err := r.evalArgs(e.args, e.kwargs, sc)
	if err != nil {
		return nil, err
	}
	v, err := f.call(r, args, kw)
	if err != nil {
		var pe *posError
		var ee *ExceptionError
		if errors.As(err, &pe) || errors.As(err, &ee) {
			return nil, err
		}
		return nil, errAt(e.pos, "%s: %v", f.name, err)
	}
	return v, nil
}

func (r *renderer) applyFilter(f *filterExpr, input any, sc *scope) (any, error) {
	v := input
	if f.target != nil {
		var err error
		if inner, ok := f.target.(*filterExpr); ok && input != nil {
			v, err = r.applyFilter(inner, input, sc)
		} else {
			v, err = r.eval(f.target, sc)
		}
		if err != nil {
			return nil, err
		}
	}
	fn, ok := filters[f.name]
	if !ok {
		return nil, errAt(f.pos, "no filter named %q", f.name)
	}
	args, kw, err := r.evalArgs(f.args, f.kwargs, sc)
	if err != nil {
		return nil, err
	}
	out, err := fn(r, v, args, kw)
	if err != nil {
		var ee *ExceptionError
		if errors.As(err, &ee) {
			return nil, err
		}
		return nil, errAt(f.pos, "filter %s: %v", f.name, err)
	}
	return out, nil
}

func (r *renderer) evalTest(e *testExpr, sc *scope) (any, error) {
	v, err := r.eval(e.target, sc)
	if err != nil {
		return nil, err
	}
	fn, ok := tests[e.name]
	if !ok {
		return nil, errAt(e.pos, "no test named %q", e.name)
	}
	args, _, err := r.evalArgs(e.args, nil, sc)
	if err != nil {
		return nil, err
	}
	ok, err = fn(v, args)
	if err != nil {
		return nil, errAt(e.pos, "test %s: %v", e.name, err)
	}
	return ok != e.negate, nil
}

func (r *renderer) evalBin(e *binExpr, sc *scope) (any, error) {
	l, err := r.eval(e.l, sc)
	if err != nil {
		return nil, err
	}
	switch e.op {
	case "and":
		if !truthy(l) {
			return l, nil
		}
		return r.eval(e.r, sc)
	case "or":
		if truthy(l) {
			return l, nil
		}
		return r.eval(e.r, sc)
	}
	rv, err := r.eval(e.r, sc)
	if err != nil {
		return nil, err
	}
	if e.op == "~" {
		ls, rs := str(l), str(rv)
		if len(ls)+len(rs) > maxOutput {
			return nil, errAt(e.pos, "string longer than %d bytes", maxOutput)
		}
		return ls + rs, nil
	}
	v, err := arith(e.op, l, rv)
	if err != nil {
		return nil, errAt(e.pos, "%v", err)
	}
	return v, nil
}

func (r *renderer) evalCompare(e *compareExpr, sc *scope) (any, error) {
	l, err := r.eval(e.first, sc)
	if err != nil {
		return nil, err
	}
	for i, op := range e.ops {
		rv, err := r.eval(e.rest[i], sc)
		if err != nil {
			return nil, err
		}
		ok, err := compare(op, l, rv)
		if err != nil {
			return nil, errAt(e.pos, "%v", err)
		}
		if !ok {
			return false, nil
		}
		l = rv
	}
	return true, nil
}

func compare(op string, a, b any) (bool, error) {
	switch op {
	case "==":
		return equal(a, b), nil
	case "!=":
		return !equal(a, b), nil
	case "<":
		return less(a, b)
	case ">":
		return less(b, a)
	case "<=":
		lt, err := less(a, b)
		return lt || (err == nil && equal(a, b)), err
	case ">=":
		gt, err := less(b, a)
		return gt || (err == nil && equal(a, b)), err
	case "in", "not in":
		in, err := contained(a, b)
		return in == (op == "in"), err
	}
	return false, fmt.Errorf("unknown operator %s", op)
}

func contained(x, c any) (bool, error) {
	switch c := c.(type) {
	case string:
		s, ok := x.(string)
		if !ok {
			return false, fmt.Errorf("'in <string>' requires string as left operand, not %s", typeName(x))
		}
		return strings.Contains(c, s), nil
	case []any, Tuple:
		l, _ := seq(c)
		for _, e := range l {
			if equal(e, x) {
				return true, nil
			}
		}
		return false, nil
	case *Dict:
		s, ok := x.(string)
		if !ok {
			return false, nil
		}
		_, ok = c.m[s]
		return ok, nil
	case Undefined:
		return false, nil
	}
	return false, fmt.Errorf("argument of type '%s' is not iterable", typeName(c))
}

func arith(op string, a, b any) (any, error) {
	if x, ok := asInt(a); ok {
		if y, ok := asInt(b); ok {
			return intArith(op, x, y)
		}
	}
	if x, ok := number(a); ok {
		if y, ok := number(b); ok {
			return floatArith(op, x, y)
		}
	}
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok && op == "+" {
			if len(x)+len(y) > maxOutput {
				return nil, fmt.Errorf("string longer than %d bytes", maxOutput)
			}
			return x + y, nil
		}
		if n, ok := asInt(b); ok && op == "*" {
			return repeatStr(x, n)
		}
		if op == "%" {
			return pyPercent(x, b)
		}
	case []any:
		if y, ok := b.([]any); ok && op == "+" {
			if len(x)+len(y) > maxRange {
				return nil, fmt.Errorf("list longer than %d items", maxRange)
			}
			return append(append([]any{}, x...), y...), nil
		}
	case Tuple:
		if y, ok := b.(Tuple); ok && op == "+" {
			if len(x)+len(y) > maxRange {
				return nil, fmt.Errorf("tuple longer than %d items", maxRange)
			}
			return append(append(Tuple{}, x...), y...), nil
		}
	}
	if l, ok := seq(a); ok && op == "*" {
		if n, ok := asInt(b); ok {
			return repeatSeq(a, l, n)
		}
	}
	if l, ok := seq(b); ok && op == "*" {
		if n, ok := asInt(a); ok {
			return repeatSeq(b, l, n)
		}
	}
	if s, ok := b.(string); ok && op == "*" {
		if n, ok := asInt(a); ok {
			return repeatStr(s, n)
		}
	}
	return nil, fmt.Errorf("unsupported operand type(s) for %s: '%s' and '%s'", op, typeName(a), typeName(b))
}

// repeatSeq is list * n (or tuple * n).
func repeatSeq(orig any, l []any, n int64) (any, error) {
	if n < 0 {
		n = 0
	}
	if int64(len(l))*n > maxRange || n > maxRange {
		return nil, fmt.Errorf("list repetition too large")
	}
	out := make([]any, 0, len(l)*int(n))
	for i := int64(0); i < n; i++ {
		out = append(out, l...)
	}
	if _, ok := orig.(Tuple); ok {
		return Tuple(out), nil
	}
	return out, nil
}

func repeatStr(s string, n int64) (any, error) {
	if n <= 0 {
		return "", nil
	}
	if int64(len(s))*n > maxOutput || n > maxOutput {
		return nil, fmt.Errorf("string repetition too large")
	}
	return strings.Repeat(s, int(n)), nil
}

func intArith(op string, x, y int64) (any, error) {
	overflow := fmt.Errorf("integer overflow in %d %s %d", x, op, y)
	switch op {
	case "+":
		s := x + y
		if (s > x) != (y > 0) {
			return nil, overflow
		}
		return s, nil
	case "-":
		s := x - y
		if (s < x) != (y > 0) {
			return nil, overflow
		}
		return s, nil
	case "*":
		if x != 0 && y != 0 {
			p := x * y
			if p/y != x || (x == -1 && y == math.MinInt64) || (y == -1 && x == math.MinInt64) {
				return nil, overflow
			}
			return p, nil
		}
		return int64(0), nil
	case "/":
		if y == 0 {
			return nil, fmt.Errorf("division by zero")
		}
		return float64(x) / float64(y), nil
	case "//", "%":
		if y == 0 {
			return nil, fmt.Errorf("integer division or modulo by zero")
		}
		if x == math.MinInt64 && y == -1 {
			return nil, overflow
		}
		q, m := x/y, x%y
		if m != 0 && (m < 0) != (y < 0) {
			q--
			m += y
		}
		if op == "//" {
			return q, nil
		}
		return m, nil
	case "**":
		switch {
		case y < 0:
			return math.Pow(float64(x), float64(y)), nil
		case x == 0 || x == 1:
			if y == 0 {
				return int64(1), nil
			}
			return x, nil
		case x == -1:
			if y%2 == 0 {
				return int64(1), nil
			}
			return int64(-1), nil
		}
		p := int64(1)
		for i := int64(0); i < y; i++ {
			if x != 0 && (p*x)/x != p {
				return nil, overflow
			}
			p *= x
		}
		return p, nil
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}

// pyDivmod is CPython's float divmod (Objects/floatobject.c), so // and %
// round exactly as Python does (1e3 // 0.1 is 9999.0) and zero results
// carry the divisor's sign.
func pyDivmod(x, y float64) (float64, float64) {
	mod := math.Mod(x, y)
	div := (x - mod) / y
	if mod != 0 {
		if (y < 0) != (mod < 0) {
			mod += y
			div--
		}
	} else {
		mod = math.Copysign(0, y)
	}
	if div != 0 {
		fl := math.Floor(div)
		if div-fl > 0.5 {
			fl++
		}
		div = fl
	} else {
		div = math.Copysign(0, x/y)
	}
	return div, mod
}

func floatArith(op string, x, y float64) (any, error) {
	switch op {
	case "+":
		return x + y, nil
	case "-":
		return x - y, nil
	case "*":
		return x * y, nil
	case "/":
		if y == 0 {
			return nil, fmt.Errorf("float division by zero")
		}
		return x / y, nil
	case "//", "%":
		if y == 0 {
			return nil, fmt.Errorf("float divmod by zero")
		}
		div, mod := pyDivmod(x, y)
		if op == "//" {
			return div, nil
		}
		return mod, nil
	case "**":
		if x == 0 && y < 0 {
			return nil, fmt.Errorf("0.0 cannot be raised to a negative power")
		}
		if x < 0 && y != math.Trunc(y) {
			return nil, fmt.Errorf("negative number raised to a fractional power (complex result)")
		}
		return math.Pow(x, y), nil
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}
