package checkpoint

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/testenv"
)

// tinyBin builds a llama2.c v0 file whose float at index i is i+0.5, so a
// tensor's first value tells where the loader took it from.
func tinyBin(dim, hidden, layers, heads, kvHeads, vocab, seq int, shared bool) []byte {
	hs := dim / heads
	kvd := kvHeads * hs
	n := vocab*dim + layers*(2*dim+dim*dim*2+2*dim*kvd+3*dim*hidden) + dim + seq*hs
	if !shared {
		n += vocab * dim
	}
	v := vocab
	if !shared {
		v = -vocab
	}
	b := make([]byte, 0, 28+4*n)
	for _, x := range []int{dim, hidden, layers, heads, kvHeads, v, seq} {
		b = binary.LittleEndian.AppendUint32(b, uint32(int32(x)))
	}
	for i := 0; i < n; i++ {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(i)+0.5))
	}
	return b
}

func TestParseLlama2CLayout(t *testing.T) {
	const dim, hid, L, H, KV, V, S = 8, 12, 2, 4, 2, 10, 6
	data := tinyBin(dim, hid, L, H, KV, V, S, false)
	cfg, w, err := ParseLlama2C("tiny.bin", data)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HiddenSize != dim || cfg.IntermediateSize != hid || cfg.KVHeads() != KV || cfg.TieWordEmbeddings || cfg.MaxPositionEmbeddings != S {
		t.Fatalf("config %+v", cfg)
	}
	kvd := KV * dim / H
	// Start index of each tensor in run.c's memory_map_weights order.
	off := V * dim
	first := func(v []float32) float32 { return v[0] - 0.5 }
	check := func(what string, got float32, want int) {
		t.Helper()
		if got != float32(want) {
			t.Errorf("%s starts at float %v, want %d", what, got, want)
		}
	}
	check("token_embd", first(f32view(w.TokenEmbd.Data)), 0)
	check("attn_norm[1]", first(w.Layers[1].AttnNorm), off+dim)
	off += L * dim
	check("wq[1]", first(f32view(w.Layers[1].Wq.Data)), off+dim*dim)
	off += L * dim * dim
	check("wk[0]", first(f32view(w.Layers[0].Wk.Data)), off)
	off += L * kvd * dim
	check("wv[1]", first(f32view(w.Layers[1].Wv.Data)), off+kvd*dim)
	off += L * kvd * dim
	check("wo[0]", first(f32view(w.Layers[0].Wo.Data)), off)
	off += L * dim * dim
	check("ffn_norm[1]", first(w.Layers[1].FFNNorm), off+dim)
	off += L * dim
	check("w1[1]", first(f32view(w.Layers[1].Gate.Data)), off+hid*dim)
	off += L * hid * dim
	check("w2[0]", first(f32view(w.Layers[0].Down.Data)), off)
	off += L * hid * dim
	check("w3[1]", first(f32view(w.Layers[1].Up.Data)), off+hid*dim)
	off += L * hid * dim
	check("rms_final", first(w.OutputNorm), off)
	off += dim + S*(dim/H) // skips freq_cis_real and _imag
	check("wcls", first(f32view(w.Output.Data)), off)
	if w.Layers[0].Wk.Rows != kvd || w.Layers[0].Down.Cols != hid {
		t.Errorf("shapes: wk %dx%d, w2 %dx%d", w.Layers[0].Wk.Rows, w.Layers[0].Wk.Cols, w.Layers[0].Down.Rows, w.Layers[0].Down.Cols)
	}

	_, w, err = ParseLlama2C("tiny.bin", tinyBin(dim, hid, L, H, KV, V, S, true))
	if err != nil {
		t.Fatal(err)
	}
	if &w.Output.Data[0] != &w.TokenEmbd.Data[0] {
		t.Error("shared classifier is not the embedding table")
	}
}

func TestParseLlama2CErrors(t *testing.T) {
	good := tinyBin(8, 12, 2, 4, 2, 10, 6, true)
	put := func(i int, v int32) []byte {
		b := append([]byte(nil), good...)
		binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
		return b
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"short header", good[:20], "llama2c x.bin: file is 20 bytes, shorter than the 28-byte header"},
		{"zero dim", put(0, 0), "llama2c x.bin: offset 0: dim 0 must be positive"},
		{"negative layers", put(2, -1), "llama2c x.bin: offset 8: n_layers -1 must be positive"},
		{"heads", put(3, 3), "llama2c x.bin: offset 12: n_heads 3 does not divide dim 8"},
		{"kv heads", put(4, 3), "llama2c x.bin: offset 16: n_kv_heads 3 does not divide n_heads 4"},
		{"odd head", put(3, 8), "llama2c x.bin: offset 12: head size 1 (dim/n_heads) must be even for RoPE"},
		{"magic", func() []byte { b := put(0, 0x616b3432); binary.LittleEndian.PutUint32(b[4:], 1); return b }(), `llama2c x.bin: offset 0: version-1 export (magic "ak42") not supported`},
		{"truncated", good[:len(good)-4], "llama2c x.bin: truncated: freq_cis_imag (1x6 floats) at offset"},
		{"truncated early", good[:100], "llama2c x.bin: truncated: token_embedding_table (10x8 floats) at offset 28 runs past the end of the 100-byte file"},
		{"trailing", append(append([]byte(nil), good...), 0, 0, 0, 0), "llama2c x.bin: 4 unexpected bytes after the weights at offset"},
		{"unshared but short", put(5, -10), "llama2c x.bin: truncated: wcls (10x8 floats)"},
		{"huge", put(1, math.MaxInt32), "llama2c x.bin: truncated: w1[0]"},
	}
	for _, c := range cases {
		_, _, err := ParseLlama2C("x.bin", c.data)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: got %v, want prefix %q", c.name, err, c.want)
		}
	}
	if _, _, err := LoadLlama2C(filepath.Join(t.TempDir(), "missing.bin")); err == nil || !strings.Contains(err.Error(), "missing.bin") {
		t.Errorf("missing file: %v", err)
	}
}

func TestLoadStories260K(t *testing.T) {
	path := filepath.Join(sharedDir(t), "fixtures", "stories260K", "stories260K.bin")
	cfg, w, err := LoadLlama2C(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HiddenSize != 64 || cfg.IntermediateSize != 172 || cfg.NumHiddenLayers != 5 || cfg.NumAttentionHeads != 8 ||
		cfg.KVHeads() != 4 || cfg.VocabSize != 512 || cfg.MaxPositionEmbeddings != 512 || !cfg.TieWordEmbeddings {
		t.Fatalf("config %+v", cfg)
	}
	if len(w.Layers) != 5 {
		t.Fatalf("%d layers", len(w.Layers))
	}
}

func FuzzParseLlama2C(f *testing.F) {
	f.Add(tinyBin(8, 12, 2, 4, 2, 10, 6, true))
	f.Add(tinyBin(4, 2, 1, 2, 1, 3, 2, false))
	f.Add(tinyBin(8, 12, 2, 4, 2, 10, 6, true)[:40])
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, w, err := ParseLlama2C("fuzz.bin", alignF32(data))
		if err != nil {
			return
		}
		if err := w.Check(&cfg); err != nil {
			t.Fatalf("accepted weights fail their check: %v", err)
		}
	})
}

func sharedDir(t testing.TB) string { return testenv.Shared(t) }
