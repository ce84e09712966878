package bench

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/checkpoint"
	"github.com/bayling-go/bayling/internal/gguf"
	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/testenv"
)

func TestMeanStddev(t *testing.T) {
	// Sample standard deviation of 2,4,4,4,5,5,7,9 is sqrt(32/7).
	m, sd := MeanStddev([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	if m != 5 || math.Abs(sd-math.Sqrt(32.0/7)) > 1e-12 {
		t.Fatalf("mean %v sd %v, want 5 and %v", m, sd, math.Sqrt(32.0/7))
	}
	if m, sd := MeanStddev([]float64{3}); m != 3 || sd != 0 {
		t.Fatalf("one sample: %v ± %v", m, sd)
	}
}

func TestParseVmHWM(t *testing.T) {
	n, err := parseVmHWM("Name:\tx\nVmPeak:\t  999 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1 kB\n")
	if err != nil || n != 2048*1024 {
		t.Fatalf("got %d, %v", n, err)
	}
	if _, err := parseVmHWM("VmRSS: 1 kB\n"); err == nil || !strings.Contains(err.Error(), "VmHWM") {
		t.Fatalf("missing line: %v", err)
	}
	if _, err := parseVmHWM("VmHWM: lots kB\n"); err == nil {
		t.Fatal("bad number accepted")
	}
	if n, err := PeakRSS(); err != nil || n <= 0 {
		t.Fatalf("PeakRSS: %d, %v", n, err)
	}
}

func loadStories(t *testing.T) (*checkpoint.Model, string) {
	path := testenv.SharedPath(t, "fixtures", "gguf", "stories260K.llamacpp-c392e50.gguf")
	ck, err := checkpoint.Load(path, checkpoint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ck.Close() })
	return ck, path
}

func TestRun(t *testing.T) {
	ck, _ := loadStories(t)
	m, err := llama.New(ck.Config, ck.Weights)
	if err != nil {
		t.Fatal(err)
	}
	st, err := m.NewState(32)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), st, ck.Config.VocabSize, Options{Prompt: 32, Gen: 8, Reps: 3, BOS: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		name   string
		s      Stats
		tokens int
	}{{"pp", res.PP, 32}, {"tg", res.TG, 8}} {
		if s.s.Tokens != s.tokens || len(s.s.Samples) != 3 || s.s.Mean <= 0 {
			t.Fatalf("%s: %+v", s.name, s.s)
		}
	}
	// Every timed run starts from an empty cache: after tg the state
	// holds exactly one run's tokens.
	if st.Pos() != 8 {
		t.Fatalf("state at position %d after tg8, want 8", st.Pos())
	}
	if _, err := Run(context.Background(), st, ck.Config.VocabSize, Options{Prompt: 33, Reps: 1, BOS: -1}); err == nil {
		t.Fatal("prompt longer than the context accepted")
	}
	if _, err := Run(context.Background(), st, ck.Config.VocabSize, Options{Prompt: 4, Reps: 0}); err == nil {
		t.Fatal("zero repetitions accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, st, ck.Config.VocabSize, Options{Gen: 4, Reps: 2}); err == nil {
		t.Fatal("cancelled run returned no error")
	}
}

// BytesPerToken counted from the loaded weights must equal the GGUF's
// tensor bytes as its header lists them, minus all embedding rows but one.
func TestBytesPerTokenMatchesFile(t *testing.T) {
	ck, path := loadStories(t)
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var total, params int64
	for _, ti := range f.Tensors {
		total += ti.NumBytes()
		params += ti.NumElements()
		if ti.Name == "token_embd.weight" {
			rows := int64(ti.Dims[1])
			total -= ti.NumBytes() / rows * (rows - 1)
		}
	}
	if _, ok := f.TensorInfo("output.weight"); !ok {
		// Tied: the output product reads the whole embedding matrix.
		e, _ := f.TensorInfo("token_embd.weight")
		total += e.NumBytes() / int64(e.Dims[1]) * int64(e.Dims[1]-1)
	}
	if got := BytesPerToken(ck.Weights); got != total {
		t.Fatalf("BytesPerToken %d, file says %d", got, total)
	}
	if got := Params(ck.Weights); got != params {
		t.Fatalf("Params %d, file says %d", got, params)
	}
}

func TestKVBytes(t *testing.T) {
	c := llama.Config{HiddenSize: 2048, NumAttentionHeads: 32, NumKeyValueHeads: 4, NumHiddenLayers: 22}
	// TinyLlama: 22 layers × (K+V) × 256 × 512 positions × 2 bytes = 11 MiB.
	if got := KVBytes(c, 512, 2); got != 11*1<<20 {
		t.Fatalf("KVBytes %d", got)
	}
}
