package beam

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/bayling-go/bayling/internal/data"
)

func TestMain(m *testing.M) { ptest.MainWithDefault(m, "direct") }

// shared is ../shared beside the bayling repository root (the folder whose
// go.mod is the main module, above this nested module). Missing: fatal
// under CI, skipped otherwise.
func shared(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(string(b), "module github.com/bayling-go/bayling\n") {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("bayling repository root not found above the working directory")
		}
		dir = parent
	}
	s := filepath.Join(dir, "..", "shared")
	if _, err := os.Stat(s); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("../shared is required under CI: %v", err)
		}
		t.Skipf("../shared missing: %v", err)
	}
	return s
}

func write(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// buildBoth runs the recipe with the local builder and on the direct runner
// and returns both outputs' sorted lines per format and both counts.
func buildBoth(t *testing.T, recipe string) (local, distributed map[string][]string, lc, bc data.Counts) {
	t.Helper()
	r, err := data.LoadRecipe(recipe)
	if err != nil {
		t.Fatal(err)
	}
	lout := t.TempDir()
	m, err := data.Build(context.Background(), r, lout, data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	local = map[string][]string{}
	for _, s := range m.Shards {
		local[s.Format] = append(local[s.Format], readLines(t, filepath.Join(lout, s.Path))...)
	}

	r, err = data.LoadRecipe(recipe) // Build may adjust the recipe it is given
	if err != nil {
		t.Fatal(err)
	}
	bout := t.TempDir()
	p, s := beam.NewPipelineWithRoot()
	if err := Build(s, r, bout); err != nil {
		t.Fatal(err)
	}
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
	distributed = map[string][]string{}
	for _, f := range r.OutputFormats() {
		shards, _ := filepath.Glob(filepath.Join(bout, f, "shard-*.jsonl"))
		for _, sh := range shards {
			distributed[f] = append(distributed[f], readLines(t, sh)...)
		}
		slices.Sort(local[f])
		slices.Sort(distributed[f])
	}
	b, err := os.ReadFile(filepath.Join(bout, CountsName))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &bc); err != nil {
		t.Fatal(err)
	}
	return local, distributed, m.Counts, bc
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameCounts(a, b data.Counts) bool {
	if a.In != b.In || a.Out != b.Out || len(a.Dropped) != len(b.Dropped) {
		return false
	}
	return reflect.DeepEqual(a.Dropped, b.Dropped) || (len(a.Dropped) == 0 && len(b.Dropped) == 0)
}

// The Beam build writes the same records as the local builder for a recipe
// with FLORES multiway text, TSV bitext and an instruction set that holds a
// malformed line and an exact duplicate, and its counts reconcile with the
// local builder's.
func TestBeamMatchesLocal(t *testing.T) {
	dev := filepath.Join(shared(t), "evaldata", "flores200", "dev")
	dir := t.TempDir()
	tsv := write(t, filepath.Join(dir, "bitext.tsv"),
		"The weather is lovely today in the mountains.\tIl fait très beau aujourd'hui à la montagne.\n"+
			"this line has no tab\n"+
			"Bring an umbrella, it will rain tonight.\tPrenez un parapluie, il pleuvra ce soir.\n")
	ins := write(t, filepath.Join(dir, "alpaca.jsonl"),
		`{"instruction": "Name three primary colours.", "output": "Red, yellow and blue."}`+"\n"+
			`{"instruction": "Give a synonym of happy.", "output": "Glad."}`+"\n"+
			`{"instruction": broken`+"\n"+
			`{"instruction": "Name three primary colours.", "output": "Red, yellow and blue."}`+"\n")
	recipe := write(t, filepath.Join(dir, "recipe.yaml"), `seed: 11
no_mix: true
multiturn_rate: 0.3
shard_size: 40
languages: [eng_Latn, zho_Hans, fra_Latn, swh_Latn, jpn_Jpan]
inputs:
  - kind: multiway
    path: `+dev+`
    limit: 20
  - kind: tsv
    path: `+tsv+`
    src: eng_Latn
    tgt: fra_Latn
  - kind: instructions
    path: `+ins+`
    lang: eng_Latn
`)
	local, dist, lc, bc := buildBoth(t, recipe)
	t.Logf("local counts %+v, Beam counts %+v", lc, bc)
	if len(local["messages"]) < 150 {
		t.Fatalf("local build wrote %d records, want the 5x20 FLORES lines' translations and more", len(local["messages"]))
	}
	for _, f := range []string{"messages", "sharegpt"} {
		if !slices.Equal(local[f], dist[f]) {
			t.Errorf("%s: local %d records, Beam %d; records differ", f, len(local[f]), len(dist[f]))
			onlyLocal, onlyBeam := diff(local[f], dist[f])
			for _, l := range onlyLocal {
				t.Errorf("only local: %s", brief(l))
			}
			for _, l := range onlyBeam {
				t.Errorf("only Beam:  %s", brief(l))
			}
		}
	}
	if lc.Dropped[data.DropMalformed] != 2 || lc.Dropped[data.DropExactDup] < 1 {
		t.Errorf("local counts %+v: want 2 malformed lines and the duplicate instruction dropped", lc)
	}
	if !sameCounts(lc, bc) {
		t.Errorf("counts: local %+v, Beam %+v", lc, bc)
	}
	var dropped int64
	for _, n := range bc.Dropped {
		dropped += n
	}
	if bc.In != bc.Out+dropped || bc.Out != int64(len(dist["messages"])) {
		t.Errorf("Beam counts %+v do not reconcile with %d records written", bc, len(dist["messages"]))
	}
}

// diff returns the lines only in a and only in b (both sorted).
func diff(a, b []string) (onlyA, onlyB []string) {
	for len(a) > 0 || len(b) > 0 {
		switch {
		case len(b) == 0 || (len(a) > 0 && a[0] < b[0]):
			onlyA, a = append(onlyA, a[0]), a[1:]
		case len(a) == 0 || b[0] < a[0]:
			onlyB, b = append(onlyB, b[0]), b[1:]
		default:
			a, b = a[1:], b[1:]
		}
	}
	return onlyA, onlyB
}

// brief is a record line's id, task and direction, and the first 60 bytes of its first turn.
func brief(line string) string {
	var v struct {
		ID       string         `json:"id"`
		Task     string         `json:"task"`
		SrcLang  string         `json:"src_lang"`
		TgtLang  string         `json:"tgt_lang"`
		Messages []data.Message `json:"messages"`
	}
	json.Unmarshal([]byte(line), &v)
	var first string
	if len(v.Messages) > 0 {
		first = v.Messages[0].Content
	}
	return fmt.Sprintf("%s %s %s>%s %.60q", v.ID, v.Task, v.SrcLang, v.TgtLang, first)
}

// Two near-identical sentence pairs: the local builder keeps the first, the
// Beam build the one with the smaller select key; both drop one per
// direction and count it as dup_near.
func TestBeamNearDuplicates(t *testing.T) {
	dir := t.TempDir()
	tsv := write(t, filepath.Join(dir, "near.tsv"),
		"The committee will publish its final report on the new railway line next spring.\tLe comité publiera son rapport final sur la nouvelle ligne de chemin de fer au printemps prochain.\n"+
			"The committee will publish its final report on the new railway line next  spring!\tLe comité publiera son rapport final sur la nouvelle ligne de chemin de fer au printemps prochain.\n"+
			"Heavy snow closed the mountain pass for three days.\tDe fortes chutes de neige ont fermé le col pendant trois jours.\n")
	recipe := write(t, filepath.Join(dir, "recipe.yaml"), "seed: 3\nno_mix: true\nformats: [messages]\ninputs:\n  - kind: tsv\n    path: "+tsv+"\n    src: eng_Latn\n    tgt: fra_Latn\n")
	local, dist, lc, bc := buildBoth(t, recipe)
	if lc.Dropped[data.DropNearDup] != 2 {
		t.Fatalf("local counts %+v: want one near duplicate dropped per direction", lc)
	}
	if !sameCounts(lc, bc) {
		t.Errorf("counts: local %+v, Beam %+v", lc, bc)
	}
	if len(dist["messages"]) != len(local["messages"]) || len(dist["messages"]) != 4 {
		t.Errorf("Beam wrote %d records, local %d, want 4", len(dist["messages"]), len(local["messages"]))
	}
	committee := 0
	for _, l := range dist["messages"] {
		if strings.Contains(l, "The committee will publish") {
			committee++
		}
	}
	if committee != 2 {
		t.Errorf("Beam kept %d records of the near-duplicate pair, want one per direction", committee)
	}
}

func TestBeamRefusesMixing(t *testing.T) {
	dir := t.TempDir()
	tsv := write(t, filepath.Join(dir, "a.tsv"), "Hello there, friend.\tBonjour, mon ami.\n")
	r, err := data.LoadRecipe(write(t, filepath.Join(dir, "recipe.yaml"), "inputs:\n  - kind: tsv\n    path: "+tsv+"\n    src: eng_Latn\n    tgt: fra_Latn\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, s := beam.NewPipelineWithRoot()
	if err := Build(s, r, t.TempDir()); err == nil || !strings.Contains(err.Error(), "no_mix") {
		t.Fatalf("Build of a mixing recipe: err = %v, want a no_mix error", err)
	}
}

func TestBeamRefusesURLsAndUnknownOutputs(t *testing.T) {
	dir := t.TempDir()
	r, err := data.LoadRecipe(write(t, filepath.Join(dir, "recipe.yaml"), "no_mix: true\ninputs:\n  - kind: tsv\n    path: gs://bucket/a.tsv\n    src: eng_Latn\n    tgt: fra_Latn\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, s := beam.NewPipelineWithRoot()
	if err := Build(s, r, t.TempDir()); err == nil || !strings.Contains(err.Error(), "not URLs") {
		t.Fatalf("Build with a gs:// input: err = %v, want a URL error", err)
	}
	r.Inputs[0].Path = write(t, filepath.Join(dir, "a.tsv"), "Hello there, friend.\tBonjour, mon ami.\n")
	_, s = beam.NewPipelineWithRoot()
	if err := Build(s, r, "nosuchfs://bucket/out"); err == nil {
		t.Fatal("Build to an unregistered filesystem: no error")
	}
}

func TestBeamMisalignedMultiway(t *testing.T) {
	dir := t.TempDir()
	mw := filepath.Join(dir, "mw")
	if err := os.Mkdir(mw, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(mw, "eng_Latn.dev"), "One sentence here.\nAnother sentence here.\nA third one.\n")
	write(t, filepath.Join(mw, "fra_Latn.dev"), "Une phrase ici.\nUne autre phrase ici.\n")
	r, err := data.LoadRecipe(write(t, filepath.Join(dir, "recipe.yaml"), "no_mix: true\ninputs:\n  - kind: multiway\n    path: "+mw+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	if err := Build(s, r, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if err := ptest.Run(p); err == nil || !strings.Contains(err.Error(), "not line-aligned") {
		t.Fatalf("run over misaligned files: err = %v, want a line-alignment error", err)
	}
}
