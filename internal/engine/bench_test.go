package engine

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bayling-go/bayling/internal/kernels"
	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/tensor"
	"github.com/bayling-go/bayling/internal/testenv"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

// tinyLlamaConfig is TinyLlama-1.1B's shape.
func tinyLlamaConfig() llama.Config {
	return llama.Config{
		HiddenSize: 2048, IntermediateSize: 5632, NumHiddenLayers: 22,
		NumAttentionHeads: 32, NumKeyValueHeads: 4, RMSNormEps: 1e-5, RopeTheta: 10000,
		VocabSize: 32000, MaxPositionEmbeddings: 2048, BOSTokenID: 1, EOSTokenID: llama.TokenIDs{2},
	}
}

// randomQ4 is a rows×cols Q4_0 matrix of random 4-bit values. The blocks
// of one row pattern are made by tensor.Quantize from random floats; every
// row gets its own copy with its nibbles permuted, so no two layers share
// memory (which would flatter a memory-bound single stream).
func randomQ4(rng *rand.Rand, rows, cols int) llama.Mat {
	rb, _ := tensor.Q4_0.RowBytes(cols)
	src := make([]float32, cols)
	for i := range src {
		src[i] = float32(rng.NormFloat64() * 0.02)
	}
	row := make([]byte, rb)
	if err := tensor.Quantize(row, src, tensor.Q4_0); err != nil {
		panic(err)
	}
	data := make([]byte, rows*rb)
	for r := range rows {
		dst := data[r*rb : (r+1)*rb]
		copy(dst, row)
		for b := 0; b < len(dst); b += 18 { // fp16 scale, then 16 bytes of nibbles
			binary.LittleEndian.PutUint64(dst[b+2:], rng.Uint64())
			binary.LittleEndian.PutUint64(dst[b+10:], rng.Uint64())
		}
	}
	return llama.Mat{Type: tensor.Q4_0, Rows: rows, Cols: cols, Data: data}
}

func ones(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

// tinyLlamaQ4 is a TinyLlama-shaped model with random Q4_0 weights.
func tinyLlamaQ4(tb testing.TB) *llama.Model {
	c := tinyLlamaConfig()
	rng := rand.New(rand.NewPCG(1, 2))
	dim, kvd, hid := c.HiddenSize, c.KVDim(), c.IntermediateSize
	w := &llama.Weights{TokenEmbd: randomQ4(rng, c.VocabSize, dim), OutputNorm: ones(dim), Output: randomQ4(rng, c.VocabSize, dim)}
	for range c.NumHiddenLayers {
		w.Layers = append(w.Layers, llama.Layer{
			AttnNorm: ones(dim), FFNNorm: ones(dim),
			Wq: randomQ4(rng, dim, dim), Wk: randomQ4(rng, kvd, dim), Wv: randomQ4(rng, kvd, dim), Wo: randomQ4(rng, dim, dim),
			Gate: randomQ4(rng, hid, dim), Up: randomQ4(rng, hid, dim), Down: randomQ4(rng, dim, hid),
		})
	}
	m, err := llama.New(c, w)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

var (
	benchOnce  sync.Once
	benchModel *llama.Model
	benchTok   tokenizer.Tokenizer
)

// BenchmarkServeThroughput measures generated tokens per second across
// concurrent greedy streams through the continuous-batching engine on the
// TinyLlama-shaped Q4_0 model (prefill of a benchPrompt-token prompt
// included). The acceptance bar is 8 streams >= 3x the tokens/s of one.
func BenchmarkServeThroughput(b *testing.B) {
	tokPath := testenv.SharedPath(b, "fixtures", "llama2", "tokenizer.model")
	benchOnce.Do(func() {
		benchModel = tinyLlamaQ4(b)
		var err error
		if benchTok, err = tokenizer.Load(tokPath); err != nil {
			b.Fatal(err)
		}
	})
	pool := kernels.NewPool(0)
	defer pool.Close()
	benchModel.SetPool(pool)
	for _, streams := range []int{1, 8} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) {
			e, err := New(benchModel, benchTok, nil, Options{Context: 64, Slots: 8, Queue: 16})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			const gen = 64
			runStreams(b, e, streams, 4) // warm-up: scratch buffers sized
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			tokens := 0
			for range b.N {
				tokens += runStreams(b, e, streams, gen)
			}
			b.ReportMetric(float64(tokens)/time.Since(start).Seconds(), "tok/s")
			// On a shared machine wall time follows the neighbours' load;
			// tokens per CPU-second of this process does much less.
			b.ReportMetric(float64(tokens)/(cpuTime()-cpu0).Seconds(), "tok/cpu-s")
			b.ReportMetric(float64(e.Stats().DecodeRows.Load())/float64(e.Stats().Steps.Load()), "seqs/step")
		})
	}
}

// cpuTime is the user+system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runStreams runs n concurrent greedy requests of gen tokens each and
// returns the tokens generated.
func runStreams(b *testing.B, e *Engine, n, gen int) int {
	var wg sync.WaitGroup
	counts := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prompt := make([]int, benchPrompt)
			prompt[0] = 1
			for j := 1; j < len(prompt); j++ {
				prompt[j] = 300 + 97*i + 13*j
			}
			s, err := e.Submit(context.Background(), Request{Prompt: prompt, MaxTokens: gen})
			if err != nil {
				b.Error(err)
				return
			}
			_, d, err := s.Collect(context.Background())
			if err != nil {
				b.Error(err)
			}
			counts[i] = d.Usage.CompletionTokens
		}()
	}
	wg.Wait()
	total := 0
	for _, c := range counts {
		total += c
	}
	return total
}

// benchPrompt is short so the figure is mostly decoding: a long prefill
// is compute-bound for one stream and eight alike.
const benchPrompt = 4
