package train

import (
	"fmt"
	"syscall"
	"testing"

	"github.com/bayling-go/bayling/internal/kernels"
	"github.com/bayling-go/bayling/internal/model/llama"
)

// benchStep times one full training step (forward, backward, AdamW) on
// random weights and tokens; tokens/s is reported as a metric.
func benchStep(b *testing.B, c llama.Config, batch, seq, threads int) {
	p, err := NewParams(c)
	if err != nil {
		b.Fatal(err)
	}
	p.InitRandom(1, 0.02)
	pool := kernels.NewPool(threads)
	defer pool.Close()
	n, err := NewNet(p, batch, seq, pool)
	if err != nil {
		b.Fatal(err)
	}
	bt := NewBatch(batch, seq)
	r := NewRNG(3)
	for i := range bt.Tokens {
		bt.Tokens[i] = r.Intn(c.VocabSize)
		bt.Pos[i] = i % seq
		bt.Targets[i] = r.Intn(c.VocabSize)
	}
	opt := NewAdamW(p.List, 0.9, 0.95, 1e-8, 0.1)
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		p.ZeroGrad()
		if _, _, err := n.Step(bt, 1/float32(len(bt.Tokens))); err != nil {
			b.Fatal(err)
		}
		ClipGrad(p.List, 1)
		opt.Update(p.List, 1e-4)
	}
	b.ReportMetric(float64(b.N*batch*seq)/b.Elapsed().Seconds(), "tokens/s")
	// Tokens per CPU-second of this process: on a shared machine the wall
	// rate measures the neighbours; this one mostly does not.
	b.ReportMetric(float64(b.N*batch*seq)/(cpuSeconds()-cpu0), "tokens/cpu-s")
}

// stories15M is llama2.c's stories15M shape (the BENCHMARKS.md config).
func stories15M() llama.Config {
	return llama.Config{HiddenSize: 288, IntermediateSize: 768, NumHiddenLayers: 6, NumAttentionHeads: 6,
		RMSNormEps: 1e-5, VocabSize: 32000, MaxPositionEmbeddings: 256, TieWordEmbeddings: true, BOSTokenID: 1, EOSTokenID: llama.TokenIDs{2}}
}

func stories260K() llama.Config {
	return llama.Config{HiddenSize: 64, IntermediateSize: 172, NumHiddenLayers: 5, NumAttentionHeads: 8, NumKeyValueHeads: 4,
		RMSNormEps: 1e-5, VocabSize: 512, MaxPositionEmbeddings: 512, TieWordEmbeddings: true, BOSTokenID: 1, EOSTokenID: llama.TokenIDs{2}}
}

func BenchmarkTrainStep(b *testing.B) {
	for _, th := range []int{1, 2} {
		b.Run(fmt.Sprintf("stories15M-8x256-t%d", th), func(b *testing.B) { benchStep(b, stories15M(), 8, 256, th) })
		b.Run(fmt.Sprintf("stories260K-4x512-t%d", th), func(b *testing.B) { benchStep(b, stories260K(), 4, 512, th) })
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}
