package llama_test

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/checkpoint"
	"github.com/bayling-go/bayling/internal/gguf"
	"github.com/bayling-go/bayling/internal/kernels"
	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/tensor"
)

// synthShape is TinyLlama-1.1B's shape (Llama 2 architecture with GQA), big
// enough that the matrix products dominate as they do for real models.
var synthShape = llama.Config{HiddenSize: 2048, IntermediateSize: 5632, NumHiddenLayers: 22,
	NumAttentionHeads: 32, NumKeyValueHeads: 4, RMSNormEps: 1e-5, RopeTheta: 10000,
	VocabSize: 32000, MaxPositionEmbeddings: 2048, BOSTokenID: 1, EOSTokenID: llama.TokenIDs{2}}

// randomBlocks fills rows*cols elements of type t with random quants and a
// small fixed scale per block, so activations stay finite.
func randomBlocks(rng *rand.Rand, t tensor.DType, rows, cols int) []byte {
	rb, _ := t.RowBytes(cols)
	b := make([]byte, rows*rb)
	for i := 0; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	if t == tensor.Q4_0 || t == tensor.Q8_0 {
		scale := tensor.F32ToF16(0.01)
		for off := 0; off < len(b); off += t.BlockBytes() {
			binary.LittleEndian.PutUint16(b[off:], scale)
		}
	}
	return b
}

// writeSynthGGUF writes a random-weight model of shape c to path, with the
// Llama 2 tokenizer metadata of the tiny-random fixture so llama.cpp loads it.
func writeSynthGGUF(tb testing.TB, path string, c llama.Config, t tensor.DType) {
	tb.Helper()
	src, err := gguf.Open(filepath.Join(sharedDir(tb), "fixtures", "gguf", "llama-2-tiny-random.gguf"))
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	w := gguf.NewWriter()
	add := func(k string, v any) {
		if err := w.AddKV(k, v); err != nil {
			tb.Fatal(err)
		}
	}
	add("general.architecture", "llama")
	add("llama.embedding_length", uint32(c.HiddenSize))
	add("llama.feed_forward_length", uint32(c.IntermediateSize))
	add("llama.block_count", uint32(c.NumHiddenLayers))
	add("llama.attention.head_count", uint32(c.NumAttentionHeads))
	add("llama.attention.head_count_kv", uint32(c.NumKeyValueHeads))
	add("llama.attention.layer_norm_rms_epsilon", float32(c.RMSNormEps))
	add("llama.context_length", uint32(c.MaxPositionEmbeddings))
	add("llama.rope.dimension_count", uint32(c.HeadSize()))
	for _, kv := range src.KV {
		if strings.HasPrefix(kv.Key, "tokenizer.") {
			add(kv.Key, kv.Value)
		}
	}
	type spec struct {
		name       string
		typ        tensor.DType
		rows, cols int
	}
	dim, kvd, hid := c.HiddenSize, c.KVDim(), c.IntermediateSize
	specs := []spec{{"token_embd.weight", t, c.VocabSize, dim}}
	for l := 0; l < c.NumHiddenLayers; l++ {
		p := func(s string) string { return "blk." + strconv.Itoa(l) + "." + s + ".weight" }
		specs = append(specs, spec{p("attn_norm"), tensor.F32, 0, dim}, spec{p("attn_q"), t, dim, dim},
			spec{p("attn_k"), t, kvd, dim}, spec{p("attn_v"), t, kvd, dim}, spec{p("attn_output"), t, dim, dim},
			spec{p("ffn_norm"), tensor.F32, 0, dim}, spec{p("ffn_gate"), t, hid, dim},
			spec{p("ffn_down"), t, dim, hid}, spec{p("ffn_up"), t, hid, dim})
	}
	specs = append(specs, spec{"output_norm.weight", tensor.F32, 0, dim}, spec{"output.weight", t, c.VocabSize, dim})
	for _, s := range specs {
		shape := []int{s.rows, s.cols}
		if s.rows == 0 {
			shape = []int{s.cols}
		}
		if err := w.AddTensor(s.name, s.typ, shape); err != nil {
			tb.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	err = w.WriteFile(path, func(i int, _ gguf.TensorInfo, out io.Writer) error {
		s := specs[i]
		if s.rows == 0 { // norm weights: ones
			b := make([]byte, 4*s.cols)
			for j := 0; j < s.cols; j++ {
				binary.LittleEndian.PutUint32(b[4*j:], 0x3f800000)
			}
			_, err := out.Write(b)
			return err
		}
		_, err := out.Write(randomBlocks(rng, s.typ, s.rows, s.cols))
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkDecodeSynthetic1B decodes with a TinyLlama-shaped random model
// loaded from GGUF (mmap), Q4_0 and Q8_0, on all cores. Set
// BAYLING_SYNTH_GGUF_DIR to keep the files (e.g. for llama-bench).
func BenchmarkDecodeSynthetic1B(b *testing.B) {
	for _, typ := range []tensor.DType{tensor.Q4_0, tensor.Q8_0} {
		b.Run(typ.String(), func(b *testing.B) {
			dir := os.Getenv("BAYLING_SYNTH_GGUF_DIR")
			if dir == "" {
				dir = b.TempDir()
			}
			path := filepath.Join(dir, "synth-1b-"+strings.ToLower(typ.String())+".gguf")
			if _, err := os.Stat(path); err != nil {
				writeSynthGGUF(b, path, synthShape, typ)
			}
			f, err := gguf.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			cfg, w, err := checkpoint.GGUFWeights(f)
			if err != nil {
				b.Fatal(err)
			}
			m, err := llama.New(cfg, w)
			if err != nil {
				b.Fatal(err)
			}
			pool := kernels.NewPool(0)
			defer pool.Close()
			m.SetPool(pool)
			s, _ := m.NewStateWith(llama.StateOptions{Context: 512})
			if _, err := s.Forward([]int{1, 2, 3, 4}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if s.Pos() == s.Context() {
					s.Truncate(4)
				}
				if _, err := s.Forward([]int{5}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}
