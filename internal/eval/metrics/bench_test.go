package metrics

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkFloresBLEUChrFpp is the throughput job of BENCHMARKS.md: BLEU
// (13a) and chrF++ over all 204 FLORES-200 devtest files, each scored
// against itself rotated by one line. Reading the files is part of the job.
func BenchmarkFloresBLEUChrFpp(b *testing.B) {
	files, err := filepath.Glob(filepath.Join(sharedDir(b), "evaldata", "flores200", "devtest", "*"))
	if err != nil || len(files) != 204 {
		b.Fatalf("want 204 FLORES devtest files, found %d (%v)", len(files), err)
	}
	bleu, err := NewBLEU(BLEUOptions{})
	if err != nil {
		b.Fatal(err)
	}
	chrf, err := NewCHRF(CHRFOptions{WordOrder: 2})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var sum float64
	for b.Loop() {
		sum = 0
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
			refs := append(lines[1:len(lines):len(lines)], lines[0])
			segs, err := Segments(lines, [][]string{refs})
			if err != nil {
				b.Fatal(err)
			}
			bs, err := bleu.CorpusScore(ctx, segs)
			if err != nil {
				b.Fatal(err)
			}
			cs, err := chrf.CorpusScore(ctx, segs)
			if err != nil {
				b.Fatal(err)
			}
			sum += bs.Score + cs.Score
		}
	}
	b.ReportMetric(sum, "score-sum")
	b.Logf("score-sum %.4f", sum) // cross-check against the sacreBLEU driver
}
