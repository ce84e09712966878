package checkpoint

import (
	"bytes"
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/gguf"
	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/tensor"
)

func storiesGGUF(t testing.TB) *gguf.File {
	t.Helper()
	f, err := gguf.Open(filepath.Join(sharedDir(t), "fixtures", "gguf", "stories260K.llamacpp-c392e50.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// The llama.cpp conversion holds byte-identical copies of the .bin weights.
func TestGGUFMatchesLlama2C(t *testing.T) {
	gc, gw, err := GGUFWeights(storiesGGUF(t))
	if err != nil {
		t.Fatal(err)
	}
	bc, bw, err := LoadLlama2C(filepath.Join(sharedDir(t), "fixtures", "stories260K", "stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if gc.MaxPositionEmbeddings != 128 || gc.TieWordEmbeddings {
		t.Errorf("gguf config: context %d, tied %v; the converter writes 128 and an explicit output.weight", gc.MaxPositionEmbeddings, gc.TieWordEmbeddings)
	}
	gc.MaxPositionEmbeddings, gc.TieWordEmbeddings = bc.MaxPositionEmbeddings, bc.TieWordEmbeddings
	if float32(gc.RMSNormEps) != float32(bc.RMSNormEps) || gc.RopeTheta != bc.RopeTheta {
		t.Errorf("eps %v theta %v, want %v %v", gc.RMSNormEps, gc.RopeTheta, bc.RMSNormEps, bc.RopeTheta)
	}
	gc.RMSNormEps = bc.RMSNormEps
	if gc.HiddenSize != bc.HiddenSize || gc.IntermediateSize != bc.IntermediateSize || gc.NumHiddenLayers != bc.NumHiddenLayers ||
		gc.NumAttentionHeads != bc.NumAttentionHeads || gc.KVHeads() != bc.KVHeads() || gc.VocabSize != bc.VocabSize ||
		gc.BOSTokenID != 1 || len(gc.EOSTokenID) != 1 || gc.EOSTokenID[0] != 2 {
		t.Errorf("gguf config %+v\n.bin config %+v", gc, bc)
	}
	same := func(name string, a, b []byte) {
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs", name)
		}
	}
	same("token_embd", gw.TokenEmbd.Data, bw.TokenEmbd.Data)
	same("output", gw.Output.Data, bw.Output.Data)
	same("output_norm", f32bytes(gw.OutputNorm), f32bytes(bw.OutputNorm))
	for i := range bw.Layers {
		g, b := &gw.Layers[i], &bw.Layers[i]
		for _, p := range []struct {
			name string
			a, b llama.Mat
		}{{"q", g.Wq, b.Wq}, {"k", g.Wk, b.Wk}, {"v", g.Wv, b.Wv}, {"o", g.Wo, b.Wo}, {"gate", g.Gate, b.Gate}, {"down", g.Down, b.Down}, {"up", g.Up, b.Up}} {
			if p.a.Rows != p.b.Rows || p.a.Cols != p.b.Cols {
				t.Errorf("blk.%d.%s shape %dx%d vs %dx%d", i, p.name, p.a.Rows, p.a.Cols, p.b.Rows, p.b.Cols)
			}
			same(p.name, p.a.Data, p.b.Data)
		}
		same("attn_norm", f32bytes(g.AttnNorm), f32bytes(b.AttnNorm))
		same("ffn_norm", f32bytes(g.FFNNorm), f32bytes(b.FFNNorm))
	}
}

func f32bytes(v []float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = append(b, byte(math.Float32bits(x)), byte(math.Float32bits(x)>>8), byte(math.Float32bits(x)>>16), byte(math.Float32bits(x)>>24))
	}
	return b
}

// rewrite copies src to a new GGUF in a temp dir, letting edit change each
// key/value (return false to drop it) and each tensor's name, type, shape and data.
func rewrite(t *testing.T, src *gguf.File, editKV func(kv *gguf.KV) bool, editT func(ti *tensor.Tensor) bool) *gguf.File {
	t.Helper()
	w := gguf.NewWriter()
	for _, kv := range src.KV {
		if kv.Key == gguf.KeyAlignment || (editKV != nil && !editKV(&kv)) {
			continue
		}
		if err := w.AddKV(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	var data [][]byte
	for _, ti := range src.Tensors {
		tt, err := src.Tensor(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		if editT != nil && !editT(&tt) {
			continue
		}
		if err := w.AddTensor(tt.Name, tt.Type, tt.Shape); err != nil {
			t.Fatal(err)
		}
		data = append(data, tt.Data)
	}
	path := filepath.Join(t.TempDir(), "edited.gguf")
	err := w.WriteFile(path, func(i int, _ gguf.TensorInfo, out io.Writer) error {
		_, err := out.Write(data[i])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestGGUFErrors(t *testing.T) {
	src := storiesGGUF(t)
	cases := []struct {
		name string
		kv   func(kv *gguf.KV) bool
		ten  func(ti *tensor.Tensor) bool
		want string
	}{
		{"arch", func(kv *gguf.KV) bool {
			if kv.Key == "general.architecture" {
				kv.Value, _ = gguf.ValueOf("gpt2")
			}
			return true
		}, nil, `general.architecture "gpt2": only llama is supported`},
		{"missing key", func(kv *gguf.KV) bool { return kv.Key != "llama.block_count" }, nil, `key "llama.block_count": not found`},
		{"missing tensor", nil, func(ti *tensor.Tensor) bool { return ti.Name != "blk.2.ffn_up.weight" }, `tensor "blk.2.ffn_up.weight": not found`},
		{"wrong shape", nil, func(ti *tensor.Tensor) bool {
			if ti.Name == "blk.1.attn_k.weight" {
				ti.Shape = []int{64, 32}
			}
			return true
		}, "blk.1.attn_k: shape 64x32, want 32x64"},
		{"heads", func(kv *gguf.KV) bool {
			if kv.Key == "llama.attention.head_count" {
				kv.Value, _ = gguf.ValueOf(uint32(7))
			}
			return true
		}, nil, "num_attention_heads 7 does not divide hidden_size 64"},
	}
	for _, c := range cases {
		f := rewrite(t, src, c.kv, c.ten)
		_, _, err := GGUFWeights(f)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

// Quantized copies (matrices whose rows are a multiple of 32: all but
// ffn_down, whose rows are 172 long) run through the quantized kernels.
// Against the F32 model they differ by the quantization loss; against an
// F32 model of the dequantized weights only by the kernels' Q8 activation
// rounding, which pins the quantized matmul and embedding paths.
func TestGGUFQuantized(t *testing.T) {
	src := storiesGGUF(t)
	for _, c := range []struct {
		typ              tensor.DType
		tolF32, tolDeq   float64
		agreeF32, agreeD int // of 12 positions
	}{{tensor.Q8_0, 0.5, 0.3, 11, 12}, {tensor.Q4_0, 6, 0.3, 9, 12}} {
		t.Run(c.typ.String(), func(t *testing.T) {
			qc, qw := quantizedStories(t, src, c.typ)
			fc, fw, err := GGUFWeights(src)
			if err != nil {
				t.Fatal(err)
			}
			dw := dequantized(t, qw) // before llama.New packs qw
			ql := logitsOf(t, qc, qw)
			worst, agree := compareLogits(ql, logitsOf(t, fc, fw))
			t.Logf("%v vs F32: max |logit diff| %.4f, argmax agrees at %d/12 positions", c.typ, worst, agree)
			if worst > c.tolF32 || agree < c.agreeF32 || worst == 0 {
				t.Errorf("%v vs F32: max diff %g, argmax agrees %d/12", c.typ, worst, agree)
			}
			worst, agree = compareLogits(ql, logitsOf(t, qc, dw))
			t.Logf("%v vs its dequantized F32 copy: max |logit diff| %.4f, argmax agrees at %d/12 positions", c.typ, worst, agree)
			if worst > c.tolDeq || agree < c.agreeD {
				t.Errorf("%v vs dequantized: max diff %g, argmax agrees %d/12", c.typ, worst, agree)
			}
		})
	}
}

func quantizedStories(t *testing.T, src *gguf.File, typ tensor.DType) (llama.Config, *llama.Weights) {
	f := rewrite(t, src, nil, func(ti *tensor.Tensor) bool {
		if len(ti.Shape) != 2 || ti.Shape[1]%32 != 0 {
			return true
		}
		v, err := ti.Float32()
		if err != nil {
			t.Fatal(err)
		}
		n, _ := typ.RowBytes(len(v))
		q := make([]byte, n)
		if err := tensor.Quantize(q, v, typ); err != nil {
			t.Fatal(err)
		}
		ti.Type, ti.Data = typ, q
		return true
	})
	c, w, err := GGUFWeights(f)
	if err != nil {
		t.Fatal(err)
	}
	if w.Layers[0].Wq.Type != typ || w.TokenEmbd.Type != typ || w.Layers[0].Down.Type != tensor.F32 {
		t.Fatalf("types: wq %v emb %v down %v", w.Layers[0].Wq.Type, w.TokenEmbd.Type, w.Layers[0].Down.Type)
	}
	return c, w
}

// dequantized copies w with every matrix converted to F32.
func dequantized(t *testing.T, w *llama.Weights) *llama.Weights {
	deq := func(m llama.Mat) llama.Mat {
		if m.Packed() {
			t.Fatal("dequantizing a packed matrix")
		}
		v := make([]float32, m.Rows*m.Cols)
		if err := tensor.Dequantize(v, m.Data, m.Type); err != nil {
			t.Fatal(err)
		}
		return llama.F32Mat(m.Rows, m.Cols, v)
	}
	d := *w
	d.TokenEmbd, d.Output = deq(w.TokenEmbd), deq(w.Output)
	d.Layers = make([]llama.Layer, len(w.Layers))
	for i, l := range w.Layers {
		l.Wq, l.Wk, l.Wv, l.Wo = deq(l.Wq), deq(l.Wk), deq(l.Wv), deq(l.Wo)
		l.Gate, l.Down, l.Up = deq(l.Gate), deq(l.Down), deq(l.Up)
		d.Layers[i] = l
	}
	return &d
}

var quantTokens = []int{1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315}

func logitsOf(t *testing.T, c llama.Config, w *llama.Weights) []float32 {
	m, err := llama.New(c, w)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := m.NewState(0)
	l, err := s.ForwardAll(quantTokens, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func compareLogits(a, b []float32) (worst float64, agree int) {
	for p := range quantTokens {
		x, y := a[p*512:(p+1)*512], b[p*512:(p+1)*512]
		for i := range x {
			worst = math.Max(worst, math.Abs(float64(x[i]-y[i])))
		}
		if argmax(x) == argmax(y) {
			agree++
		}
	}
	return worst, agree
}

func argmax(x []float32) int {
	b := 0
	for i, v := range x {
		if v > x[b] {
			b = i
		}
	}
	return b
}

// tinyGGUF is a complete one-block llama GGUF (dim 8, 2 heads, vocab 6).
func tinyGGUF(t testing.TB) []byte {
	w := gguf.NewWriter()
	kvs := []struct {
		k string
		v any
	}{
		{"general.architecture", "llama"}, {"llama.embedding_length", uint32(8)}, {"llama.feed_forward_length", uint32(4)},
		{"llama.block_count", uint32(1)}, {"llama.attention.head_count", uint32(2)}, {"llama.attention.head_count_kv", uint32(1)},
		{"llama.attention.layer_norm_rms_epsilon", float32(1e-5)}, {"llama.context_length", uint32(16)},
	}
	for _, kv := range kvs {
		if err := w.AddKV(kv.k, kv.v); err != nil {
			t.Fatal(err)
		}
	}
	shapes := []struct {
		name  string
		shape []int
	}{
		{"token_embd.weight", []int{6, 8}}, {"blk.0.attn_norm.weight", []int{8}}, {"blk.0.attn_q.weight", []int{8, 8}},
		{"blk.0.attn_k.weight", []int{4, 8}}, {"blk.0.attn_v.weight", []int{4, 8}}, {"blk.0.attn_output.weight", []int{8, 8}},
		{"blk.0.ffn_norm.weight", []int{8}}, {"blk.0.ffn_gate.weight", []int{4, 8}}, {"blk.0.ffn_down.weight", []int{8, 4}},
		{"blk.0.ffn_up.weight", []int{4, 8}}, {"output_norm.weight", []int{8}},
	}
	for _, s := range shapes {
		if err := w.AddTensor(s.name, tensor.F32, s.shape); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	_, err := w.WriteTo(&buf, func(i int, info gguf.TensorInfo, out io.Writer) error {
		b := make([]byte, info.NumBytes())
		for j := range b {
			b[j] = byte(j*7 + i) // arbitrary but finite floats
		}
		_, err := out.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTinyGGUFRuns(t *testing.T) {
	f, err := gguf.Parse(tinyGGUF(t), "tiny.gguf")
	if err != nil {
		t.Fatal(err)
	}
	c, w, err := GGUFWeights(f)
	if err != nil {
		t.Fatal(err)
	}
	if !c.TieWordEmbeddings || c.KVHeads() != 1 || c.VocabSize != 6 {
		t.Fatalf("config %+v", c)
	}
	m, err := llama.New(c, w)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := m.NewState(0)
	if _, err := s.Forward([]int{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
}

func FuzzGGUFWeights(f *testing.F) {
	f.Add(tinyGGUF(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		gf, err := gguf.Parse(data, "fuzz.gguf")
		if err != nil {
			return
		}
		c, w, err := GGUFWeights(gf)
		if err != nil {
			return
		}
		m, err := llama.New(c, w)
		if err != nil {
			t.Fatalf("loader accepted weights llama.New rejects: %v", err)
		}
		if c.MaxPositionEmbeddings <= 64 && c.HiddenSize <= 64 && c.VocabSize <= 64 {
			s, err := m.NewState(0)
			if err != nil {
				t.Fatal(err)
			}
			s.Forward([]int{0})
		}
	})
}
