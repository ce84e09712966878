package data

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// Manifest describes a finished build.
type Manifest struct {
	Recipe     *Recipe                     `json:"recipe"`
	RecipeHash string                      `json:"recipe_hash"`
	Counts     Counts                      `json:"counts"`
	ByTask     map[string]int64            `json:"by_task"`
	ByLang     map[string]map[string]int64 `json:"by_lang"` // lang -> task -> records
	ByCategory map[string]int64            `json:"by_category"`
	Shards     []Shard                     `json:"shards"`
	Malformed  []string                    `json:"malformed,omitempty"` // the first 1000, file:line: reason
}

// Shard is one output file.
type Shard struct {
	Path    string `json:"path"` // relative to the output folder
	Format  string `json:"format"`
	Records int    `json:"records"`
	Bytes   int64  `json:"bytes"`
	SHA256  string `json:"sha256"`
}

// ManifestName is the manifest's file name in the output folder.
const ManifestName = "manifest.json"

// selectKey orders records for capping and mixing: a seeded hash of the id,
// so which records a ratio keeps does not depend on input order.
func selectKey(seed uint64, id string) uint64 { return hashString(fmt.Sprint(seed), id, "mix") }

type keyed struct {
	key  uint64
	lang string
	cat  string
}

// finish chooses the records to keep (per-language caps, then mixing
// ratios, both by lowest key) and writes shards and the manifest.
func finish(ctx context.Context, r *Recipe, outDir, work string, total Counts, malformed []string, opt Options) (*Manifest, error) {
	spills := make([]string, len(r.Inputs))
	var all []keyed
	for i := range r.Inputs {
		spills[i] = filepath.Join(work, fmt.Sprintf("input-%03d.jsonl", i))
		for rec, err := range readSpill(spills[i]) {
			if err != nil {
				return nil, err
			}
			all = append(all, keyed{selectKey(r.Seed, rec.ID), rec.Lang, rec.Category()})
		}
	}
	if int64(len(all)) != total.Out {
		return nil, fmt.Errorf("%s: spills hold %d records, counts say %d; delete it and rebuild", work, len(all), total.Out)
	}
	keep := choose(r, all, &total)
	all = nil

	if err := clearShards(outDir, r.formats()); err != nil {
		return nil, err
	}
	m := &Manifest{Recipe: r, RecipeHash: r.Hash(), ByTask: map[string]int64{}, ByLang: map[string]map[string]int64{}, ByCategory: map[string]int64{}, Malformed: malformed}
	sw := newShardWriter(outDir, r.formats(), r.shardSize())
	defer sw.abort()
	for _, spill := range spills {
		for rec, err := range readSpill(spill) {
			if err != nil {
				return nil, err
			}
			if !keep.has(selectKey(r.Seed, rec.ID)) {
				continue
			}
			if err := sw.write(&rec); err != nil {
				return nil, err
			}
			m.ByTask[string(rec.Task)]++
			if m.ByLang[rec.Lang] == nil {
				m.ByLang[rec.Lang] = map[string]int64{}
			}
			m.ByLang[rec.Lang][string(rec.Task)]++
			m.ByCategory[rec.Category()]++
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	shards, err := sw.close()
	if err != nil {
		return nil, err
	}
	m.Shards = shards
	m.Counts = total
	if err := reconcile(m); err != nil {
		return nil, err
	}
	if err := writeJSONAtomic(filepath.Join(outDir, ManifestName), m); err != nil {
		return nil, err
	}
	return m, os.RemoveAll(filepath.Join(outDir, workDir))
}

// choose applies caps and ratios; it moves dropped records from Out to
// Dropped in total and returns the keys to keep.
func choose(r *Recipe, all []keyed, total *Counts) set64 {
	slices.SortFunc(all, func(a, b keyed) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	alive := make([]bool, len(all))
	for i := range alive {
		alive[i] = true
	}
	if r.LangCap > 0 {
		perLang := map[string]int{}
		for i, k := range all {
			perLang[k.lang]++
			if perLang[k.lang] > r.LangCap {
				alive[i] = false
				total.Out--
				total.drop(DropCap)
			}
		}
	}
	if !r.NoMix {
		avail := map[string]int{}
		for i, k := range all {
			if alive[i] {
				avail[k.cat]++
			}
		}
		quota := quotas(r.ratios(), avail)
		taken := map[string]int{}
		for i, k := range all {
			if !alive[i] {
				continue
			}
			if taken[k.cat] >= quota[k.cat] {
				alive[i] = false
				total.Out--
				total.drop(DropMix)
				continue
			}
			taken[k.cat]++
		}
	}
	keep := newSet64()
	for i, k := range all {
		if alive[i] {
			keep.add(k.key)
		}
	}
	return keep
}

// quotas turns ratios into record counts: the largest total whose shares
// fit what each category has. Categories with no records drop out and the
// remaining ratios are renormalised.
func quotas(ratios map[string]float64, avail map[string]int) map[string]int {
	sum := 0.0
	for _, c := range sortedKeys(ratios) {
		if avail[c] > 0 {
			sum += ratios[c]
		}
	}
	out := map[string]int{}
	if sum == 0 {
		return out
	}
	total := -1.0
	for _, c := range sortedKeys(ratios) {
		if avail[c] > 0 && ratios[c] > 0 {
			t := float64(avail[c]) / (ratios[c] / sum)
			if total < 0 || t < total {
				total = t
			}
		}
	}
	for _, c := range sortedKeys(ratios) {
		if avail[c] > 0 && ratios[c] > 0 {
			out[c] = min(avail[c], int(total*ratios[c]/sum+1e-9))
		}
	}
	return out
}

func reconcile(m *Manifest) error {
	var dropped, written int64
	for _, v := range m.Counts.Dropped {
		dropped += v
	}
	for _, c := range m.ByCategory {
		written += c
	}
	if m.Counts.In != m.Counts.Out+dropped || written != m.Counts.Out {
		return fmt.Errorf("data: counts do not reconcile: in %d, out %d (written %d), dropped %d", m.Counts.In, m.Counts.Out, written, dropped)
	}
	return nil
}

// shardWriter writes records to numbered shards in each output format.
type shardWriter struct {
	dir     string
	formats []string
	size    int
	cur     []*atomicWriter
	n       int
	index   int
	shards  []Shard
}

func newShardWriter(dir string, formats []string, size int) *shardWriter {
	return &shardWriter{dir: dir, formats: formats, size: size}
}

func (s *shardWriter) write(r *Record) error {
	if s.cur == nil {
		for _, f := range s.formats {
			w, err := newAtomicWriter(filepath.Join(s.dir, f, fmt.Sprintf("shard-%05d.jsonl", s.index)))
			if err != nil {
				return err
			}
			s.cur = append(s.cur, w)
		}
	}
	for i, f := range s.formats {
		b, err := encodeRecord(r, f)
		if err != nil {
			return err
		}
		s.cur[i].buf.Write(b)
		s.cur[i].buf.WriteByte('\n')
	}
	s.n++
	if s.n == s.size {
		return s.rotate()
	}
	return nil
}

func (s *shardWriter) rotate() error {
	for i, w := range s.cur {
		if err := w.commit(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.dir, w.path)
		s.shards = append(s.shards, Shard{Path: rel, Format: s.formats[i], Records: s.n, Bytes: w.n, SHA256: w.sha256()})
	}
	s.cur, s.n = nil, 0
	s.index++
	return nil
}

func (s *shardWriter) close() ([]Shard, error) {
	if s.cur != nil {
		if err := s.rotate(); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(s.shards, func(i, j int) bool { return s.shards[i].Format < s.shards[j].Format })
	return s.shards, nil
}

func (s *shardWriter) abort() {
	for _, w := range s.cur {
		w.abort()
	}
}

// encodeRecord renders a record in an output format: OpenAI "messages"
// (TRL's conversational format) or ShareGPT "conversations" (LLaMA-Factory,
// axolotl), each with the record's id, task and languages.
func encodeRecord(r *Record, format string) ([]byte, error) {
	meta := recordMeta{r.ID, r.Task, r.Lang, r.SrcLang, r.TgtLang}
	if format == "messages" {
		return json.Marshal(struct {
			Messages []Message `json:"messages"`
			recordMeta
		}{r.Messages, meta})
	}
	type turn struct {
		From  string `json:"from"`
		Value string `json:"value"`
	}
	var conv []turn
	system := ""
	for _, m := range r.Messages {
		switch m.Role {
		case "system":
			system = m.Content
		case "user":
			conv = append(conv, turn{"human", m.Content})
		default:
			conv = append(conv, turn{"gpt", m.Content})
		}
	}
	return json.Marshal(struct {
		Conversations []turn `json:"conversations"`
		System        string `json:"system,omitempty"`
		recordMeta
	}{conv, system, meta})
}

type recordMeta struct {
	ID      string `json:"id"`
	Task    Task   `json:"task"`
	Lang    string `json:"lang"`
	SrcLang string `json:"src_lang,omitempty"`
	TgtLang string `json:"tgt_lang,omitempty"`
}

// clearShards removes the shards and temporary files a previous or killed
// build left in the format folders, so stale shards never mix with new ones.
func clearShards(outDir string, formats []string) error {
	for _, f := range formats {
		for _, pat := range []string{"shard-*.jsonl", ".shard-*.tmp-*"} {
			old, _ := filepath.Glob(filepath.Join(outDir, f, pat))
			for _, p := range old {
				if err := os.Remove(p); err != nil {
					return err
				}
			}
		}
	}
	if err := os.Remove(filepath.Join(outDir, ManifestName)); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}
