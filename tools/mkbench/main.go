// Command mkbench writes a random-weight Hugging Face Llama directory of a
// real model's shape, for whole-model speed comparisons (docs/bench.md).
// Weights are uniform random, so the model is useless for text but costs
// exactly what the real one does to run. Generated models are large: write
// them outside the repository.
//
//	go run ./tools/mkbench -shape tinyllama -tokenizer ../shared/fixtures/llama2/tokenizer.model -out DIR
//	go run ./tools/mkbench -shape llama3.2-1b -tokenizer ../shared/fixtures/npm-tokenizers/llama3 -out DIR
package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/bayling-go/bayling/internal/checkpoint"
	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/tensor"
)

// shapes are the published configs of the models the benchmark mimics.
var shapes = map[string]llama.Config{
	// TinyLlama/TinyLlama-1.1B-Chat-v1.0 (Llama-2 vocabulary).
	"tinyllama": {
		HiddenSize: 2048, IntermediateSize: 5632, NumHiddenLayers: 22,
		NumAttentionHeads: 32, NumKeyValueHeads: 4, RMSNormEps: 1e-5,
		RopeTheta: 10000, VocabSize: 32000, MaxPositionEmbeddings: 2048,
		BOSTokenID: 1, EOSTokenID: llama.TokenIDs{2},
	},
	// meta-llama/Llama-3.2-1B.
	"llama3.2-1b": {
		HiddenSize: 2048, IntermediateSize: 8192, NumHiddenLayers: 16,
		NumAttentionHeads: 32, NumKeyValueHeads: 8, HeadDim: 64, RMSNormEps: 1e-5,
		RopeTheta: 500000, VocabSize: 128256, MaxPositionEmbeddings: 131072,
		TieWordEmbeddings: true, BOSTokenID: 128000, EOSTokenID: llama.TokenIDs{128001},
		RopeScaling: &llama.RopeScaling{
			RopeType: "llama3", Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4,
			OriginalMaxPositionEmbeddings: 8192,
		},
	},
}

func main() {
	shape := flag.String("shape", "", "model shape: tinyllama or llama3.2-1b")
	out := flag.String("out", "", "output directory (created)")
	tok := flag.String("tokenizer", "", "tokenizer.model file, or a directory whose tokenizer.json and tokenizer_config.json are copied")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if err := run(*shape, *out, *tok, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "mkbench:", err)
		os.Exit(1)
	}
}

func run(shape, out, tok string, seed uint64) error {
	cfg, ok := shapes[shape]
	if !ok {
		return fmt.Errorf("-shape %q: want tinyllama or llama3.2-1b", shape)
	}
	if out == "" || tok == "" {
		return fmt.Errorf("-out and -tokenizer are required")
	}
	rng := rand.New(rand.NewPCG(seed, 0x6d6b62656e6368))
	err := checkpoint.SaveHF(out, cfg, checkpoint.HFWriteOptions{DType: tensor.F16}, func(name string) ([]float32, error) {
		shape, err := checkpoint.TensorShape(&cfg, name)
		if err != nil {
			return nil, err
		}
		slog.Info("tensor", "name", name, "shape", shape)
		return randomTensor(rng, name, shape, cfg.TieWordEmbeddings), nil
	})
	if err != nil {
		return err
	}
	return copyTokenizer(out, tok)
}

// randomTensor fills norm weights with 1 and matrices with uniform values
// of standard deviation 1/sqrt(cols), so activations keep their scale from
// layer to layer and the logits are spread out (greedy picks are not near
// ties, which keeps implementations comparable token by token).
func randomTensor(rng *rand.Rand, name string, shape []int, tied bool) []float32 {
	v := make([]float32, tensor.NumElements(shape))
	if len(shape) == 1 {
		for i := range v {
			v[i] = 1
		}
		return v
	}
	a := float32(math.Sqrt(3 / float64(shape[len(shape)-1])))
	if name == "token_embd.weight" && !tied {
		// Rows are normalised before use; an input-only embedding can be
		// large. A tied one is also the output matrix and keeps the small
		// scale, or every token would predict itself.
		a = 1
	}
	for i := range v {
		v[i] = a * (2*rng.Float32() - 1)
	}
	return v
}

// copyTokenizer puts the tokenizer files into dir: a SentencePiece
// tokenizer.model, or tokenizer.json (+ tokenizer_config.json) from a
// directory.
func copyTokenizer(dir, src string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return copyFile(filepath.Join(dir, filepath.Base(src)), src)
	}
	for _, name := range []string{"tokenizer.json", "tokenizer_config.json"} {
		if err := copyFile(filepath.Join(dir, name), filepath.Join(src, name)); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}
