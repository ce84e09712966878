package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/tensor"
)

// buildTiny writes a small file with every metadata type and two tensors.
func buildTiny(t testing.TB) []byte {
	t.Helper()
	w := NewWriter()
	kvs := []struct {
		k string
		v any
	}{
		{"general.architecture", "llama"},
		{"u8", uint8(200)}, {"i8", int8(-5)}, {"u16", uint16(60000)}, {"i16", int16(-300)},
		{"u32", uint32(4000000000)}, {"i32", int32(-7)}, {"u64", uint64(1) << 40}, {"i64", int64(-1) << 40},
		{"f32", float32(1.5)}, {"f64", math.Pi}, {"b", true},
		{"strs", []string{"a", "", "ü"}}, {"f32s", []float32{1, -2, 3.25}}, {"i32s", []int32{-1, 2}},
		{"u8s", []uint8{1, 2, 3}}, {"bools", []bool{true, false}},
		{"nested", []Value{mustValue(t, []int32{1, 2}), mustValue(t, []string{"x"})}},
	}
	for _, kv := range kvs {
		if err := w.AddKV(kv.k, kv.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.AddTensor("a", tensor.F32, []int{2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("b", tensor.Q8_0, []int{1, 32}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_, err := w.WriteTo(&buf, func(i int, info TensorInfo, out io.Writer) error {
		p := make([]byte, info.NumBytes())
		for j := range p {
			p[j] = byte(i*100 + j)
		}
		_, err := out.Write(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func mustValue(t testing.TB, x any) Value {
	v, err := ValueOf(x)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestWriteReadRoundTrip(t *testing.T) {
	data := buildTiny(t)
	f, err := Parse(data, "tiny")
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 3 || f.Alignment != 32 || f.Arch() != "llama" || len(f.KV) != 18 {
		t.Fatalf("header: v%d align %d arch %q kv %d", f.Version, f.Alignment, f.Arch(), len(f.KV))
	}
	if f.KV[0].Key != "general.architecture" || f.KV[17].Key != "nested" {
		t.Errorf("KV order not kept: %q ... %q", f.KV[0].Key, f.KV[17].Key)
	}
	if u, err := f.Uint("u32"); err != nil || u != 4000000000 {
		t.Errorf("Uint(u32) = %d, %v", u, err)
	}
	if u, err := f.Uint("u8"); err != nil || u != 200 {
		t.Errorf("Uint(u8) = %d, %v", u, err)
	}
	if _, err := f.Uint("i8"); err == nil || !strings.Contains(err.Error(), `key "i8" at offset`) {
		t.Errorf("Uint(i8 = -5) error = %v", err)
	}
	if i, err := f.Int("i64"); err != nil || i != -1<<40 {
		t.Errorf("Int(i64) = %d, %v", i, err)
	}
	if x, err := f.Float("f64"); err != nil || x != math.Pi {
		t.Errorf("Float(f64) = %v, %v", x, err)
	}
	if x, err := f.Float("f32"); err != nil || x != 1.5 {
		t.Errorf("Float(f32) = %v, %v", x, err)
	}
	if x, err := f.Float("u64"); err != nil || x != 1<<40 {
		t.Errorf("Float(u64) = %v, %v", x, err)
	}
	if _, err := f.Float("strs"); err == nil {
		t.Error("Float of a string array succeeded")
	}
	if b, err := f.Bool("b"); err != nil || !b {
		t.Errorf("Bool = %v, %v", b, err)
	}
	if s, err := f.Strings("strs"); err != nil || !reflect.DeepEqual(s, []string{"a", "", "ü"}) {
		t.Errorf("Strings = %q, %v", s, err)
	}
	if s, err := f.Float32s("f32s"); err != nil || !reflect.DeepEqual(s, []float32{1, -2, 3.25}) {
		t.Errorf("Float32s = %v, %v", s, err)
	}
	if s, err := f.Int32s("i32s"); err != nil || !reflect.DeepEqual(s, []int32{-1, 2}) {
		t.Errorf("Int32s = %v, %v", s, err)
	}
	if s, err := f.Int32s("u8s"); err != nil || !reflect.DeepEqual(s, []int32{1, 2, 3}) {
		t.Errorf("Int32s(u8s) = %v, %v", s, err)
	}
	v, _ := f.Get("nested")
	inner := v.Any().([]Value)
	if v.Elem != TypeArray || len(inner) != 2 || !reflect.DeepEqual(inner[0].Any(), []int32{1, 2}) || !reflect.DeepEqual(inner[1].Any(), []string{"x"}) {
		t.Errorf("nested = %#v", v)
	}
	if _, err := f.String("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing key error = %v", err)
	}
	if _, err := f.String("u8"); err == nil || !strings.Contains(err.Error(), "is uint8, want string") {
		t.Errorf("type mismatch error = %v", err)
	}

	a, err := f.Tensor("a")
	if err != nil {
		t.Fatal(err)
	}
	if a.Type != tensor.F32 || !reflect.DeepEqual(a.Shape, []int{2, 3}) || len(a.Data) != 24 || a.Data[5] != 5 {
		t.Errorf("tensor a = %v %v len %d", a.Type, a.Shape, len(a.Data))
	}
	b, err := f.Tensor("b")
	if err != nil {
		t.Fatal(err)
	}
	ti, _ := f.TensorInfo("b")
	if !reflect.DeepEqual(ti.Dims, []uint64{32, 1}) || ti.Offset != 32 || len(b.Data) != 34 || b.Data[0] != 100 {
		t.Errorf("tensor b info %+v, data len %d", ti, len(b.Data))
	}
	// Zero copy: the tensor aliases the input.
	if &b.Data[0] != &data[f.DataOffset+32] {
		t.Error("Tensor data was copied")
	}
	if f.DataOffset%32 != 0 || int64(len(data)) != f.DataOffset+32+64 {
		t.Errorf("layout: data offset %d, size %d", f.DataOffset, len(data))
	}

	// Writing the parsed file again gives the same bytes.
	out := rewrite(t, f)
	again, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Error("write(read(x)) != x")
	}
}

// header returns the fixed GGUF prefix with the given counts.
func header(version uint32, nTensors, nKV uint64) []byte {
	b := binary.LittleEndian.AppendUint32(nil, magic)
	b = binary.LittleEndian.AppendUint32(b, version)
	b = binary.LittleEndian.AppendUint64(b, nTensors)
	return binary.LittleEndian.AppendUint64(b, nKV)
}

func appendStr(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

func appendTensorInfo(b []byte, name string, dims []uint64, typ uint32, off uint64) []byte {
	b = appendStr(b, name)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(dims)))
	for _, d := range dims {
		b = binary.LittleEndian.AppendUint64(b, d)
	}
	b = binary.LittleEndian.AppendUint32(b, typ)
	return binary.LittleEndian.AppendUint64(b, off)
}

func TestParseErrors(t *testing.T) {
	kvU32 := func(key string, v uint32) []byte {
		b := appendStr(nil, key)
		b = binary.LittleEndian.AppendUint32(b, uint32(TypeUint32))
		return binary.LittleEndian.AppendUint32(b, v)
	}
	withData := func(b []byte, n int) []byte {
		b = append(b, make([]byte, pad(len(b), 32)-len(b))...)
		return append(b, make([]byte, n)...)
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "offset 0: magic"},
		{"magic", []byte("GGML\x03\x00\x00\x00"), "bad magic"},
		{"v1", header(1, 0, 0), "version 1 is not supported"},
		{"v4", header(4, 0, 0), "unsupported GGUF version 4"},
		{"bigendian", append(binary.LittleEndian.AppendUint32(nil, magic), 0, 0, 0, 3), "big-endian"},
		{"huge tensor count", header(3, 1<<60, 0), "tensor count 1152921504606846976 does not fit"},
		{"huge kv count", header(3, 0, 1<<62), "metadata count"},
		{"huge string", append(append(header(3, 0, 1), binary.LittleEndian.AppendUint64(nil, 1<<50)...), make([]byte, 16)...), "length 1125899906842624 exceeds"},
		{"bad value type", append(append(header(3, 0, 1), appendStr(nil, "k")...), 99, 0, 0, 0), `key "k": offset 33: invalid value type 99`},
		{"huge array", append(append(header(3, 0, 1), appendStr(nil, "k")...), 9, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), "array length"},
		{"dup key", append(append(header(3, 0, 2), kvU32("k", 1)...), kvU32("k", 2)...), `duplicate metadata key "k"`},
		{"alignment 0", append(header(3, 0, 1), kvU32(KeyAlignment, 0)...), "not a power of two"},
		{"alignment 48", append(header(3, 0, 1), kvU32(KeyAlignment, 48)...), "not a power of two"},
		{"alignment u64", append(append(append(header(3, 0, 1), appendStr(nil, KeyAlignment)...), 10, 0, 0, 0), 64, 0, 0, 0, 0, 0, 0, 0), "is uint64, must be uint32"},
		{"unknown tensor type", withData(appendTensorInfo(header(3, 1, 0), "w", []uint64{4}, 77, 0), 16), `tensor "w" has unknown ggml type 77`},
		{"too many dims", withData(appendTensorInfo(header(3, 1, 0), "w", []uint64{1, 1, 1, 1, 1}, 0, 0), 16), "5 dimensions"},
		{"block size", withData(appendTensorInfo(header(3, 1, 0), "w", []uint64{16}, uint32(tensor.Q4_0), 0), 16), "not a multiple of the block size"},
		{"scalar q4_0", withData(appendTensorInfo(header(3, 1, 0), "w", nil, uint32(tensor.Q4_0), 0), 16), "row of 1 elements"},
		{"overflow", withData(appendTensorInfo(header(3, 1, 0), "w", []uint64{1 << 32, 1 << 32}, 0, 0), 16), "too many elements"},
		{"out of bounds", withData(appendTensorInfo(header(3, 1, 0), "w", []uint64{8}, 0, 0), 16), `tensor "w": data [0, +32)`},
		{"offset past end", withData(appendTensorInfo(header(3, 1, 0), "w", []uint64{1}, 0, 1<<63), 16), "runs past the end"},
		{"misaligned", withData(appendTensorInfo(header(3, 1, 0), "w", []uint64{1}, 0, 4), 64), "not a multiple of the alignment 32"},
		{"long name", withData(appendTensorInfo(header(3, 1, 0), strings.Repeat("x", 64), []uint64{1}, 0, 0), 64), "ggml allows at most 63"},
		{"dup tensor", withData(appendTensorInfo(appendTensorInfo(header(3, 2, 0), "w", []uint64{1}, 0, 0), "w", []uint64{1}, 0, 32), 64), `duplicate tensor name "w"`},
	}
	for _, c := range cases {
		_, err := Parse(c.data, "x.gguf")
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "gguf x.gguf: ") {
			t.Errorf("%s: error %q, want it to contain %q", c.name, err, c.want)
		}
	}
}

// Every truncation of a valid file must fail cleanly, except cuts in the
// zero padding after the last tensor (llama.cpp's loader accepts those too).
func TestParseV2(t *testing.T) {
	b := append(header(2, 0, 1), appendStr(nil, "general.architecture")...)
	b = binary.LittleEndian.AppendUint32(b, uint32(TypeString))
	b = appendStr(b, "llama")
	f, err := Parse(b, "v2")
	if err != nil || f.Version != 2 || f.Arch() != "llama" {
		t.Fatalf("v2: %v %+v", err, f)
	}
}

func TestParseTruncated(t *testing.T) {
	data := buildTiny(t)
	f, err := Parse(data, "full")
	if err != nil {
		t.Fatal(err)
	}
	last := f.Tensors[len(f.Tensors)-1]
	end := int(f.DataOffset) + int(last.Offset) + int(last.NumBytes())
	for n := 0; n < len(data); n++ {
		_, err := Parse(data[:n], "cut")
		if n < end && err == nil {
			t.Fatalf("truncated to %d of %d bytes: no error", n, len(data))
		}
		if n >= end && err != nil {
			t.Fatalf("truncated to %d (data ends at %d): %v", n, end, err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "nope.gguf")); err == nil {
		t.Error("missing file: no error")
	}
	p := filepath.Join(t.TempDir(), "short.gguf")
	os.WriteFile(p, []byte("GGUF"), 0o644)
	if _, err := Open(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("short file error = %v", err)
	}
}

func TestWriterErrors(t *testing.T) {
	w := NewWriter()
	if err := w.AddKV("k", struct{}{}); err == nil {
		t.Error("struct value accepted")
	}
	if err := w.AddKV("k", 1); err != nil {
		t.Fatal(err)
	}
	if err := w.AddKV("k", 2); err == nil {
		t.Error("duplicate key accepted")
	}
	if err := w.AddKV(KeyAlignment, uint32(3)); err == nil {
		t.Error("alignment 3 accepted")
	}
	if err := w.AddKV(KeyAlignment, 64); err == nil {
		t.Error("int64 alignment accepted (llama.cpp needs uint32)")
	}
	if err := w.AddTensor("q", tensor.Q4_K, []int{2, 100}); err == nil {
		t.Error("Q4_K row of 100 accepted")
	}
	if err := w.AddTensor("t", tensor.F32, []int{4}); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("t", tensor.F32, []int{4}); err == nil {
		t.Error("duplicate tensor accepted")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "w.gguf")
	short := func(i int, info TensorInfo, out io.Writer) error { _, err := out.Write(make([]byte, 15)); return err }
	if err := w.WriteFile(p, short); err == nil || !strings.Contains(err.Error(), "wrote 15 bytes, want 16") {
		t.Errorf("short tensor error = %v", err)
	}
	long := func(i int, info TensorInfo, out io.Writer) error { _, err := out.Write(make([]byte, 17)); return err }
	if err := w.WriteFile(p, long); err == nil {
		t.Error("long tensor accepted")
	}
	// Failed writes leave nothing behind, not even temp files.
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("directory not clean after failed writes: %v", ents)
	}
	// A custom alignment is honoured by writer and reader.
	w = NewWriter()
	w.AddKV(KeyAlignment, uint32(64))
	w.AddTensor("a", tensor.F32, []int{3})
	w.AddTensor("b", tensor.F16, []int{2})
	ok := func(i int, info TensorInfo, out io.Writer) error {
		_, err := out.Write(make([]byte, info.NumBytes()))
		return err
	}
	if err := w.WriteFile(p, ok); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Alignment != 64 || f.DataOffset%64 != 0 || f.Tensors[1].Offset != 64 || f.Size != f.DataOffset+128 {
		t.Errorf("alignment 64 layout: %+v data@%d size %d", f.Tensors, f.DataOffset, f.Size)
	}
}

// The llama2.c checkpoint and the GGUF llama.cpp converted from it hold the
// same token embedding; Tensor must return exactly those floats.
func TestTensorMatchesLlama2c(t *testing.T) {
	s := sharedDir(t)
	bin, err := os.ReadFile(filepath.Join(s, "fixtures/stories260K/stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(filepath.Join(s, "fixtures/gguf/stories260K.llamacpp-c392e50.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	emb, err := f.Tensor("token_embd.weight")
	if err != nil {
		t.Fatal(err)
	}
	dim, vocab := int(binary.LittleEndian.Uint32(bin[0:])), int(binary.LittleEndian.Uint32(bin[20:]))
	if !reflect.DeepEqual(emb.Shape, []int{vocab, dim}) || emb.Type != tensor.F32 {
		t.Fatalf("token_embd: %s %v, want F32 [%d %d]", emb.Type, emb.Shape, vocab, dim)
	}
	if want := bin[28 : 28+4*vocab*dim]; !bytes.Equal(emb.Data, want) {
		t.Error("token_embd.weight differs from the llama2.c token_embedding_table")
	}
	if n, err := f.Uint("llama.embedding_length"); err != nil || int(n) != dim {
		t.Errorf("llama.embedding_length = %d, %v; want %d", n, err, dim)
	}
	toks, err := f.Strings("tokenizer.ggml.tokens")
	if err != nil || len(toks) != vocab {
		t.Errorf("tokens: %d, %v", len(toks), err)
	}
	if f.Close() != nil || f.Close() != nil {
		t.Error("Close twice failed")
	}
	if _, err := f.Tensor("token_embd.weight"); err == nil {
		t.Error("Tensor after Close succeeded")
	}
}
