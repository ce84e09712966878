package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/testenv"
)

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func floresRecipe(t *testing.T, langs []string, extra string) string {
	dev := testenv.SharedPath(t, "evaldata", "flores200", "dev")
	dir := t.TempDir()
	y := "seed: 7\nno_mix: true\ninputs:\n  - kind: multiway\n    path: " + dev + "\n"
	if len(langs) > 0 {
		y += "languages: [" + strings.Join(langs, ", ") + "]\n"
	}
	return writeFile(t, filepath.Join(dir, "recipe.yaml"), y+extra)
}

func build(t *testing.T, recipe, out string) *Manifest {
	t.Helper()
	r, err := LoadRecipe(recipe)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Build(context.Background(), r, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readRecords(t *testing.T, out string, m *Manifest, format string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, s := range m.Shards {
		if s.Format != format {
			continue
		}
		f, err := os.Open(filepath.Join(out, s.Path))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			var v map[string]any
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				t.Fatal(err)
			}
			recs = append(recs, v)
		}
		f.Close()
	}
	return recs
}

func TestFloresBothDirectionsWithBothHubs(t *testing.T) {
	langs := []string{"eng_Latn", "zho_Hans", "swh_Latn", "amh_Ethi", "fra_Latn", "jpn_Jpan"}
	out := t.TempDir()
	m := build(t, floresRecipe(t, langs, "multiturn_rate: 0.05\n"), out)
	dirs := map[string]int{}
	for _, rec := range readRecords(t, out, m, "messages") {
		if rec["task"] == "translate" {
			dirs[rec["src_lang"].(string)+">"+rec["tgt_lang"].(string)]++
		}
	}
	for _, l := range langs {
		for _, h := range Hubs {
			if l == h {
				continue
			}
			if dirs[l+">"+h] < 900 || dirs[h+">"+l] < 900 {
				t.Errorf("%s<->%s: %d and %d records, want nearly 997 each", l, h, dirs[l+">"+h], dirs[h+">"+l])
			}
		}
	}
	if m.ByTask["multiturn"] == 0 {
		t.Error("no multi-turn records")
	}
	if err := reconcile(m); err != nil {
		t.Fatal(err)
	}
	if len(readRecords(t, out, m, "sharegpt")) != int(m.Counts.Out) {
		t.Error("sharegpt shards do not hold every record")
	}
}

func TestDeterministicAndResumable(t *testing.T) {
	langs := []string{"eng_Latn", "zho_Hans", "yor_Latn", "kor_Hang"}
	dir := t.TempDir()
	instr := writeFile(t, filepath.Join(dir, "en.jsonl"),
		`{"instruction":"Name a colour.","input":"","output":"Blue."}`+"\n"+
			`not json`+"\n"+
			`{"messages":[{"role":"user","content":"Say hi"},{"role":"assistant","content":"Hi!"}]}`+"\n")
	recipe := floresRecipe(t, langs, "shard_size: 500\ninputs2: x\n")
	// Replace the inputs2 marker with a second input (kept simple: rewrite).
	b, _ := os.ReadFile(recipe)
	y := strings.Replace(string(b), "inputs2: x\n", "", 1)
	y = strings.Replace(y, "inputs:\n", "inputs:\n  - kind: instructions\n    path: "+instr+"\n    lang: en\n", 1)
	writeFile(t, recipe, y)

	a, bdir := t.TempDir(), t.TempDir()
	ma := build(t, recipe, a)
	if ma.Counts.Dropped[DropMalformed] != 1 || len(ma.Malformed) != 1 || !strings.Contains(ma.Malformed[0], "en.jsonl:2") {
		t.Fatalf("malformed line not reported with file:line: %v %v", ma.Counts.Dropped, ma.Malformed)
	}

	// A build killed after its first input resumes to the same bytes.
	r, err := LoadRecipe(recipe)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	_, err = Build(ctx, r, bdir, Options{Progress: func(stage string, n int64) {
		if n > 1000 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want a cancelled build, got %v", err)
	}
	if _, err := os.Stat(filepath.Join(bdir, workDir)); err != nil {
		t.Fatal("no work folder left to resume from")
	}
	mb := build(t, recipe, bdir)
	if len(ma.Shards) != len(mb.Shards) || len(ma.Shards) < 4 {
		t.Fatalf("shards: %d vs %d", len(ma.Shards), len(mb.Shards))
	}
	for i := range ma.Shards {
		if ma.Shards[i] != mb.Shards[i] {
			t.Errorf("shard %d differs: %+v vs %+v", i, ma.Shards[i], mb.Shards[i])
		}
		x, _ := os.ReadFile(filepath.Join(a, ma.Shards[i].Path))
		y, _ := os.ReadFile(filepath.Join(bdir, mb.Shards[i].Path))
		if !bytes.Equal(x, y) {
			t.Errorf("shard %s bytes differ", ma.Shards[i].Path)
		}
	}
	if _, err := os.Stat(filepath.Join(bdir, workDir)); !os.IsNotExist(err) {
		t.Error("work folder not removed after a finished build")
	}
}

func TestReadersAndFormats(t *testing.T) {
	dir := t.TempDir()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`[{"instruction":"A","input":"x","output":"B"},{"conversations":[{"from":"human","value":"Q"},{"from":"gpt","value":"R"}]},{"instruction":"only"}]`))
	zw.Close()
	path := filepath.Join(dir, "set.json.gz")
	os.WriteFile(path, gz.Bytes(), 0o644)
	var got []Instruction
	var bad []string
	for in, err := range ReadInstructions(path, "eng_Latn", func(w string, err error) { bad = append(bad, w+": "+err.Error()) }) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, in)
	}
	if len(got) != 2 || got[0].Messages[0].Content != "A\nx" || got[1].Messages[1].Content != "R" {
		t.Fatalf("got %+v", got)
	}
	if len(bad) != 1 || !strings.Contains(bad[0], "#3") {
		t.Fatalf("bad = %v", bad)
	}

	tsv := writeFile(t, filepath.Join(dir, "b.tsv"), "bonjour\thello\none column\na\tb\tc\n")
	var pars []Parallel
	bad = nil
	for p, err := range ReadTSV(tsv, "fra_Latn", "eng_Latn", func(w string, err error) { bad = append(bad, w) }) {
		if err != nil {
			t.Fatal(err)
		}
		pars = append(pars, p)
	}
	if len(pars) != 1 || pars[0].Text["eng_Latn"] != "hello" || len(bad) != 2 || !strings.HasSuffix(bad[0], "b.tsv:2") {
		t.Fatalf("tsv: %+v bad=%v", pars, bad)
	}

	src := writeFile(t, filepath.Join(dir, "c.fr"), "a\nb\n")
	tgt := writeFile(t, filepath.Join(dir, "c.en"), "x\n")
	var err error
	for _, e := range ReadMoses(src, tgt, "fra_Latn", "eng_Latn") {
		if e != nil {
			err = e
		}
	}
	if err == nil || !strings.Contains(err.Error(), "not line-aligned") {
		t.Fatalf("moses misalignment not reported: %v", err)
	}
}

func TestNearDuplicates(t *testing.T) {
	d := NewDedup(true)
	mk := func(src, tgt string) *Record {
		return &Record{ID: src, Task: TaskTranslate, SrcLang: "fra_Latn", TgtLang: "eng_Latn", payloadSrc: src,
			Messages: []Message{{"user", "Translate: " + src}, {"assistant", tgt}}}
	}
	base := "The quick brown fox jumps over the lazy dog near the old river bank every single morning."
	if r := d.Check(mk("Le renard brun saute par-dessus le chien paresseux près de la rive.", base)); r != "" {
		t.Fatalf("first record dropped: %s", r)
	}
	if r := d.Check(mk("Le renard brun saute par-dessus le chien paresseux près de la rive.", base)); r != DropExactDup {
		t.Fatalf("exact duplicate: got %q", r)
	}
	if r := d.Check(mk("Le renard brun saute par-dessus le chien paresseux près de la rive!", base+" ")); r != DropNearDup {
		t.Fatalf("near duplicate: got %q", r)
	}
	if r := d.Check(mk("Une phrase entièrement différente sur la météo de demain.", "A completely different sentence about tomorrow's weather.")); r != "" {
		t.Fatalf("distinct record dropped: %s", r)
	}
}

func TestQuotas(t *testing.T) {
	q := quotas(map[string]float64{CatZh: 43.2, CatEn: 26.2, CatCross: 30.6}, map[string]int{CatZh: 1000, CatEn: 1000, CatCross: 1000})
	if q[CatZh] != 1000 || q[CatEn] != 606 || q[CatCross] != 708 {
		t.Fatalf("quotas %v", q)
	}
	q = quotas(map[string]float64{CatZh: 43.2, CatEn: 26.2, CatCross: 30.6}, map[string]int{CatCross: 50})
	if q[CatCross] != 50 || len(q) != 1 {
		t.Fatalf("missing categories not renormalised: %v", q)
	}
}

func TestFilters(t *testing.T) {
	f := FilterConfig{}
	f.defaults()
	rec := func(src, tgt, sl, tl string) *Record {
		return &Record{Task: TaskTranslate, SrcLang: sl, TgtLang: tl, payloadSrc: src,
			Messages: []Message{{"user", "T: " + src}, {"assistant", tgt}}}
	}
	cases := []struct {
		r    *Record
		want string
	}{
		{rec("今天天气很好。", "The weather is nice today.", "zho_Hans", "eng_Latn"), ""},
		{rec("Hello there, this is a long English sentence with many words.", "Hi", "eng_Latn", "fra_Latn"), DropRatio},
		{rec("Привет, как дела?", "Hello, how are you?", "eng_Latn", "fra_Latn"), DropScript},
		{rec("x", "  ", "eng_Latn", "fra_Latn"), DropEmpty},
	}
	for i, c := range cases {
		if got := f.check(c.r, nil); got != c.want {
			t.Errorf("case %d: got %q want %q", i, got, c.want)
		}
	}
}

// The acceptance recipe in miniature: every FLORES-200 language, 20 lines
// each, appears in both directions with both hubs, and counts reconcile.
func TestAllFloresLanguagesBothHubs(t *testing.T) {
	out := t.TempDir()
	recipe := floresRecipe(t, nil, "")
	b, _ := os.ReadFile(recipe)
	writeFile(t, recipe, strings.Replace(string(b), "    path: ", "    limit: 20\n    path: ", 1))
	m := build(t, recipe, out)
	dirs := map[string]bool{}
	for _, rec := range readRecords(t, out, m, "messages") {
		if rec["task"] == "translate" {
			dirs[rec["src_lang"].(string)+">"+rec["tgt_lang"].(string)] = true
		}
	}
	files, _ := filepath.Glob(filepath.Join(testenv.SharedPath(t, "evaldata", "flores200", "dev"), "*.dev"))
	if len(files) != 204 {
		t.Fatalf("%d FLORES files", len(files))
	}
	for _, f := range files {
		l := strings.TrimSuffix(filepath.Base(f), ".dev")
		for _, h := range Hubs {
			if l != h && (!dirs[l+">"+h] || !dirs[h+">"+l]) {
				t.Errorf("%s: missing a direction with %s", l, h)
			}
		}
	}
	var dropped int64
	for _, v := range m.Counts.Dropped {
		dropped += v
	}
	if m.Counts.In != m.Counts.Out+dropped {
		t.Fatalf("in %d != out %d + dropped %d", m.Counts.In, m.Counts.Out, dropped)
	}
	t.Logf("in %d out %d dropped %v", m.Counts.In, m.Counts.Out, m.Counts.Dropped)
}

func TestPairsAmong(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, filepath.Join(dir, "r.yaml"), "inputs:\n  - kind: multiway\n    path: x\npairs_among: [fr, de, es]\npairs: [eng_Latn-fra_Latn]\n")
	r, err := LoadRecipe(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Pairs) != 7 || r.Pairs[0] != "eng_Latn-fra_Latn" || r.Pairs[1] != "fra_Latn-deu_Latn" {
		t.Fatalf("pairs %v", r.Pairs)
	}
}

// The same recipe over the same files gives the same bytes wherever the
// files are.
func TestOutputIndependentOfLocation(t *testing.T) {
	dev := testenv.SharedPath(t, "evaldata", "flores200", "dev")
	var shas [2][]Shard
	for i := range 2 {
		dir := t.TempDir()
		corpus := filepath.Join(dir, fmt.Sprintf("corpus%d", i))
		os.MkdirAll(corpus, 0o755)
		for _, l := range []string{"eng_Latn", "zho_Hans", "fra_Latn"} {
			b, _ := os.ReadFile(filepath.Join(dev, l+".dev"))
			os.WriteFile(filepath.Join(corpus, l+".dev"), b, 0o644)
		}
		recipe := writeFile(t, filepath.Join(dir, "r.yaml"), "seed: 5\nno_mix: true\nmultiturn_rate: 0.2\ninputs:\n  - kind: multiway\n    path: "+filepath.Base(corpus)+"\n    limit: 50\n")
		shas[i] = build(t, recipe, filepath.Join(dir, "out")).Shards
	}
	if len(shas[0]) == 0 || fmt.Sprint(shas[0]) != fmt.Sprint(shas[1]) {
		t.Fatalf("outputs differ by location:\n%v\n%v", shas[0], shas[1])
	}
}
