package lid

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPredict measures single-goroutine prediction on FLORES devtest
// sentences with the 18-language test model.
func BenchmarkPredict(b *testing.B) {
	m := trainSubset(b)
	ex := devtest(b, subset)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Predict(ex[i%len(ex)].Text)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sentences/s")
}

// BenchmarkPredictParallel uses every CPU, as the data builder does.
func BenchmarkPredictParallel(b *testing.B) {
	m := trainSubset(b)
	ex := devtest(b, subset)
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Predict(ex[int(next.Add(1))%len(ex)].Text)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sentences/s")
}

// BenchmarkFLORES200 is the full run recorded in BENCHMARKS.md: train on
// all 204 languages of FLORES-200 dev with the default options, score on
// devtest. It takes minutes, so it runs only with LID_FULL=1.
func BenchmarkFLORES200(b *testing.B) {
	if os.Getenv("LID_FULL") == "" {
		b.Skip("set LID_FULL=1 to train on all of FLORES-200 dev")
	}
	root := filepath.Join(sharedDir(b), "evaldata", "flores200")
	for i := 0; i < b.N; i++ {
		start := time.Now()
		m, err := Train(context.Background(), filepath.Join(root, "dev"), TrainOptions{
			Threads: runtime.GOMAXPROCS(0), Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		})
		if err != nil {
			b.Fatal(err)
		}
		trained := time.Since(start)
		ex, err := ReadDir(filepath.Join(root, "devtest"), nil, 0)
		if err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		r := Evaluate(m, ex)
		evalTime := time.Since(start)
		b.ReportMetric(trained.Seconds(), "train-s")
		b.ReportMetric(float64(r.N)/evalTime.Seconds(), "sentences/s")
		b.ReportMetric(r.MacroF1, "macro-F1")
		b.ReportMetric(r.Accuracy, "accuracy")
		b.Logf("macro-F1 %.4f accuracy %.4f; worst %v; confusions %v", r.MacroF1, r.Accuracy, r.Worst(30), r.TopConfusions(40))
		for _, l := range r.Worst(40) {
			b.Logf("  %s F1 %.4f P %.4f R %.4f", l, r.PerLabel[l].F1, r.PerLabel[l].Precision, r.PerLabel[l].Recall)
		}
	}
}
