package metrics

import (
	"fmt"
	"math"
)

// Tercom's limits as sacreBLEU's lib_ter.py sets them.
const (
	terMaxShiftSize      = 10
	terMaxShiftDist      = 50
	terBeamWidth         = 25
	terMaxShiftCandidate = 1000
	terInf               = int64(1e16)
)

// Edit operations, named from the hypothesis' point of view as in lib_ter.
const (
	opNop   byte = ' '
	opSub   byte = 's'
	opIns   byte = 'i'
	opDel   byte = 'd'
	opUndef byte = 'x'
)

// editDistance is lib_ter's BeamEditDistance for one reference. sacreBLEU
// caches matrix rows by hypothesis prefix; every hypothesis it sees for a
// reference has the same length (shifts only reorder words) and rows depend
// only on the prefix and that length, so reusing the rows of the current
// base hypothesis up to the first differing word gives the same numbers.
type editDistance struct {
	ref   []int32
	n     int     // hypothesis length
	ratio float64 // len(ref) / n
	beam  int
	cost  []int64 // (n+1) x (len(ref)+1) rows of the base hypothesis
	ops   []byte
	row   [2][]int64 // rolling rows for candidates
	trace []byte
	cand  []int32

	// alignment of the base hypothesis
	align          []int
	refErr, hypErr []int
}

func (e *editDistance) setup(hyp, ref []int32) {
	e.ref = ref
	e.n = len(hyp)
	e.ratio = 1
	if e.n > 0 {
		e.ratio = float64(len(ref)) / float64(e.n)
	}
	e.beam = terBeamWidth
	if float64(terBeamWidth) < e.ratio/2 {
		e.beam = int(math.Ceil(e.ratio/2 + terBeamWidth))
	}
	w := len(ref) + 1
	size := (e.n + 1) * w
	if cap(e.cost) < size {
		e.cost = make([]int64, size)
		e.ops = make([]byte, size)
	}
	e.cost, e.ops = e.cost[:size], e.ops[:size]
	for j := range w {
		e.cost[j], e.ops[j] = int64(j), opIns
	}
	for k := range 2 {
		if cap(e.row[k]) < w {
			e.row[k] = make([]int64, w)
		}
		e.row[k] = e.row[k][:w]
	}
}

// bounds is the beam [lo, hi) of row i.
func (e *editDistance) bounds(i int) (int, int) {
	diag := int(math.Floor(float64(i) * e.ratio))
	lo := max(0, diag-e.beam)
	hi := min(len(e.ref)+1, diag+e.beam)
	if i == e.n {
		hi = len(e.ref) + 1
	}
	return lo, hi
}

// base computes the full matrix with operations for hyp and returns the
// distance.
func (e *editDistance) base(hyp []int32) int64 {
	w := len(e.ref) + 1
	for i := 1; i <= e.n; i++ {
		prev, cur := e.cost[(i-1)*w:i*w], e.cost[i*w:(i+1)*w]
		ops := e.ops[i*w : (i+1)*w]
		for j := range cur {
			cur[j], ops[j] = terInf, opUndef
		}
		lo, hi := e.bounds(i)
		for j := lo; j < hi; j++ {
			if j == 0 {
				cur[0], ops[0] = prev[0]+1, opDel
				continue
			}
			costSub, opS := int64(1), opSub
			if hyp[i-1] == e.ref[j-1] {
				costSub, opS = 0, opNop
			}
			// Tercom prefers no-op/sub, then (flipped) deletion, then insertion.
			if c := prev[j-1] + costSub; cur[j] > c {
				cur[j], ops[j] = c, opS
			}
			if c := prev[j] + 1; cur[j] > c {
				cur[j], ops[j] = c, opDel
			}
			if c := cur[j-1] + 1; cur[j] > c {
				cur[j], ops[j] = c, opIns
			}
		}
	}
	return e.cost[e.n*w+len(e.ref)]
}

// distance is the edit distance of hyp, which agrees with the base
// hypothesis on its first `from` words.
func (e *editDistance) distance(hyp []int32, from int) int64 {
	w := len(e.ref) + 1
	if from >= e.n {
		return e.cost[e.n*w+len(e.ref)]
	}
	prev := e.cost[from*w : (from+1)*w]
	cur := e.row[0]
	for i := from + 1; i <= e.n; i++ {
		for j := range cur {
			cur[j] = terInf
		}
		lo, hi := e.bounds(i)
		for j := lo; j < hi; j++ {
			if j == 0 {
				cur[0] = prev[0] + 1
				continue
			}
			costSub := int64(1)
			if hyp[i-1] == e.ref[j-1] {
				costSub = 0
			}
			c := min(prev[j-1]+costSub, prev[j]+1, cur[j-1]+1)
			if cur[j] > c {
				cur[j] = c
			}
		}
		prev = cur
		if &cur[0] == &e.row[0][0] {
			cur = e.row[1]
		} else {
			cur = e.row[0]
		}
	}
	return prev[len(e.ref)]
}

// alignment walks the base matrix back from the corner and derives, from
// the trace with insertions and deletions flipped, lib_ter's alignment and
// error flags.
func (e *editDistance) alignment() error {
	w := len(e.ref) + 1
	e.trace = e.trace[:0]
	i, j := e.n, len(e.ref)
	for i > 0 || j > 0 {
		op := e.ops[i*w+j]
		e.trace = append(e.trace, op)
		switch op {
		case opSub, opNop:
			i--
			j--
		case opIns:
			j--
		case opDel:
			i--
		default:
			return fmt.Errorf("edit distance trace reached an unexplored cell (%d, %d)", i, j)
		}
	}
	e.align = e.align[:0]
	e.refErr, e.hypErr = e.refErr[:0], e.hypErr[:0]
	posHyp := -1
	for k := len(e.trace) - 1; k >= 0; k-- {
		switch e.trace[k] {
		case opNop, opSub:
			posHyp++
			e.align = append(e.align, posHyp)
			err := 0
			if e.trace[k] == opSub {
				err = 1
			}
			e.hypErr = append(e.hypErr, err)
			e.refErr = append(e.refErr, err)
		case opDel: // flipped: an insertion into the hypothesis
			posHyp++
			e.hypErr = append(e.hypErr, 1)
		case opIns: // flipped: a deletion
			e.align = append(e.align, posHyp)
			e.refErr = append(e.refErr, 1)
		}
	}
	return nil
}

// performShift writes into dst the words with words[start:start+length]
// moved to target, with lib_ter's slicing rules. ok is false when those
// rules do not preserve the length (lib_ter asserts there).
func performShift(dst, words []int32, start, length, target int) ([]int32, bool) {
	n := len(words)
	sl := func(a, b int) []int32 { // Python slice words[a:b] with clipping
		a, b = min(max(a, 0), n), min(max(b, 0), n)
		if a > b {
			return nil
		}
		return words[a:b]
	}
	dst = dst[:0]
	switch {
	case target < start:
		dst = append(dst, sl(0, target)...)
		dst = append(dst, sl(start, start+length)...)
		dst = append(dst, sl(target, start)...)
		dst = append(dst, sl(start+length, n)...)
	case target > start+length:
		dst = append(dst, sl(0, start)...)
		dst = append(dst, sl(start+length, target)...)
		dst = append(dst, sl(start, start+length)...)
		dst = append(dst, sl(target, n)...)
	default:
		dst = append(dst, sl(0, start)...)
		dst = append(dst, sl(start+length, length+target)...)
		dst = append(dst, sl(start, start+length)...)
		dst = append(dst, sl(length+target, n)...)
	}
	return dst, len(dst) == n
}

func commonPrefix(a, b []int32) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// shift is lib_ter's _shift: the best block move of hyp, by the largest
// distance reduction, then longest block, earliest start, earliest target.
// It returns the reduction, the shifted words (in best, or hyp itself when
// nothing was tried) and the updated candidate count.
func (e *editDistance) shift(hyp []int32, best []int32, checked int) (int64, []int32, int, error) {
	pre := e.base(hyp)
	if err := e.alignment(); err != nil {
		return 0, nil, 0, err
	}
	found := false
	var bScore int64
	var bLen, bStart, bIdx int
	nh, nr := len(hyp), len(e.ref)
pairs:
	for startH := 0; startH < nh; startH++ {
		for startR := 0; startR < nr; startR++ {
			if abs(startR-startH) > terMaxShiftDist {
				continue
			}
			for length := 1; length <= terMaxShiftSize; length++ {
				if hyp[startH+length-1] != e.ref[startR+length-1] {
					break
				}
				if err := e.tryShift(hyp, startH, startR, length, pre, &found, &bScore, &bLen, &bStart, &bIdx, &best, &checked); err != nil {
					return 0, nil, 0, err
				}
				if checked >= terMaxShiftCandidate {
					break pairs
				}
				if nh == startH+length || nr == startR+length {
					break
				}
			}
		}
	}
	if !found {
		return 0, hyp, checked, nil
	}
	return bScore, best, checked, nil
}

// tryShift evaluates the targets of one matching block (lib_ter's inner
// loop over offsets) and keeps the best candidate.
func (e *editDistance) tryShift(hyp []int32, startH, startR, length int, pre int64,
	found *bool, bScore *int64, bLen, bStart, bIdx *int, best *[]int32, checked *int) error {
	if !anyErr(e.hypErr, startH, startH+length) || !anyErr(e.refErr, startR, startR+length) {
		return nil
	}
	if a := e.align[startR]; startH <= a && a < startH+length {
		return nil // don't shift within the block
	}
	prevIdx := -1
	for offset := -1; offset < length; offset++ {
		var idx int
		switch k := startR + offset; {
		case k == -1:
			idx = 0
		case k < len(e.align):
			idx = e.align[k] + 1
		default:
			return nil // past the end of the reference
		}
		if idx == prevIdx {
			continue
		}
		prevIdx = idx
		cand, ok := performShift(e.cand, hyp, startH, length, idx)
		e.cand = cand
		if !ok {
			return fmt.Errorf("shifting %d words from %d to %d changes the sentence length", length, startH, idx)
		}
		score := pre - e.distance(cand, commonPrefix(cand, hyp))
		*checked++
		better := !*found || score > *bScore ||
			(score == *bScore && (length > *bLen ||
				(length == *bLen && (startH < *bStart ||
					(startH == *bStart && idx < *bIdx)))))
		if better {
			*found = true
			*bScore, *bLen, *bStart, *bIdx = score, length, startH, idx
			*best = append((*best)[:0], cand...)
		}
	}
	return nil
}

func anyErr(flags []int, a, b int) bool {
	b = min(b, len(flags))
	for k := a; k < b; k++ {
		if flags[k] != 0 {
			return true
		}
	}
	return false
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// translationEditRate is lib_ter's translation_edit_rate: shifts until
// none helps (or the candidate budget is spent), plus the remaining edit
// distance. The reference length is len(ref).
func (e *editDistance) translationEditRate(hyp, ref []int32) (int, error) {
	if len(ref) == 0 {
		return len(hyp), nil
	}
	e.setup(hyp, ref)
	shifts := 0
	cur := append([]int32(nil), hyp...)
	next := make([]int32, 0, len(hyp))
	checked := 0
	for {
		delta, shifted, c, err := e.shift(cur, next, checked)
		if err != nil {
			return 0, err
		}
		checked = c
		if checked >= terMaxShiftCandidate || delta <= 0 {
			break
		}
		shifts++
		cur, next = shifted, cur
	}
	d := e.base(cur)
	return shifts + int(d), nil
}
