package tokenizer

import (
	"testing"
	"time"
)

// benchLines is every 20th line of the 204 FLORES-200 devtest files
// (about 2 MB in 200 languages).
func benchLines(b *testing.B) ([]string, int64) {
	_, lines := floresLines(b, 20)
	var all []string
	var n int64
	for _, f := range lines {
		for _, l := range f {
			all = append(all, l)
			n += int64(len(l))
		}
	}
	return all, n
}

func benchEncode(b *testing.B, enc func(string) []int) {
	lines, n := benchLines(b)
	b.SetBytes(n)
	b.ReportAllocs()
	b.ResetTimer()
	c0 := processCPU()
	for b.Loop() {
		for _, l := range lines {
			enc(l)
		}
	}
	reportCPU(b, n, processCPU()-c0)
}

// reportCPU adds MB per CPU-second, which a loaded machine disturbs less
// than wall-clock MB/s.
func reportCPU(b *testing.B, bytesPerOp int64, cpu time.Duration) {
	if cpu > 0 {
		b.ReportMetric(float64(bytesPerOp)*float64(b.N)/cpu.Seconds()/1e6, "MB/cpu-s")
	}
}

// BenchmarkEncode measures Encode throughput (MB/s of UTF-8 input) per
// tokenizer, and tiktoken-go on the same lines for comparison.
func BenchmarkEncode(b *testing.B) {
	for _, c := range []struct{ name, path string }{
		{"Llama2SPM", "llama2/tokenizer.model"},
		{"Llama2C", "llama2/tokenizer.bin"},
		{"Llama3Tiktoken", "llama3/tokenizer.model"},
		{"Llama3HFJSON", "npm-tokenizers/llama3/tokenizer.json"},
		{"Qwen2HFJSON", "npm-tokenizers/qwen3/tokenizer.json"},
	} {
		b.Run(c.name, func(b *testing.B) {
			tok := load(b, fixture(b, c.path))
			benchEncode(b, func(s string) []int { return tok.Encode(s, EncodeOptions{}) })
		})
	}
	b.Run("TiktokenGoLlama3", func(b *testing.B) {
		ref := newTiktokenGo(b, fixture(b, "llama3/tokenizer.model"))
		benchEncode(b, ref.EncodeOrdinary)
	})
}

// BenchmarkDecode measures Decode throughput (MB/s of output text).
func BenchmarkDecode(b *testing.B) {
	for _, c := range []struct{ name, path string }{
		{"Llama2SPM", "llama2/tokenizer.model"},
		{"Llama3Tiktoken", "llama3/tokenizer.model"},
	} {
		b.Run(c.name, func(b *testing.B) {
			tok := load(b, fixture(b, c.path))
			lines, n := benchLines(b)
			ids := make([][]int, len(lines))
			for i, l := range lines {
				ids[i] = tok.Encode(l, EncodeOptions{})
			}
			b.SetBytes(n)
			b.ReportAllocs()
			b.ResetTimer()
			c0 := processCPU()
			for b.Loop() {
				for _, x := range ids {
					tok.Decode(x)
				}
			}
			reportCPU(b, n, processCPU()-c0)
		})
	}
}
