package data

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/bayling-go/bayling/internal/lang"
	"github.com/bayling-go/bayling/internal/yaml"
)

// Recipe is a data build, as written in RECIPE.yaml.
type Recipe struct {
	Seed        uint64             `json:"seed"`
	Inputs      []Input            `json:"inputs"`
	Languages   []string           `json:"languages,omitempty"`   // restrict multiway inputs; empty = all
	Hubs        []string           `json:"hubs,omitempty"`        // default eng_Latn, zho_Hans
	Pairs       []string           `json:"pairs,omitempty"`       // extra directions "src-tgt"
	PairsAmong  []string           `json:"pairs_among,omitempty"` // every direction between these languages
	TemplateMix map[string]float64 `json:"template_mix,omitempty"`
	MultiTurn   float64            `json:"multiturn_rate,omitempty"` // share of units that also yield a multi-turn record
	Ratios      map[string]float64 `json:"ratios,omitempty"`         // zh/en/cross; default 43.2/26.2/30.6
	NoMix       bool               `json:"no_mix,omitempty"`         // keep every record, ignore ratios
	LangCap     int                `json:"lang_cap,omitempty"`       // most records per language; 0 = no cap
	Filters     FilterConfig       `json:"filters"`
	LID         struct {
		Model string `json:"model,omitempty"` // a bayling LID model or a fastText .bin
	} `json:"lid"`
	Dedup struct {
		Near *bool `json:"near,omitempty"` // default true
	} `json:"dedup"`
	ShardSize int      `json:"shard_size,omitempty"` // records per shard; default 100000
	Formats   []string `json:"formats,omitempty"`    // "messages", "sharegpt"; default both
	Workers   int      `json:"workers,omitempty"`

	dir string // the recipe file's folder: relative paths resolve against it
}

// Input is one source of data.
type Input struct {
	Kind string `json:"kind"` // multiway, tsv, moses, bitext-jsonl, instructions, parallel-instructions
	Path string `json:"path"`
	// For bitext kinds: the two languages; for moses, Path is the source
	// file and TgtPath the target file.
	Src      string `json:"src,omitempty"`
	Tgt      string `json:"tgt,omitempty"`
	TgtPath  string `json:"tgt_path,omitempty"`
	SrcField string `json:"src_field,omitempty"`
	TgtField string `json:"tgt_field,omitempty"`
	Ext      string `json:"ext,omitempty"`   // multiway file extension (dev, devtest, txt)
	Lang     string `json:"lang,omitempty"`  // instructions: the set's language
	Limit    int    `json:"limit,omitempty"` // read at most this many units (lines); 0 = all
}

// LoadRecipe reads and validates a recipe file.
func LoadRecipe(path string) (*Recipe, error) {
	var r Recipe
	if err := yaml.DecodeFile(path, &r); err != nil {
		return nil, err
	}
	r.dir = filepath.Dir(path)
	if err := r.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

var inputKinds = map[string]bool{"multiway": true, "tsv": true, "moses": true, "bitext-jsonl": true, "instructions": true, "parallel-instructions": true}

func (r *Recipe) validate() error {
	if len(r.Inputs) == 0 {
		return fmt.Errorf("recipe: no inputs")
	}
	canon := func(field string, codes []string) error {
		for i, c := range codes {
			l, err := lang.Lookup(c)
			if err != nil {
				return fmt.Errorf("recipe: %s[%d]: %w", field, i, err)
			}
			codes[i] = l.Code
		}
		return nil
	}
	if err := canon("languages", r.Languages); err != nil {
		return err
	}
	if err := canon("hubs", r.Hubs); err != nil {
		return err
	}
	if err := canon("pairs_among", r.PairsAmong); err != nil {
		return err
	}
	for _, a := range r.PairsAmong {
		for _, b := range r.PairsAmong {
			if a != b {
				r.Pairs = append(r.Pairs, a+"-"+b)
			}
		}
	}
	r.PairsAmong = nil // expanded into Pairs: one spelling of the recipe
	for i, p := range r.Pairs {
		a, b, ok := strings.Cut(p, "-")
		if !ok {
			return fmt.Errorf("recipe: pairs[%d]: %q is not SRC-TGT", i, p)
		}
		ab := []string{a, b}
		if err := canon(fmt.Sprintf("pairs[%d]", i), ab); err != nil {
			return err
		}
		r.Pairs[i] = ab[0] + "-" + ab[1]
	}
	for i := range r.Inputs {
		in := &r.Inputs[i]
		where := fmt.Sprintf("recipe: inputs[%d]", i)
		if !inputKinds[in.Kind] {
			return fmt.Errorf("%s: unknown kind %q (want multiway, tsv, moses, bitext-jsonl, instructions or parallel-instructions)", where, in.Kind)
		}
		if in.Path == "" {
			return fmt.Errorf("%s: no path", where)
		}
		in.Path = r.resolve(in.Path)
		if in.TgtPath != "" {
			in.TgtPath = r.resolve(in.TgtPath)
		}
		for _, f := range []*string{&in.Src, &in.Tgt, &in.Lang} {
			if *f == "" {
				continue
			}
			l, err := lang.Lookup(*f)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			*f = l.Code
		}
		switch in.Kind {
		case "tsv", "moses":
			if in.Src == "" || in.Tgt == "" {
				return fmt.Errorf("%s: %s input needs src and tgt languages", where, in.Kind)
			}
			if in.Kind == "moses" && in.TgtPath == "" {
				return fmt.Errorf("%s: moses input needs tgt_path", where)
			}
		case "instructions":
			if in.Lang == "" {
				return fmt.Errorf("%s: instructions input needs lang (e.g. eng_Latn or zho_Hans)", where)
			}
		}
	}
	for k, v := range r.Ratios {
		if k != CatZh && k != CatEn && k != CatCross {
			return fmt.Errorf("recipe: ratios: unknown category %q (want zh, en, cross)", k)
		}
		if v < 0 {
			return fmt.Errorf("recipe: ratios: %s is negative", k)
		}
	}
	for _, f := range r.Formats {
		if f != "messages" && f != "sharegpt" {
			return fmt.Errorf("recipe: formats: unknown format %q (want messages or sharegpt)", f)
		}
	}
	if r.LID.Model != "" {
		r.LID.Model = r.resolve(r.LID.Model)
	}
	r.Filters.defaults()
	return nil
}

func (r *Recipe) resolve(p string) string {
	// Absolute paths and URLs (gs://, s3://: Beam workers read them) stay as written.
	if filepath.IsAbs(p) || r.dir == "" || strings.Contains(p, "://") {
		return p
	}
	return filepath.Join(r.dir, p)
}

func (r *Recipe) ratios() map[string]float64 {
	if len(r.Ratios) > 0 {
		return r.Ratios
	}
	return map[string]float64{CatZh: 43.2, CatEn: 26.2, CatCross: 30.6}
}

func (r *Recipe) near() bool { return r.Dedup.Near == nil || *r.Dedup.Near }

func (r *Recipe) shardSize() int {
	if r.ShardSize > 0 {
		return r.ShardSize
	}
	return 100000
}

func (r *Recipe) formats() []string {
	if len(r.Formats) > 0 {
		return r.Formats
	}
	return []string{"messages", "sharegpt"}
}

// Hash identifies the recipe's effect, so a resumed build knows its
// intermediate files belong to the same recipe.
func (r *Recipe) Hash() string {
	b, _ := json.Marshal(r)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}
