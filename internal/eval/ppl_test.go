package eval

import (
	"context"
	"math"
	"os"
	"testing"

	"github.com/bayling-go/bayling/internal/engine"
	"github.com/bayling-go/bayling/internal/testenv"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

func loadStories(t testing.TB) *engine.Loaded {
	t.Helper()
	l, err := engine.Load(testenv.SharedPath(t, "fixtures", "gguf", "stories260K.llamacpp-c392e50.gguf"), engine.LoadOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

// llama-perplexity -c 128 on the first 4000 bytes of eng_Latn.devtest; see
// testdata/README.md for the command.
var llamaCppRunning = []float64{78.9691, 54.8246, 60.6725, 55.1071, 53.1620, 61.9747, 60.2562, 61.1124, 58.3449, 58.9466, 55.9348, 58.0965, 58.0173, 60.4493, 62.8252, 67.6684, 63.2723, 62.5497, 61.9671}

const llamaCppFinal, llamaCppErr = 61.9671, 5.67701

func TestPerplexityMatchesLlamaCpp(t *testing.T) {
	l := loadStories(t)
	data, err := os.ReadFile(testenv.SharedPath(t, "evaldata", "flores200", "devtest", "eng_Latn.devtest"))
	if err != nil {
		t.Fatal(err)
	}
	tok := l.Checkpoint.Tokenizer
	ids := tok.Encode(string(data[:4000]), tokenizer.EncodeOptions{AddBOS: tokenizer.AddBOSByDefault(tok)})
	var running []float64
	r, err := Perplexity(context.Background(), l.Model, ids, PerplexityOptions{
		Ctx: 128, BOS: tok.BOS(),
		Chunk: func(i int, ppl float64) { running = append(running, ppl) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(running) != len(llamaCppRunning) || r.Chunks != 19 || r.Count != 19*63 {
		t.Fatalf("%d chunks (%d running values), %d tokens; llama.cpp scored 19 chunks of 63", r.Chunks, len(running), r.Count)
	}
	for i, want := range llamaCppRunning {
		if rel := math.Abs(running[i]-want) / want; rel > 1e-3 {
			t.Errorf("chunk %d: running ppl %.4f, llama.cpp %.4f (rel %.2g)", i+1, running[i], want, rel)
		}
	}
	if rel := math.Abs(r.PPL-llamaCppFinal) / llamaCppFinal; rel > 1e-3 {
		t.Errorf("final ppl %.4f, llama.cpp %.4f", r.PPL, llamaCppFinal)
	}
	if rel := math.Abs(r.Err-llamaCppErr) / llamaCppErr; rel > 1e-2 {
		t.Errorf("± %.5f, llama.cpp %.5f", r.Err, llamaCppErr)
	}
	t.Logf("ppl %.4f ± %.5f (llama.cpp %.4f ± %.5f)", r.PPL, r.Err, llamaCppFinal, llamaCppErr)
}

func TestPerplexityRejectsShortText(t *testing.T) {
	l := loadStories(t)
	if _, err := Perplexity(context.Background(), l.Model, make([]int, 255), PerplexityOptions{Ctx: 128, BOS: 1}); err == nil {
		t.Fatal("255 tokens with -c 128 accepted; llama.cpp needs 2×128")
	}
}
