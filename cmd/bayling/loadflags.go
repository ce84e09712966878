package main

import (
	"github.com/spf13/pflag"

	"github.com/bayling-go/bayling/internal/engine"
)

// loadFlags are the flags of every command that runs a model through the
// engine: which model, its tokenizer, on-the-fly quantization and threads.
type loadFlags struct {
	model, tokenizer, quantize string
	threads                    int
}

func (l *loadFlags) register(f *pflag.FlagSet) {
	f.StringVarP(&l.model, "model", "m", "", "model: .gguf, Hugging Face directory, llama2.c .bin, or ORG/NAME[@REV] from the HF cache (required)")
	f.StringVar(&l.tokenizer, "tokenizer", "", "tokenizer file (default: the model's own)")
	f.StringVar(&l.quantize, "quantize", "", "quantize a Hugging Face directory's matrices while loading: q8_0, q4_0, q4_k, q6_k")
	f.IntVarP(&l.threads, "threads", "t", 0, "threads; 0 = all cores")
}

func (l *loadFlags) load() (*engine.Loaded, error) {
	return engine.Load(l.model, engine.LoadOptions{Tokenizer: l.tokenizer, Quantize: l.quantize, Threads: l.threads})
}
