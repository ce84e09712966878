package eval

import (
	"context"
	"fmt"
	"testing"

	"github.com/bayling-go/bayling/internal/engine"
	"github.com/bayling-go/bayling/internal/lang"
	"github.com/bayling-go/bayling/internal/testenv"
)

// BenchmarkTranslateRun is one eng→deu + deu→eng run over the first 16
// FLORES devtest segments with stories260K (llama2.c file, 512 context),
// greedy, 32 new tokens at most, at two batch sizes; it reports segments/s.
func BenchmarkTranslateRun(b *testing.B) {
	l, err := engine.Load(testenv.SharedPath(b, "fixtures", "stories260K", "stories260K.bin"), engine.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	p, err := engine.NewPrompter("bayling-llama2", l.Info, l.Checkpoint.Tokenizer)
	if err != nil {
		b.Fatal(err)
	}
	tr := func(ctx context.Context, from, to lang.Language, segs []string) ([]string, error) {
		x := engine.Translator{Model: l.Model, Tokenizer: l.Checkpoint.Tokenizer, Prompter: p, StopIDs: l.Checkpoint.Stop,
			From: from, To: to, PromptLang: engine.PromptAuto, Beams: 1, MaxTokens: 32}
		return x.Translate(ctx, segs)
	}
	data := testenv.SharedPath(b, "evaldata", "flores200")
	for _, batch := range []int{1, 8} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			segs := 0
			for b.Loop() {
				rep, err := RunTranslate(context.Background(), TranslateOptions{Data: data, Split: "devtest",
					Pairs: "eng_Latn-deu_Latn,deu_Latn-eng_Latn", Limit: 16, Batch: batch, Out: b.TempDir(), Translate: tr})
				if err != nil {
					b.Fatal(err)
				}
				segs += rep.Translated
			}
			b.ReportMetric(float64(segs)/b.Elapsed().Seconds(), "segments/s")
		})
	}
}
