// Package beam runs bayling's data build as an Apache Beam pipeline, so a
// corpus too large for one machine builds on Flink, Spark or Dataflow. The
// per-record transforms (readers, generators, filters, dedup keys, output
// encoding) are internal/data's, the same code the local builder runs; only
// the orchestration differs. It is its own Go module so the bayling binary
// does not carry the Beam SDK.
package beam

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"

	"github.com/bayling-go/bayling/internal/data"
	"github.com/bayling-go/bayling/internal/lid"
)

// CountsName is the file, in the output folder, holding the build's counts
// (data.Counts: in = out + the sum of dropped).
const CountsName = "counts.json"

// outMarker is counted once per written record, beside the drop reasons.
const outMarker = "<out>"

// Build adds the data build of recipe r, writing to out (a local path or a
// URL of a registered Beam filesystem such as gs://), to the pipeline at s.
//
// Inputs are read where they are: each worker must see the recipe's input
// paths (the direct runner, or a shared mount on a cluster). Mixing ratios
// and per-language caps need a global choice over all records; the Beam
// path does not make it, so the recipe must say no_mix: true and set no
// lang_cap.
func Build(s beam.Scope, r *data.Recipe, out string) error {
	if !r.NoMix || r.LangCap > 0 {
		return fmt.Errorf("beam: the Beam build writes unmixed output: set no_mix: true and no lang_cap in the recipe (mix and cap with the local builder)")
	}
	for i, in := range r.Inputs {
		for _, p := range []string{in.Path, in.TgtPath} {
			// Workers read inputs as local files; a URL (gs://b/x) is refused.
			if urlLike.MatchString(p) {
				return fmt.Errorf("beam: inputs[%d]: %s: inputs must be file paths every worker can read, not URLs", i, p)
			}
		}
	}
	if strings.TrimSpace(out) == "" {
		return fmt.Errorf("beam: no output folder")
	}
	fs, err := filesystem.New(context.Background(), out)
	if err != nil {
		return fmt.Errorf("beam: output %s: %w", out, err)
	}
	fs.Close()
	rj, err := json.Marshal(r)
	if err != nil {
		return err
	}
	s = s.Scope("bayling.data")

	// Generate and filter: multiway folders fan out one element per
	// language file and meet again by line; other inputs are one element
	// per input, read by the local builder's readers.
	var mw []Multiway
	var lang, other []string
	for i, in := range r.Inputs {
		if in.Kind != "multiway" {
			other = append(other, strconv.Itoa(i))
			continue
		}
		ext, codes, err := data.MultiwayFiles(r, in)
		if err != nil {
			return fmt.Errorf("beam: inputs[%d]: %w", i, err)
		}
		mw = append(mw, Multiway{Input: i, Dir: in.Path, Ext: ext, Langs: len(codes), Limit: in.Limit})
		for _, c := range codes {
			lang = append(lang, strconv.Itoa(i)+"\t"+c)
		}
	}
	var recs, drops []beam.PCollection
	if len(lang) > 0 {
		files := beam.Reshuffle(s, beam.CreateList(s, lang))
		lines := beam.ParDo(s, &readLangFn{Inputs: mw}, files)
		rec, drop := beam.ParDo2(s, &parallelFn{Recipe: rj, Inputs: mw}, beam.GroupByKey(s, lines))
		recs, drops = append(recs, rec), append(drops, drop)
	}
	if len(other) > 0 {
		rec, drop := beam.ParDo2(s, &readInputFn{Recipe: rj}, beam.Reshuffle(s, beam.CreateList(s, other)))
		recs, drops = append(recs, rec), append(drops, drop)
	}
	all := beam.Flatten(s, recs...)

	// Exact duplicates: one record per exact key.
	byExact := beam.ParDo(s, &exactKeyFn{Near: r.NearDedup()}, all)
	kept, dupExact := beam.ParDo2(s, &exactPickFn{Seed: r.Seed}, beam.GroupByKey(s, byExact))
	drops = append(drops, dupExact)

	// Near duplicates: in each LSH bucket every record but the smallest-key
	// one loses, and a record that loses anywhere is dropped.
	if r.NearDedup() {
		bands, byID := beam.ParDo2(s, &bandKeysFn{Near: true}, kept)
		losers := beam.ParDo(s, &bandLosersFn{Seed: r.Seed}, beam.GroupByKey(s, bands))
		var dupNear beam.PCollection
		kept, dupNear = beam.ParDo2(s, &nearJoinFn{}, beam.CoGroupByKey(s, byID, losers))
		drops = append(drops, dupNear)
	}

	// Shards: records spread over ceil(total/shard_size) shards by select
	// key, each sorted by it.
	total := stats.CountElms(s, kept)
	sharded := beam.ParDo(s, &shardFn{Seed: r.Seed, Size: r.ShardSizeOrDefault()}, kept, beam.SideInput{Input: total})
	beam.ParDo0(s, &writeShardFn{Out: out, Formats: r.OutputFormats(), Seed: r.Seed}, beam.GroupByKey(s, sharded))

	// Counts: every drop reason and one marker per written record.
	marks := beam.ParDo(s, outMarkFn, kept)
	counted := stats.Count(s, beam.Flatten(s, append(drops, marks)...))
	lines := beam.Flatten(s, beam.ParDo(s, countLineFn, counted), beam.Create(s, ""))
	textio.Write(s, joinPath(out, CountsName), beam.ParDo(s, countsJSONFn, beam.GroupByKey(s, beam.AddFixedKey(s, lines))))
	return nil
}

var urlLike = regexp.MustCompile(`(^|/)[A-Za-z][A-Za-z0-9+.-]*:/`)

func joinPath(dir, name string) string { return strings.TrimSuffix(dir, "/") + "/" + name }

// Multiway is what the workers need to know of one multiway input.
type Multiway struct {
	Input int
	Dir   string
	Ext   string
	Langs int // files in the folder that the recipe reads
	Limit int
}

func find(mw []Multiway, input int) (Multiway, error) {
	for _, m := range mw {
		if m.Input == input {
			return m, nil
		}
	}
	return Multiway{}, fmt.Errorf("beam: input %d is not a multiway input", input)
}

// generator is the recipe's generator and filters on a worker: DoFns carry
// the recipe as JSON (they travel to workers as JSON) and load the generator
// and the LID model once per DoFn instance.
type generator struct {
	r   *data.Recipe
	gen *data.GenConfig
	lid lid.Predictor
}

func newGenerator(recipe []byte) (*generator, error) {
	f := &generator{r: new(data.Recipe)}
	if err := json.Unmarshal(recipe, f.r); err != nil {
		return nil, fmt.Errorf("beam: recipe: %w", err)
	}
	f.gen = data.NewGenConfig(f.r)
	if f.r.LID.Model != "" {
		m, err := lid.Load(f.r.LID.Model)
		if err != nil {
			return nil, err
		}
		f.lid = m
	}
	return f, nil
}

func (f *generator) process(u data.Unit, emit func([]byte), drop func(string)) error {
	keep, drops := data.Process(f.r, f.gen, u, f.lid)
	for _, reason := range drops {
		drop(reason)
	}
	for i := range keep {
		b, err := data.MarshalRecord(&keep[i])
		if err != nil {
			return err
		}
		emit(b)
	}
	return nil
}

// readLangFn reads one language file of a multiway folder: "input\tcode"
// -> ("input:line", "code\x00text").
type readLangFn struct {
	Inputs []Multiway
}

func (f *readLangFn) ProcessElement(task string, emit func(string, string)) error {
	is, code, _ := strings.Cut(task, "\t")
	i, err := strconv.Atoi(is)
	if err != nil {
		return fmt.Errorf("beam: bad task %q", task)
	}
	m, err := find(f.Inputs, i)
	if err != nil {
		return err
	}
	return data.ReadLines(joinPath(m.Dir, code+"."+m.Ext), func(n int, line string) bool {
		if m.Limit > 0 && n > m.Limit {
			return false
		}
		emit(is+":"+strconv.Itoa(n), code+"\x00"+line)
		return true
	})
}

// parallelFn assembles one aligned line of a multiway folder and generates
// and filters its records.
type parallelFn struct {
	Recipe []byte
	Inputs []Multiway
	g      *generator
}

func (f *parallelFn) Setup() (err error) {
	f.g, err = newGenerator(f.Recipe)
	return err
}

func (f *parallelFn) ProcessElement(key string, texts func(*string) bool, emit func([]byte), drop func(string)) error {
	is, ns, _ := strings.Cut(key, ":")
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("beam: bad line key %q", key)
	}
	m, err := find(f.Inputs, i)
	if err != nil {
		return err
	}
	p := data.Parallel{Text: make(map[string]string, m.Langs), Origin: data.UnitOrigin(m.Input, n)}
	var v string
	for texts(&v) {
		code, text, _ := strings.Cut(v, "\x00")
		p.Text[code] = text
	}
	if len(p.Text) != m.Langs {
		return fmt.Errorf("%s: files are not line-aligned: line %d is in %d of %d files", m.Dir, n, len(p.Text), m.Langs)
	}
	return f.g.process(data.Unit{Par: &p}, emit, drop)
}

// readInputFn reads a whole non-multiway input (one element: its index)
// with the local builder's reader.
type readInputFn struct {
	Recipe []byte
	g      *generator
}

func (f *readInputFn) Setup() (err error) {
	f.g, err = newGenerator(f.Recipe)
	return err
}

func (f *readInputFn) ProcessElement(ctx context.Context, is string, emit func([]byte), drop func(string)) error {
	i, err := strconv.Atoi(is)
	if err != nil {
		return fmt.Errorf("beam: bad input index %q", is)
	}
	units, err := data.ReadUnits(f.g.r, i, func(where string, err error) {
		log.Warnf(ctx, "skipping malformed input at %s: %v", where, err)
		drop(data.DropMalformed)
	})
	if err != nil {
		return err
	}
	for u, err := range units {
		if err != nil {
			return err
		}
		if err := f.g.process(u, emit, drop); err != nil {
			return err
		}
	}
	return nil
}

// exactKeyFn keys a record by its exact-duplicate key.
type exactKeyFn struct {
	Near bool
	dd   *data.Dedup
}

func (f *exactKeyFn) Setup() { f.dd = data.NewDedup(f.Near) }

func (f *exactKeyFn) ProcessElement(b []byte) (string, []byte, error) {
	rec, err := data.UnmarshalRecord(b)
	if err != nil {
		return "", nil, err
	}
	exact, _ := f.dd.DedupKeysOf(&rec)
	return strconv.FormatUint(exact, 16), b, nil
}

// exactPickFn keeps the record with the smallest select key of each exact
// key (ties, which only identical ids make, by bytes) and drops the rest.
type exactPickFn struct {
	Seed uint64
}

func (f *exactPickFn) ProcessElement(_ string, recs func(*[]byte) bool, emit func([]byte), drop func(string)) error {
	var best []byte
	var bestKey uint64
	var b []byte
	n := 0
	for recs(&b) {
		n++
		id, err := recordID(b)
		if err != nil {
			return err
		}
		k := data.RecordSelectKey(f.Seed, id)
		if best == nil || k < bestKey || (k == bestKey && bytes.Compare(b, best) < 0) {
			best, bestKey = slices.Clone(b), k
		}
	}
	for range n - 1 {
		drop(data.DropExactDup)
	}
	emit(best)
	return nil
}

func recordID(b []byte) (string, error) {
	var v struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return "", fmt.Errorf("beam: record: %w", err)
	}
	return v.ID, nil
}

// bandKeysFn emits (band, id) for each LSH band of a record and the record
// keyed by id.
type bandKeysFn struct {
	Near bool
	dd   *data.Dedup
}

func (f *bandKeysFn) Setup() { f.dd = data.NewDedup(f.Near) }

func (f *bandKeysFn) ProcessElement(b []byte, band func(string, string), byID func(string, []byte)) error {
	rec, err := data.UnmarshalRecord(b)
	if err != nil {
		return err
	}
	_, bands := f.dd.DedupKeysOf(&rec)
	for i, h := range bands {
		band(strconv.Itoa(i)+":"+strconv.FormatUint(h, 16), rec.ID)
	}
	byID(rec.ID, b)
	return nil
}

// bandLosersFn names every record of an LSH bucket but the one with the
// smallest select key.
type bandLosersFn struct {
	Seed uint64
}

func (f *bandLosersFn) ProcessElement(_ string, ids func(*string) bool, lose func(string, string)) {
	var all []string
	var id string
	for ids(&id) {
		all = append(all, id)
	}
	if len(all) < 2 {
		return
	}
	key := func(id string) uint64 { return data.RecordSelectKey(f.Seed, id) }
	win := slices.MinFunc(all, func(a, b string) int {
		if c := cmpUint(key(a), key(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	for _, id := range all {
		if id != win {
			lose(id, "")
		}
	}
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// nearJoinFn drops the records some bucket named as losers.
type nearJoinFn struct{}

func (nearJoinFn) ProcessElement(_ string, recs func(*[]byte) bool, losses func(*string) bool, emit func([]byte), drop func(string)) {
	var s string
	lost := losses(&s)
	for losses(&s) {
	}
	var b []byte
	for recs(&b) {
		if lost {
			drop(data.DropNearDup)
		} else {
			emit(slices.Clone(b))
		}
	}
}

// shardFn assigns a record to one of ceil(total/size) shards by its select
// key, so shard contents do not depend on worker scheduling.
type shardFn struct {
	Seed uint64
	Size int
}

func (f *shardFn) ProcessElement(b []byte, total int, emit func(int, []byte)) error {
	id, err := recordID(b)
	if err != nil {
		return err
	}
	n := max(1, (total+f.Size-1)/f.Size)
	emit(int(data.RecordSelectKey(f.Seed, id)%uint64(n)), b)
	return nil
}

// writeShardFn writes one shard in every output format, records ordered by
// select key, each file through a temporary name and a rename.
type writeShardFn struct {
	Out     string
	Formats []string
	Seed    uint64
}

func (f *writeShardFn) ProcessElement(ctx context.Context, shard int, recs func(*[]byte) bool) error {
	type keyed struct {
		key uint64
		rec data.Record
	}
	var all []keyed
	var b []byte
	for recs(&b) {
		rec, err := data.UnmarshalRecord(b)
		if err != nil {
			return err
		}
		all = append(all, keyed{data.RecordSelectKey(f.Seed, rec.ID), rec})
	}
	slices.SortFunc(all, func(a, b keyed) int {
		if c := cmpUint(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.rec.ID, b.rec.ID)
	})
	for _, format := range f.Formats {
		var buf bytes.Buffer
		for i := range all {
			line, err := data.EncodeRecord(&all[i].rec, format)
			if err != nil {
				return err
			}
			buf.Write(line)
			buf.WriteByte('\n')
		}
		path := joinPath(joinPath(f.Out, format), fmt.Sprintf("shard-%05d.jsonl", shard))
		if err := writeFile(ctx, path, buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// writeFile writes path through a temporary name and a rename, so a retried
// or killed bundle never leaves a half-written shard under the final name.
func writeFile(ctx context.Context, path string, b []byte) error {
	fs, err := filesystem.New(ctx, path)
	if err != nil {
		return err
	}
	defer fs.Close()
	tmp := path + ".tmp"
	w, err := fs.OpenWrite(ctx, tmp)
	if err != nil {
		return fmt.Errorf("beam: %s: %w", tmp, err)
	}
	if _, err := io.Copy(w, bytes.NewReader(b)); err != nil {
		w.Close()
		return fmt.Errorf("beam: %s: %w", tmp, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("beam: %s: %w", tmp, err)
	}
	if err := filesystem.Rename(ctx, fs, tmp, path); err != nil {
		return fmt.Errorf("beam: %s: %w", path, err)
	}
	return nil
}

func outMarkFn(_ []byte) string { return outMarker }

func countLineFn(reason string, n int) string { return reason + "\t" + strconv.Itoa(n) }

// countsJSONFn folds "reason\tn" lines into data.Counts as JSON.
func countsJSONFn(_ int, lines func(*string) bool) (string, error) {
	c := data.Counts{Dropped: map[string]int64{}}
	var line string
	for lines(&line) {
		if line == "" {
			continue
		}
		reason, ns, _ := strings.Cut(line, "\t")
		n, err := strconv.ParseInt(ns, 10, 64)
		if err != nil {
			return "", fmt.Errorf("beam: count line %q", line)
		}
		c.In += n
		if reason == outMarker {
			c.Out += n
		} else {
			c.Dropped[reason] += n
		}
	}
	b, err := json.MarshalIndent(c, "", "  ")
	return string(b), err
}

func init() {
	register.DoFn2x1[string, func(string, string), error](&readLangFn{})
	register.DoFn4x1[string, func(*string) bool, func([]byte), func(string), error](&parallelFn{})
	register.DoFn4x1[context.Context, string, func([]byte), func(string), error](&readInputFn{})
	register.DoFn1x3[[]byte, string, []byte, error](&exactKeyFn{})
	register.DoFn4x1[string, func(*[]byte) bool, func([]byte), func(string), error](&exactPickFn{})
	register.DoFn3x1[[]byte, func(string, string), func(string, []byte), error](&bandKeysFn{})
	register.DoFn3x0[string, func(*string) bool, func(string, string)](&bandLosersFn{})
	register.DoFn5x0[string, func(*[]byte) bool, func(*string) bool, func([]byte), func(string)](&nearJoinFn{})
	register.DoFn3x1[[]byte, int, func(int, []byte), error](&shardFn{})
	register.DoFn3x1[context.Context, int, func(*[]byte) bool, error](&writeShardFn{})
	register.Function1x1(outMarkFn)
	register.Function2x1(countLineFn)
	register.Function2x2(countsJSONFn)
	register.Emitter1[[]byte]()
	register.Emitter1[string]()
	register.Emitter2[string, string]()
	register.Emitter2[string, []byte]()
	register.Emitter2[int, []byte]()
	register.Iter1[string]()
	register.Iter1[[]byte]()
}
