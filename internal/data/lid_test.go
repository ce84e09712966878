package data

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/lid"
	"github.com/bayling-go/bayling/internal/testenv"
)

// A line whose "French" side is German is dropped by the LID filter and
// counted; true French lines pass.
func TestLIDFilterDropsMislabelledText(t *testing.T) {
	dev := testenv.SharedPath(t, "evaldata", "flores200", "dev")
	ex, err := lid.ReadDir(dev, []string{"eng_Latn", "fra_Latn", "deu_Latn", "spa_Latn"}, 300)
	if err != nil {
		t.Fatal(err)
	}
	model, err := lid.TrainExamples(context.Background(), ex, lid.TrainOptions{Epochs: 3, Buckets: 1 << 16, Dim: 16})
	if err != nil {
		t.Fatal(err)
	}
	fra, _ := os.ReadFile(filepath.Join(dev, "fra_Latn.dev"))
	deu, _ := os.ReadFile(filepath.Join(dev, "deu_Latn.dev"))
	eng, _ := os.ReadFile(filepath.Join(dev, "eng_Latn.dev"))
	f, d, e := strings.Split(string(fra), "\n"), strings.Split(string(deu), "\n"), strings.Split(string(eng), "\n")
	dir := t.TempDir()
	// Lines 900+ were not used for training.
	tsv := f[900] + "\t" + e[900] + "\n" + d[901] + "\t" + e[901] + "\n" + f[902] + "\t" + e[902] + "\n"
	writeFile(t, filepath.Join(dir, "b.tsv"), tsv)
	recipe := writeFile(t, filepath.Join(dir, "r.yaml"), "seed: 1\nno_mix: true\nhubs: [eng_Latn]\nfilters: {lid_top_k: 1}\ninputs:\n  - kind: tsv\n    path: b.tsv\n    src: fra_Latn\n    tgt: eng_Latn\n")
	r, err := LoadRecipe(recipe)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Build(context.Background(), r, filepath.Join(dir, "out"), Options{LID: model})
	if err != nil {
		t.Fatal(err)
	}
	// 3 lines x 2 directions; the German line fails in both.
	if m.Counts.In != 6 || m.Counts.Dropped[DropLID] != 2 || m.Counts.Out != 4 {
		t.Fatalf("counts %+v", m.Counts)
	}
}
