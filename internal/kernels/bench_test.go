package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bayling-go/bayling/internal/tensor"
)

// fastRandMat fills a big matrix by tiling a small random one: generating
// hundreds of MB byte by byte would dominate the benchmark's setup.
func fastRandMat(rng *rand.Rand, t tensor.DType, rows, cols int) Mat {
	tile := randMat(rng, t, 16, cols)
	data := make([]byte, 0, len(tile.Data)/16*rows)
	for len(data) < cap(data) {
		data = append(data, tile.Data[:min(len(tile.Data), cap(data)-len(data))]...)
	}
	return Mat{Type: t, Rows: rows, Cols: cols, Data: data}
}

// BenchmarkMatVec measures decode-style matrix-vector products. SetBytes is
// the weight size, so MB/s is the rate weights are streamed — compare it with
// memory bandwidth (the decode roofline). "hot" reuses one matrix (it may sit
// in L3), "cold" cycles through enough copies (>= 256 MB) to defeat the caches.
func BenchmarkMatVec(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, typ := range allTypes {
		for _, sh := range [][2]int{{4096, 4096}, {2048, 8192}} {
			rows, cols := sh[0], sh[1]
			m := fastRandMat(rng, typ, rows, cols)
			copies := max(1, (256<<20)/len(m.Data))
			mats := []Mat{m}
			for len(mats) < copies {
				c := m
				c.Data = append([]byte(nil), m.Data...)
				mats = append(mats, c)
			}
			x := randVec(rng, cols)
			dst := make([]float32, rows)
			for _, threads := range []int{1, 2} {
				p := NewPool(threads)
				for _, mode := range []string{"hot", "cold"} {
					b.Run(fmt.Sprintf("%v/%dx%d/%s/t%d", typ, rows, cols, mode, threads), func(b *testing.B) {
						b.SetBytes(int64(len(m.Data)))
						c0 := cpuTime()
						for i := 0; b.Loop(); i++ {
							mm := m
							if mode == "cold" {
								mm = mats[i%len(mats)]
							}
							p.MatVec(dst, mm, x)
						}
						reportCPU(b, c0, len(m.Data), threads)
					})
				}
				p.Close()
			}
			if len(simdSets()) > 0 {
				b.Run(fmt.Sprintf("%v/%dx%d/hot/t1-go", typ, rows, cols), func(b *testing.B) {
					p := NewPool(1)
					defer p.Close()
					b.SetBytes(int64(len(m.Data)))
					c0 := cpuTime()
					for b.Loop() {
						p.matMul(&generic, dst, m, x, 1)
					}
					reportCPU(b, c0, len(m.Data), 1)
				})
			}
		}
	}
}

// BenchmarkMatMul measures prefill-style products (n input rows).
func BenchmarkMatMul(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	const rows, cols, n = 4096, 4096, 64
	x := randVec(rng, n*cols)
	dst := make([]float32, n*rows)
	for _, typ := range allTypes {
		m := fastRandMat(rng, typ, rows, cols)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%v/%dx%dx%d/t%d", typ, rows, cols, n, threads), func(b *testing.B) {
				p := NewPool(threads)
				defer p.Close()
				c0 := cpuTime()
				for b.Loop() {
					p.MatMul(dst, m, x, n)
				}
				flops := 2 * float64(rows*cols*n) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				if cpu := cpuTime() - c0; cpu > 0 {
					b.ReportMetric(flops/(cpu.Seconds()/float64(threads))/1e9, "cpuGFLOP/s")
				}
			})
		}
	}
}

// reportCPU adds "cpuGB/s": bytes per second of this process's CPU time
// divided by threads. On a machine shared with other jobs it estimates the
// uncontended rate better than wall time does (not for memory-bound cases).
func reportCPU(b *testing.B, c0 time.Duration, bytes, threads int) {
	if cpu := cpuTime() - c0; cpu > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/(cpu.Seconds()/float64(threads))/1e9, "cpuGB/s")
	}
}

// BenchmarkPoolDispatch is the fixed cost of one parallel call (wake the
// helpers, run an empty share, wait): what every decode matvec pays.
func BenchmarkPoolDispatch(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("t%d", threads), func(b *testing.B) {
			p := NewPool(threads)
			defer p.Close()
			fn := func(lo, hi int) {}
			for b.Loop() {
				p.Parallel(threads, fn)
			}
		})
	}
}

// BenchmarkAttention is one decode step's attention at long context
// (Llama-2-7B-like heads with GQA 4:1) over an F32 or F16 cache.
func BenchmarkAttention(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	s := AttnShape{Heads: 32, KVHeads: 8, HeadDim: 128}
	const nPos = 2048
	q, out := randVec(rng, s.Heads*s.HeadDim), make([]float32, s.Heads*s.HeadDim)
	scores := make([]float32, s.Heads*nPos)
	kf, vf := randVec(rng, nPos*s.KVHeads*s.HeadDim), randVec(rng, nPos*s.KVHeads*s.HeadDim)
	kh, vh := make([]uint16, len(kf)), make([]uint16, len(vf))
	for i := range kf {
		kh[i], vh[i] = F32ToF16(kf[i]), F32ToF16(vf[i])
	}
	for _, c := range []struct {
		name string
		k, v KV
		size int
	}{{"f32", KV{F32: kf}, KV{F32: vf}, 4}, {"f16", KV{F16: kh}, KV{F16: vh}, 2}} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/pos%d/t%d", c.name, nPos, threads), func(b *testing.B) {
				p := NewPool(threads)
				defer p.Close()
				b.SetBytes(int64(2 * len(kf) * c.size)) // K and V streamed
				c0 := cpuTime()
				for b.Loop() {
					p.Attention(out, q, c.k, c.v, nPos, s, scores)
				}
				reportCPU(b, c0, 2*len(kf)*c.size, threads)
			})
		}
	}
}

// BenchmarkQuantizeActivations is the serial per-call cost of preparing x.
func BenchmarkQuantizeActivations(b *testing.B) {
	x := randVec(rand.New(rand.NewPCG(4, 4)), 4096)
	for _, t := range []tensor.DType{tensor.Q8_0, tensor.Q4_K} {
		b.Run(t.String(), func(b *testing.B) {
			var s scratch
			m := Mat{Type: t, Rows: 1, Cols: len(x)}
			s.reserve(m, 1)
			c0 := cpuTime()
			for b.Loop() {
				s.quantRange(m, x, 0, 1)
			}
			b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkDecodeShape streams the weights of a Llama-2-7B-shaped stack of
// 4 layers plus the 32000-row output matrix through Pool.MatVec once per
// op — the weight traffic of one decode token of the synthetic 4-layer GGUF
// that llama-bench runs in BENCHMARKS.md, so tokens/s compare directly.
// Norms, RoPE and attention are left out (small at short context).
func BenchmarkDecodeShape(b *testing.B) {
	if testing.Short() {
		b.Skip("allocates ~0.5-1 GB")
	}
	const E, F, V, layers = 4096, 11008, 32000, 4
	rng := rand.New(rand.NewPCG(6, 6))
	for _, typ := range []tensor.DType{tensor.Q4_0, tensor.Q8_0, tensor.Q4_K, tensor.Q6_K} {
		var mats []Mat
		var bytes int
		for l := 0; l < layers; l++ {
			for _, sh := range [][2]int{{E, E}, {E, E}, {E, E}, {E, E}, {F, E}, {F, E}, {E, F}} {
				m := fastRandMat(rng, typ, sh[0], sh[1])
				mats = append(mats, m)
				bytes += len(m.Data)
			}
		}
		out := fastRandMat(rng, typ, V, E)
		mats = append(mats, out)
		bytes += len(out.Data)
		x := randVec(rng, F)
		dst := make([]float32, max(V, 3*E, 2*F))
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%v/t%d", typ, threads), func(b *testing.B) {
				p := NewPool(threads)
				defer p.Close()
				b.SetBytes(int64(bytes))
				c0 := cpuTime()
				// Per layer as a model runs it: Q/K/V in one MatVecs call,
				// the output projection, gate/up in one call, then down.
				q, kv, gu := make([]Out, 3), make([]Out, 1), make([]Out, 2)
				for b.Loop() {
					for l := 0; l < layers; l++ {
						m := mats[l*7 : l*7+7]
						for i := range q {
							q[i] = Out{Dst: dst[i*E : (i+1)*E], M: m[i]}
						}
						p.MatVecs(x[:E], q)
						kv[0] = Out{Dst: dst[:E], M: m[3]}
						p.MatVecs(x[:E], kv)
						gu[0], gu[1] = Out{Dst: dst[:F], M: m[4]}, Out{Dst: dst[F : 2*F], M: m[5]}
						p.MatVecs(x[:E], gu)
						p.MatVec(dst[:E], m[6], x[:F])
					}
					p.MatVec(dst[:V], out, x[:E])
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
				reportCPU(b, c0, bytes, threads)
			})
		}
	}
}
