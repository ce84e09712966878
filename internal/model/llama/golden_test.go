package llama_test

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/checkpoint"
	"github.com/bayling-go/bayling/internal/gguf"
	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/sample"
	"github.com/bayling-go/bayling/internal/testenv"
)

func sharedDir(t testing.TB) string { return testenv.Shared(t) }

func loadStories(t testing.TB) *llama.Model { return loadStoriesFrom(t, "bin") }

// loadStoriesFrom loads stories260K from the llama2.c .bin or from llama.cpp's
// GGUF conversion of it. The GGUF's context_length is the converter's
// default 128, not the model's 512, so it is restored for the goldens.
func loadStoriesFrom(t testing.TB, format string) *llama.Model {
	t.Helper()
	var (
		cfg llama.Config
		w   *llama.Weights
		err error
	)
	switch format {
	case "bin":
		cfg, w, err = checkpoint.LoadLlama2C(filepath.Join(sharedDir(t), "fixtures", "stories260K", "stories260K.bin"))
	case "gguf":
		var f *gguf.File
		f, err = gguf.Open(filepath.Join(sharedDir(t), "fixtures", "gguf", "stories260K.llamacpp-c392e50.gguf"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		cfg, w, err = checkpoint.GGUFWeights(f)
		cfg.MaxPositionEmbeddings = 512
	}
	if err != nil {
		t.Fatal(err)
	}
	m, err := llama.New(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type goldenIDs struct {
	PromptIDs    []int `json:"prompt_ids"`
	IDs          []int `json:"ids"`
	PositionsRun int   `json:"positions_run"`
}

func readGolden(t testing.TB, name string) goldenIDs {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedDir(t), "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	var g goldenIDs
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return g
}

// readLogits parses a logits16 file: "pos P token T" then one line of floats.
func readLogits(t testing.TB, name string) (tokens []int, logits [][]float32) {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedDir(t), "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var pos, tok int
		if _, err := fmtSscanf(sc.Text(), &pos, &tok); err != nil {
			t.Fatalf("%s: %q: %v", name, sc.Text(), err)
		}
		if pos != len(tokens) || !sc.Scan() {
			t.Fatalf("%s: bad layout at pos %d", name, pos)
		}
		var row []float32
		for _, s := range strings.Fields(sc.Text()) {
			v, err := strconv.ParseFloat(s, 32)
			if err != nil {
				t.Fatal(err)
			}
			row = append(row, float32(v))
		}
		tokens = append(tokens, tok)
		logits = append(logits, row)
	}
	return tokens, logits
}

func fmtSscanf(s string, pos, tok *int) (int, error) {
	f := strings.Fields(s)
	if len(f) != 4 || f[0] != "pos" || f[2] != "token" {
		return 0, strconv.ErrSyntax
	}
	var err error
	if *pos, err = strconv.Atoi(f[1]); err != nil {
		return 0, err
	}
	*tok, err = strconv.Atoi(f[3])
	return 2, err
}

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

const logitTol = 1e-4

func TestLogitsMatchRunC(t *testing.T) {
	for _, format := range []string{"bin", "gguf"} {
		t.Run(format, func(t *testing.T) { testLogits(t, loadStoriesFrom(t, format)) })
	}
}

func testLogits(t *testing.T, m *llama.Model) {
	tokens, want := readLogits(t, "stories260K_t0_n64_once.logits16.txt")
	if len(tokens) != 16 {
		t.Fatalf("golden has %d positions, want 16", len(tokens))
	}
	// One token at a time, as run.c does.
	s, err := m.NewState(0)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for p, tok := range tokens {
		got, err := s.Forward([]int{tok})
		if err != nil {
			t.Fatal(err)
		}
		d := maxDiff(got, want[p])
		worst = max(worst, d)
		if d > logitTol {
			t.Errorf("pos %d: max |logit diff| %g > %g", p, d, logitTol)
		}
	}
	t.Logf("token by token: max |logit diff| over 16x512 = %g", worst)

	// The whole prompt in batches of several sizes must agree too.
	for _, batch := range []int{16, 5, 3} {
		s, _ := m.NewState(0)
		s.SetMaxBatch(batch)
		all, err := s.ForwardAll(tokens, nil)
		if err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for p := range tokens {
			worst = max(worst, maxDiff(all[p*512:(p+1)*512], want[p]))
		}
		if worst > logitTol {
			t.Errorf("batch %d: max |logit diff| %g > %g", batch, worst, logitTol)
		}
		t.Logf("ForwardAll batch %d: max |logit diff| = %g", batch, worst)
	}
}

// generate mirrors run.c's generate(): the prompt is prefilled, then one
// token is sampled per position until steps positions ran or BOS comes.
func generate(t testing.TB, m *llama.Model, prompt []int, steps int, sp *sample.Sampler) []int {
	t.Helper()
	s, err := m.NewState(0)
	if err != nil {
		t.Fatal(err)
	}
	ids := append([]int(nil), prompt...)
	logits, err := s.Forward(prompt)
	if err != nil {
		t.Fatal(err)
	}
	for {
		next := sp.Sample(logits, ids)
		ids = append(ids, next)
		if next == 1 || s.Pos() == steps {
			return ids
		}
		if logits, err = s.Forward([]int{next}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGoldenIDs(t *testing.T) {
	for _, format := range []string{"bin", "gguf"} {
		t.Run(format, func(t *testing.T) { testGoldenIDs(t, loadStoriesFrom(t, format)) })
	}
}

func testGoldenIDs(t *testing.T, m *llama.Model) {
	cases := []struct {
		file  string
		steps int
		p     sample.Params
	}{
		{"stories260K_t0_n200.ids.json", 200, sample.Params{TopP: 0.9, Seed: 1}},
		{"stories260K_t0_n256.ids.json", 256, sample.Params{TopP: 0.9, Seed: 1}},
		{"stories260K_t0_n64_once.ids.json", 64, sample.Params{TopP: 0.9, Seed: 1}},
		{"stories260K_t0_n48_bytefallback.ids.json", 48, sample.Params{TopP: 0.9, Seed: 1}},
		{"stories260K_t1_p0.9_s133742.ids.json", 256, sample.Params{Temperature: 1, TopP: 0.9, Seed: 133742}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			g := readGolden(t, c.file)
			sp, err := sample.New(c.p, 512)
			if err != nil {
				t.Fatal(err)
			}
			got := generate(t, m, g.PromptIDs, c.steps, sp)
			if !equalInts(got, g.IDs) {
				t.Fatalf("ids differ at %d\n got %v\nwant %v", firstDiff(got, g.IDs), got, g.IDs)
			}
			t.Logf("%d ids identical (%d prompt)", len(got), len(g.PromptIDs))
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func firstDiff(a, b []int) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
