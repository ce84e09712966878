package data

import (
	"encoding/json"
	"fmt"
	"iter"

	"github.com/bayling-go/bayling/internal/lid"
)

// This file exports the per-record transforms for the Beam pipeline (module
// beam/), so a distributed build runs the same code as Build. Each wrapper
// is thin: the behaviour lives in the files Build uses.

// Unit is one piece of input: an aligned sentence, an instruction or a
// parallel instruction (exactly one is set).
type Unit struct {
	Par  *Parallel
	Ins  *Instruction
	PIns *ParallelInstruction
}

// NewGenConfig is the generator configuration Build derives from r.
func NewGenConfig(r *Recipe) *GenConfig {
	return &GenConfig{Seed: r.Seed, Hubs: r.Hubs, Pairs: r.Pairs, TemplateMix: r.TemplateMix, MultiTurnRate: r.MultiTurn, Name: DefaultNamer}
}

// Process generates the records of one unit and applies the recipe's
// filters, as Build does: kept records, then the drop reason of each
// filtered one. id may be nil (no LID filter).
func Process(r *Recipe, gen *GenConfig, u Unit, id lid.Predictor) (keep []Record, drops []string) {
	return process(r, gen, unit{par: u.Par, ins: u.Ins, pins: u.PIns}, id, nil, nil)
}

// Check returns the reason to drop rec, or "" to keep it.
func (f *FilterConfig) Check(rec *Record, id lid.Predictor) string { return f.check(rec, id) }

// ReadUnits reads input i of r as Build does, with its limit applied;
// malformed lines go to bad.
func ReadUnits(r *Recipe, i int, bad Reporter) (iter.Seq2[Unit, error], error) {
	if i < 0 || i >= len(r.Inputs) {
		return nil, fmt.Errorf("recipe: no input %d", i)
	}
	in := r.Inputs[i]
	units, err := openInput(r, i, in, bad)
	if err != nil {
		return nil, err
	}
	if in.Limit > 0 {
		units = limit(units, in.Limit)
	}
	return func(yield func(Unit, error) bool) {
		for u, err := range units {
			if !yield(Unit{Par: u.par, Ins: u.ins, PIns: u.pins}, err) || err != nil {
				return
			}
		}
	}, nil
}

// MultiwayFiles lists a multiway input's files: the extension (detected
// when in.Ext is empty) and the language codes read, sorted.
func MultiwayFiles(r *Recipe, in Input) (ext string, codes []string, err error) {
	ext = in.Ext
	if ext == "" {
		ext = detectExt(in.Path)
	}
	_, codes, err = ReadMultiway(in.Path, ext, r.Languages)
	return ext, codes, err
}

// ReadLines calls yield with each line of a plain, gzip or zstd file and
// its 1-based number (newline and trailing CR removed, as the multiway
// reader sees it) until yield returns false; it returns open and read errors.
func ReadLines(path string, yield func(n int, line string) bool) error {
	lr, err := openLines(path)
	if err != nil {
		return err
	}
	defer lr.Close()
	for {
		line, ok := lr.next()
		if !ok {
			return lr.err()
		}
		if !yield(lr.num, line) {
			return nil
		}
	}
}

// UnitOrigin is the origin Build gives the n-th unit (1-based) of input i,
// which record ids and template choices derive from; for a multiway input
// the n-th unit is line n. It must match openInput's.
func UnitOrigin(i, n int) string { return fmt.Sprintf("input%d:%d", i, n) }

// NearDedup reports whether the recipe asks for near-duplicate removal.
func (r *Recipe) NearDedup() bool { return r.near() }

// ShardSizeOrDefault is the recipe's records per shard.
func (r *Recipe) ShardSizeOrDefault() int { return r.shardSize() }

// OutputFormats are the recipe's output formats.
func (r *Recipe) OutputFormats() []string { return r.formats() }

// DedupKeysOf returns r's exact key and, when near-dup detection applies to
// it (d.Near and the text is long enough to shingle), its LSH band keys.
// Records sharing the exact key are exact duplicates; records sharing any
// band key (at the same index) are near duplicates.
func (d *Dedup) DedupKeysOf(r *Record) (exact uint64, bands []uint64) {
	k := d.Keys(r)
	if k.near {
		bands = k.bands[:]
	}
	return k.exact, bands
}

// EncodeRecord renders r in an output format ("messages" or "sharegpt")
// exactly as Build's shards hold it.
func EncodeRecord(r *Record, format string) ([]byte, error) { return encodeRecord(r, format) }

// RecordSelectKey is the seeded key Build orders records by for caps and
// mixing; the Beam pipeline also uses it to pick duplicate winners.
func RecordSelectKey(seed uint64, id string) uint64 { return selectKey(seed, id) }

// MarshalRecord encodes r with its source payload, which near-dup keys and
// filters need, so a record survives a shuffle intact.
func MarshalRecord(r *Record) ([]byte, error) { return json.Marshal(spillRecord{r, r.payloadSrc}) }

// UnmarshalRecord decodes MarshalRecord's output.
func UnmarshalRecord(b []byte) (Record, error) {
	var s struct {
		Record
		Src string `json:"payload_src"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return Record{}, fmt.Errorf("record: %w", err)
	}
	s.Record.payloadSrc = s.Src
	return s.Record, nil
}

// Drop moves one record of In to Dropped under reason.
func (c *Counts) Drop(reason string) { c.drop(reason) }

// Add sums o into c.
func (c *Counts) Add(o Counts) { c.add(o) }
