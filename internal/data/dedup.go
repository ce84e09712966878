package data

import (
	"strings"
	"unicode"
)

// Dedup drops exact duplicates (same normalised conversation) and near
// duplicates (MinHash-LSH over character 5-gram shingles of the record's
// payload, within one task and direction). It keeps only 64-bit keys: about 8 bytes per record for exact
// matches and 8 bands x 8 bytes for LSH, so millions of records fit in a
// few hundred MB.
type Dedup struct {
	Near  bool
	exact set64
	bands [lshBands]set64
	seeds [lshBands * lshRows][2]uint64
}

// 8 bands of 8 rows: pairs with Jaccard similarity 0.8 collide in some band
// with probability 0.94, pairs at 0.5 with 0.03, at 0.3 with 0.0005.
const (
	lshBands = 8
	lshRows  = 8
	shingle  = 5
)

// NewDedup makes a deduplicator; near enables MinHash-LSH.
func NewDedup(near bool) *Dedup {
	d := &Dedup{Near: near, exact: newSet64()}
	for i := range d.bands {
		d.bands[i] = newSet64()
	}
	for i := range d.seeds {
		d.seeds[i] = [2]uint64{mix64(uint64(2*i+1)) | 1, mix64(uint64(2*i + 2))}
	}
	return d
}

// dedupKeys are a record's exact key and LSH band keys; computing them is
// the costly part, done in parallel before the ordered Check.
type dedupKeys struct {
	exact uint64
	bands [lshBands]uint64
	near  bool // false when the text is too short to shingle
}

// Keys computes r's keys. It is safe for concurrent use.
func (d *Dedup) Keys(r *Record) dedupKeys {
	k := dedupKeys{exact: exactKey(r)}
	if !d.Near {
		return k
	}
	var sig [lshBands * lshRows]uint64
	if !d.signature(nearText(r), &sig) {
		return k
	}
	// Bands are keyed by task and direction: X->eng and eng->X share their
	// text but are different examples.
	scope := hashString(string(r.Task), r.SrcLang, r.TgtLang, r.Lang)
	for b := range lshBands {
		h := scope ^ uint64(b+1)*0x9e3779b97f4a7c15
		for _, v := range sig[b*lshRows : (b+1)*lshRows] {
			h = mix64(h ^ v)
		}
		k.bands[b] = h
	}
	k.near = true
	return k
}

// Check returns a drop reason for r, or "" and remembers r.
func (d *Dedup) Check(r *Record) string { return d.CheckKeys(d.Keys(r)) }

// CheckKeys is Check with precomputed keys. Calls must come in a fixed
// order for a deterministic result; the first of a group of duplicates wins.
func (d *Dedup) CheckKeys(k dedupKeys) string {
	if !d.exact.add(k.exact) {
		return DropExactDup
	}
	if !k.near {
		return ""
	}
	for b, h := range k.bands {
		if d.bands[b].has(h) {
			return DropNearDup
		}
	}
	for b, h := range k.bands {
		d.bands[b].add(h)
	}
	return ""
}

func exactKey(r *Record) uint64 {
	var b strings.Builder
	for _, m := range r.Messages {
		b.WriteString(m.Role)
		b.WriteByte(0)
		b.WriteString(normalise(m.Content))
		b.WriteByte(0)
	}
	return hashString(b.String())
}

// nearText is what near-duplicate detection compares: the source payload
// and the answers, so two records that differ only in template wording
// count as duplicates while different sentences in one template do not.
func nearText(r *Record) string {
	var b strings.Builder
	b.WriteString(normalise(r.payloadSrc))
	for _, m := range r.Messages {
		if m.Role == "assistant" || (r.payloadSrc == "" && m.Role == "user") {
			b.WriteByte(' ')
			b.WriteString(normalise(m.Content))
		}
	}
	return b.String()
}

// normalise lower-cases and collapses white space.
func normalise(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), unicode.IsSpace), " ")
}

// signature fills sig with the MinHash of text's shingles; false when the
// text has fewer runes than one shingle. Each shingle is hashed once and
// permuted by odd-multiplier affine maps, which are bijections on uint64.
func (d *Dedup) signature(text string, sig *[lshBands * lshRows]uint64) bool {
	var ring [shingle]rune
	n := 0
	for i := range sig {
		sig[i] = ^uint64(0)
	}
	for _, r := range text {
		ring[n%shingle] = r
		n++
		if n < shingle {
			continue
		}
		h := uint64(14695981039346656037)
		for j := range shingle {
			h = (h ^ uint64(ring[(n+j)%shingle])) * 1099511628211
		}
		h = mix64(h)
		for j, s := range d.seeds {
			if v := h*s[0] + s[1]; v < sig[j] {
				sig[j] = v
			}
		}
	}
	return n >= shingle
}

// set64 is an open-addressing hash set of non-zero 64-bit keys: a quarter
// of a Go map's memory per key.
type set64 struct {
	slots []uint64
	n     int
}

func newSet64() set64 { return set64{slots: make([]uint64, 1024)} }

func (s *set64) has(k uint64) bool {
	if k == 0 {
		k = 1
	}
	mask := uint64(len(s.slots) - 1)
	for i := k & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case 0:
			return false
		case k:
			return true
		}
	}
}

// add inserts k and reports whether it was new.
func (s *set64) add(k uint64) bool {
	if k == 0 {
		k = 1
	}
	if 4*(s.n+1) > 3*len(s.slots) {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := k & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case 0:
			s.slots[i] = k
			s.n++
			return true
		case k:
			return false
		}
	}
}

func (s *set64) grow() {
	old := s.slots
	s.slots = make([]uint64, 2*len(old))
	s.n = 0
	for _, k := range old {
		if k != 0 {
			s.add(k)
		}
	}
}
