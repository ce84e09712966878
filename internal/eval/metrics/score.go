package metrics

import (
	"math"
	"strconv"
	"strings"

	"github.com/bayling-go/bayling/internal/pyfmt"
)

// A Score is the result of one metric over a corpus or a sentence.
type Score interface {
	// Name is the metric's display name: "BLEU", "chrF2", "chrF2++", "TER".
	Name() string
	// Value is the score in 0..100 (TER can exceed 100).
	Value() float64
	// Verbose is the detail sacreBLEU prints after the score ("" if none).
	Verbose() string
	// Signature describes how the score was computed.
	Signature() Signature
}

// Signature is sacreBLEU's reproducibility signature: ordered key/value
// pairs, nrefs first and version last.
type Signature struct {
	pairs []sigPair
}

type sigPair struct{ key, short, value string }

func newSignature(nrefs string) Signature {
	return Signature{pairs: []sigPair{{"nrefs", "#", nrefs}}}
}

func (s *Signature) add(key, short, value string) {
	s.pairs = append(s.pairs, sigPair{key, short, value})
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Format renders the signature as "nrefs:1|case:mixed|...|version:2.6.0",
// or with sacreBLEU's abbreviated keys if short is set.
func (s Signature) Format(short bool) string {
	var b strings.Builder
	for _, p := range s.pairs {
		k := p.key
		if short {
			k = p.short
		}
		b.WriteString(k)
		b.WriteByte(':')
		b.WriteString(p.value)
		b.WriteByte('|')
	}
	if short {
		b.WriteString("v:")
	} else {
		b.WriteString("version:")
	}
	b.WriteString(Version)
	return b.String()
}

func (s Signature) String() string { return s.Format(false) }

// nrefsString is the signature value for the reference counts of segs:
// the count if all segments have the same number, "var" otherwise.
func nrefsString(segs []Segment) string {
	if len(segs) == 0 {
		return "0"
	}
	n := len(segs[0].Refs)
	for _, s := range segs[1:] {
		if len(s.Refs) != n {
			return "var"
		}
	}
	return strconv.Itoa(n)
}

// FormatScore renders s like sacreBLEU's Score.format: "NAME|sig = 12.34
// verbose", or "NAME = ..." when sig is empty, or only the number when
// scoreOnly is set. width is the number of decimals.
func FormatScore(s Score, width int, scoreOnly bool, sig string) string {
	sc := strconv.FormatFloat(s.Value(), 'f', width, 64)
	if scoreOnly {
		return sc
	}
	line := s.Name()
	if sig != "" {
		line += "|" + sig
	}
	line += " = " + sc
	if v := s.Verbose(); v != "" {
		line += " " + v
	}
	return line
}

// FormatScoreJSON renders s like sacreBLEU's Score.format(is_json=True):
// json.dumps(..., indent=1, ensure_ascii=False) of name, score rounded to
// width decimals, the long signature, the verbose part if any and every
// signature field.
func FormatScoreJSON(s Score, width int) string {
	rounded, _ := strconv.ParseFloat(strconv.FormatFloat(s.Value(), 'f', width, 64), 64)
	sig := s.Signature()
	var b strings.Builder
	b.WriteString("{\n")
	field := func(k, v string, first bool) {
		if !first {
			b.WriteString(",\n")
		}
		b.WriteString(" ")
		b.WriteString(pyJSONString(k))
		b.WriteString(": ")
		b.WriteString(v)
	}
	field("name", pyJSONString(s.Name()), true)
	field("score", pyFloatRepr(rounded), false)
	field("signature", pyJSONString(sig.Format(false)), false)
	if v := s.Verbose(); v != "" {
		field("verbose_score", pyJSONString(v), false)
	}
	for _, p := range sig.pairs {
		field(p.key, pyJSONString(p.value), false)
	}
	field("version", pyJSONString(Version), false)
	b.WriteString("\n}")
	return b.String()
}

// pyJSONString quotes s as Python's json.dumps(ensure_ascii=False) does.
func pyJSONString(s string) string {
	var b strings.Builder
	pyfmt.JSONString(&b, s, false)
	return b.String()
}

// pyFloatRepr is Python's repr(float) with json.dumps' spelling of the
// non-finite values.
func pyFloatRepr(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case math.IsNaN(f):
		return "NaN"
	}
	return pyfmt.Float(f)
}
