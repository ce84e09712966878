package jinja

// Statements.
type node interface{}

type textNode struct{ text string }

type outputNode struct{ expr expr }

type ifNode struct {
	conds  []expr
	bodies [][]node // len(bodies) == len(conds), or one more for else
}

type forNode struct {
	pos       int
	targets   []string
	iter      expr
	filter    expr // optional "if" clause
	body      []node
	elseBody  []node
	recursive bool
}

type setNode struct {
	pos     int
	targets []string // names; one with attr for namespace assignment
	attr    string   // "ns.attr = ..." when non-empty (targets has one name)
	value   expr     // nil for a block set
	body    []node   // block set
	filter  *filterExpr
}

type macroNode struct {
	name     string
	params   []string
	defaults []expr // aligned with params; nil where none
	body     []node
}

type callBlockNode struct {
	pos  int
	call *callExpr
	body []node
}

type filterBlockNode struct {
	filter *filterExpr // target is nil; applied to the body's output
	body   []node
}

type loopCtl struct {
	pos   int
	brk   bool
	label string
}

// Expressions.
type expr interface{}

type constExpr struct{ v any }

type nameExpr struct {
	pos  int
	name string
}

type listExpr struct {
	items []expr
	tuple bool
}

type dictExpr struct{ keys, vals []expr }

type attrExpr struct {
	pos  int
	obj  expr
	name string
}

type itemExpr struct {
	pos      int
	obj, key expr
}

type sliceExpr struct {
	pos               int
	obj               expr
	start, stop, step expr // each may be nil
}

type callExpr struct {
	pos    int
	fn     expr
	args   []expr
	kwargs []kwarg
}

type kwarg struct {
	name string
	val  expr
}

type filterExpr struct {
	pos    int
	target expr
	name   string
	args   []expr
	kwargs []kwarg
}

type testExpr struct {
	pos    int
	target expr
	name   string
	args   []expr
	negate bool
}

type unaryExpr struct {
	pos int
	op  string // "not", "-", "+"
	x   expr
}

type binExpr struct {
	pos  int
	op   string
	l, r expr
}

// compareExpr is a chain a < b < c.
type compareExpr struct {
	pos   int
	first expr
	ops   []string
	rest  []expr
}

type condExpr struct {
	pos           int
	cond, yes, no expr // no may be nil
}
