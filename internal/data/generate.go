package data

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Hubs are the two languages BayLing 2 links every other language to.
var Hubs = []string{"eng_Latn", "zho_Hans"}

// GenConfig controls the generators.
type GenConfig struct {
	Seed uint64
	// Hubs are the pivot languages; default eng_Latn and zho_Hans.
	Hubs []string
	// Pairs adds explicit directions ("fra_Latn-deu_Latn") beyond hub links.
	Pairs []string
	// TemplateMix weights the instruction language of translation prompts:
	// "en", "zh" and "native" (the source language, where a template exists).
	TemplateMix map[string]float64
	// MultiTurnRate is the fraction of (sentence, language) units that also
	// yield a multi-turn interactive translation.
	MultiTurnRate float64
	Name          Namer
}

func (c *GenConfig) hubs() []string {
	if len(c.Hubs) > 0 {
		return c.Hubs
	}
	return Hubs
}

// Translations emits translation instructions for one aligned unit: every
// non-hub language to and from every hub present, hub to hub, and the
// configured extra pairs.
func (c *GenConfig) Translations(p Parallel, emit func(Record)) {
	for _, d := range c.directions(p) {
		if r, ok := c.translation(p, d[0], d[1]); ok {
			emit(r)
		}
	}
}

func (c *GenConfig) directions(p Parallel) [][2]string {
	var out [][2]string
	seen := map[[2]string]bool{}
	add := func(a, b string) {
		d := [2]string{a, b}
		if a != b && !seen[d] && p.Text[a] != "" && p.Text[b] != "" {
			seen[d] = true
			out = append(out, d)
		}
	}
	langs := sortedLangs(p)
	for _, h := range c.hubs() {
		for _, l := range langs {
			add(l, h)
			add(h, l)
		}
	}
	for _, pair := range c.Pairs {
		a, b, _ := strings.Cut(pair, "-")
		add(a, b)
	}
	return out
}

func sortedLangs(p Parallel) []string {
	langs := make([]string, 0, len(p.Text))
	for l := range p.Text {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	return langs
}

// pickTemplate chooses the instruction language by TemplateMix, then a
// template from that pool, all from the record key so it is reproducible.
func (c *GenConfig) pickTemplate(key, srcLang string) []template {
	mix := c.TemplateMix
	if len(mix) == 0 {
		mix = map[string]float64{"en": 0.45, "zh": 0.45, "native": 0.10}
	}
	u := unitFloat(hashString(fmt.Sprint(c.Seed), key, "pool"))
	total := mix["en"] + mix["zh"] + mix["native"]
	var pools [][]template
	switch {
	case u*total < mix["en"]:
		pools = [][]template{enTemplates}
	case u*total < mix["en"]+mix["zh"]:
		pools = [][]template{zhTemplates, enTemplates}
	default:
		pools = [][]template{nativeTemplates[srcLang], enTemplates}
	}
	// Order candidates: the chosen template of each pool, then English as
	// the fallback when a name is missing in the chosen language.
	var out []template
	for _, pool := range pools {
		if len(pool) > 0 {
			out = append(out, pool[hashString(fmt.Sprint(c.Seed), key, "tmpl")%uint64(len(pool))])
		}
	}
	return append(out, enTemplates[0])
}

func (c *GenConfig) translation(p Parallel, src, tgt string) (Record, bool) {
	key := "tr\x00" + p.Origin + "\x00" + src + ">" + tgt
	for _, t := range c.pickTemplate(key, src) {
		if prompt, ok := t.render(p.Text[src], src, tgt, c.Name); ok {
			return Record{
				ID: idOf(key), Task: TaskTranslate, Lang: tgt, SrcLang: src, TgtLang: tgt,
				Messages: []Message{{"user", prompt}, {"assistant", p.Text[tgt]}},
				Origin:   p.Origin, payloadSrc: p.Text[src],
			}, true
		}
	}
	return Record{}, false
}

func idOf(key string) string { return fmt.Sprintf("%016x", hashString(key)) }

// MultiTurn emits interactive translations for a sampled share of units:
// translate from a hub into X, retarget to a third language, then return to
// X under the constraint that given words appear. Every answer is the
// reference sentence, so each constrained answer is correct by construction.
func (c *GenConfig) MultiTurn(p Parallel, emit func(Record)) {
	if c.MultiTurnRate <= 0 {
		return
	}
	langs := sortedLangs(p)
	for _, h := range c.hubs() {
		if p.Text[h] == "" {
			continue
		}
		for _, x := range langs {
			if x == h || p.Text[x] == "" {
				continue
			}
			key := "mt\x00" + p.Origin + "\x00" + h + ">" + x
			if unitFloat(hashString(fmt.Sprint(c.Seed), key, "rate")) >= c.MultiTurnRate {
				continue
			}
			if r, ok := c.multiTurn(p, key, h, x, langs); ok {
				emit(r)
			}
		}
	}
}

func (c *GenConfig) multiTurn(p Parallel, key, hub, x string, langs []string) (Record, bool) {
	// The third language: another hub if present, else a language chosen by hash.
	z := ""
	for _, h := range c.hubs() {
		if h != hub && h != x && p.Text[h] != "" {
			z = h
			break
		}
	}
	if z == "" {
		var others []string
		for _, l := range langs {
			if l != hub && l != x {
				others = append(others, l)
			}
		}
		if len(others) == 0 {
			return Record{}, false
		}
		z = others[hashString(key, "z")%uint64(len(others))]
	}
	words := constraintWords(p.Text[x], hashString(fmt.Sprint(c.Seed), key, "words"))
	if len(words) == 0 {
		return Record{}, false
	}
	var follow []string
	inZh := strings.HasPrefix(hub, "zho_")
	zName, xName := c.Name(z, hub), c.Name(x, hub)
	if zName == "" || xName == "" {
		return Record{}, false
	}
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = "\"" + w + "\""
	}
	if inZh {
		follow = []string{
			"现在把它翻译成" + zName + "。",
			"请再把它翻译成" + xName + "，并确保译文包含以下词语：" + strings.Join(quoted, "、") + "。",
		}
	} else {
		follow = []string{
			"Now translate it into " + zName + ".",
			"Translate it into " + xName + " again, and make sure the translation includes " + strings.Join(quoted, " and ") + ".",
		}
	}
	first, ok := c.translation(p, hub, x)
	if !ok {
		return Record{}, false
	}
	msgs := append(first.Messages,
		Message{"user", follow[0]}, Message{"assistant", p.Text[z]},
		Message{"user", follow[1]}, Message{"assistant", p.Text[x]})
	return Record{ID: idOf(key), Task: TaskMultiTurn, Lang: x, SrcLang: hub, TgtLang: x, Messages: msgs, Origin: p.Origin, payloadSrc: p.Text[hub]}, true
}

// constraintWords picks one or two words of the reference to require. In
// scripts written without spaces it picks a short run of letters instead.
func constraintWords(s string, h uint64) []string {
	var cands []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }) {
		if utf8.RuneCountInString(f) >= 4 && !strings.ContainsFunc(f, unicode.IsDigit) {
			cands = append(cands, f)
		}
	}
	if len(cands) == 0 {
		// Unsegmented text: take a 2-rune run of letters.
		rs := []rune(s)
		for i := 0; i+1 < len(rs); i++ {
			if unicode.IsLetter(rs[i]) && unicode.IsLetter(rs[i+1]) {
				cands = append(cands, string(rs[i:i+2]))
			}
		}
	}
	if len(cands) == 0 {
		return nil
	}
	n := 1 + int(h%2)
	if n > len(cands) {
		n = len(cands)
	}
	out := []string{cands[h%uint64(len(cands))]}
	if n == 2 {
		if w := cands[(h>>17)%uint64(len(cands))]; w != out[0] {
			out = append(out, w)
		}
	}
	return out
}

// Passthrough turns a zh/en instruction into a record unchanged.
func Passthrough(in Instruction) Record {
	var b strings.Builder
	for _, m := range in.Messages {
		b.WriteString(m.Role)
		b.WriteByte(0)
		b.WriteString(m.Content)
		b.WriteByte(0)
	}
	return Record{ID: idOf("in\x00" + b.String()), Task: TaskInstruct, Lang: in.Lang, Messages: in.Messages, Origin: in.Origin}
}

// ParallelInstruction is one instruction with its translations, the input
// of the cross-lingual generator.
type ParallelInstruction struct {
	ID          string            `json:"id"`
	Instruction map[string]string `json:"instruction"`
	Output      map[string]string `json:"output"`
	Origin      string            `json:"-"`
}

var answerIn = map[string]string{
	"eng_Latn": "Please answer in {tgt}.",
	"zho_Hans": "请用{tgt}回答。",
}

// CrossLingual emits "instruction in X, answer in Y" records: each hub's
// instruction asking for an answer in every other language the item has,
// and each other language's instruction answered in each hub.
func (c *GenConfig) CrossLingual(pi ParallelInstruction, emit func(Record)) {
	var langs []string
	for l := range pi.Output {
		if pi.Instruction[l] != "" && pi.Output[l] != "" {
			langs = append(langs, l)
		}
	}
	sort.Strings(langs)
	hubs := c.hubs()
	isHub := func(l string) bool {
		for _, h := range hubs {
			if h == l {
				return true
			}
		}
		return false
	}
	for _, x := range langs {
		for _, y := range langs {
			if x == y || !(isHub(x) || isHub(y)) {
				continue
			}
			// The "answer in Y" directive is written in X when we have it, else in English.
			dirLang := x
			tmpl, ok := answerIn[x]
			if !ok {
				dirLang, tmpl = "eng_Latn", answerIn["eng_Latn"]
			}
			name := c.Name(y, dirLang)
			if name == "" {
				continue
			}
			key := "xl\x00" + pi.ID + "\x00" + x + ">" + y
			user := pi.Instruction[x] + "\n\n" + strings.ReplaceAll(tmpl, "{tgt}", name)
			emit(Record{
				ID: idOf(key), Task: TaskCrossLingual, Lang: y, SrcLang: x, TgtLang: y,
				Messages: []Message{{"user", user}, {"assistant", pi.Output[y]}}, Origin: pi.Origin,
				payloadSrc: pi.Instruction[x],
			})
		}
	}
}
