package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
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

// hfFile builds a file byte by byte the way the reference writer lays it out.
func hfFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func f32bytes(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func TestParseHandBuilt(t *testing.T) {
	// As written by safetensors (Python/Rust): compact JSON, __metadata__
	// first, tensors sorted by offset, header padded with spaces.
	hdr := `{"__metadata__":{"format":"pt"},"b.bias":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},"a.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[4,28]},"m":{"dtype":"BOOL","shape":[],"data_offsets":[28,29]}}`
	for len(hdr)%8 != 0 {
		hdr += " "
	}
	data := append([]byte{0x80, 0x3f, 0x00, 0xc0}, f32bytes(1, 2, 3, 4, 5, 6)...)
	data = append(data, 1)
	raw := hfFile(hdr, data)
	f, err := Parse(raw, "hf.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Metadata, map[string]string{"format": "pt"}) {
		t.Errorf("metadata %v", f.Metadata)
	}
	if !reflect.DeepEqual(f.Names(), []string{"b.bias", "a.weight", "m"}) {
		t.Errorf("names %v", f.Names())
	}
	w, err := f.Tensor("a.weight")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := w.Float32()
	if w.Type != tensor.F32 || !reflect.DeepEqual(w.Shape, []int{2, 3}) || !reflect.DeepEqual(v, []float32{1, 2, 3, 4, 5, 6}) {
		t.Errorf("a.weight %s %v %v", w.Type, w.Shape, v)
	}
	if &w.Data[0] != &raw[8+len(hdr)+4] {
		t.Error("tensor data copied")
	}
	bb, _ := f.Tensor("b.bias")
	if v, _ := bb.Float32(); !reflect.DeepEqual(v, []float32{1, -2}) {
		t.Errorf("b.bias %v", v)
	}
	if _, err := f.Tensor("m"); err == nil || !strings.Contains(err.Error(), "dtype BOOL cannot be converted") {
		t.Errorf("BOOL tensor: %v", err)
	}
	ti, b, err := f.Raw("m")
	if err != nil || ti.DType != "BOOL" || len(ti.Shape) != 0 || !bytes.Equal(b, []byte{1}) {
		t.Errorf("Raw(m) = %+v %v %v", ti, b, err)
	}
	if _, err := f.Tensor("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing tensor: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	ok := `"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}`
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"short", []byte{1, 2}, "too short"},
		{"huge header", binary.LittleEndian.AppendUint64(nil, 1<<40), "exceeds the limit"},
		{"header past end", append(binary.LittleEndian.AppendUint64(nil, 100), "{}"...), "runs past the end"},
		{"not object", hfFile(`[1]`, nil), "does not start with '{'"},
		{"bad json", hfFile(`{"t":`, nil), "header JSON"},
		{"trailing", hfFile(`{} x`, nil), "trailing bytes"},
		{"dup", hfFile(`{`+ok+`,`+ok+`}`, make([]byte, 8)), `duplicate key "t"`},
		{"dtype", hfFile(`{"t":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)), `unknown dtype "Q4"`},
		{"size", hfFile(`{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, make([]byte, 8)), "F32[3] needs 12 bytes"},
		{"offsets", hfFile(`{"t":{"dtype":"F32","shape":[2],"data_offsets":[0]}}`, make([]byte, 8)), "data_offsets has 1 entries"},
		{"reversed", hfFile(`{"t":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, make([]byte, 8)), "invalid data_offsets"},
		{"negative dim", hfFile(`{"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, make([]byte, 8)), "negative dimension"},
		{"overflow", hfFile(`{"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, make([]byte, 8)), "too large"},
		{"no shape", hfFile(`{"t":{"dtype":"F32","data_offsets":[0,0]}}`, nil), "missing shape"},
		{"utf8", hfFile("{\"\xff\":{}}", nil), "not valid UTF-8"},
		{"truncated data", hfFile(`{`+ok+`}`, make([]byte, 7)), "hold 8 bytes of data but the file has 7"},
		{"extra data", hfFile(`{`+ok+`}`, make([]byte, 9)), "hold 8 bytes of data but the file has 9"},
		{"gap", hfFile(`{"t":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)), "a gap before it"},
		{"overlap", hfFile(`{`+ok+`,"u":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "overlaps"},
		{"metadata type", hfFile(`{"__metadata__":{"a":1}}`, nil), "must map strings to strings"},
	}
	for _, c := range cases {
		_, err := Parse(c.data, "x.safetensors")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "safetensors x.safetensors: ") {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

func writeTestFile(t *testing.T, path string, meta map[string]string) ([]Entry, [][]byte) {
	t.Helper()
	entries := []Entry{
		{"w", tensor.F32, []int{2, 3}},
		{"h", tensor.F16, []int{4}},
		{"b", tensor.BF16, []int{1, 1, 2}},
		{"i", tensor.I64, []int{2}},
		{"s", tensor.F32, []int{}},
		{"<&>", tensor.I8, []int{0}},
	}
	payload := make([][]byte, len(entries))
	for i, e := range entries {
		n := tensor.NumElements(e.Shape)
		name, _ := DTypeName(e.Type)
		payload[i] = make([]byte, n*dtypes[name].size)
		for j := range payload[i] {
			payload[i][j] = byte(17*i + j)
		}
	}
	err := WriteFile(path, meta, entries, func(i int, out io.Writer) error {
		// Stream in two pieces to exercise partial writes.
		p := payload[i]
		if _, err := out.Write(p[:len(p)/2]); err != nil {
			return err
		}
		_, err := out.Write(p[len(p)/2:])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return entries, payload
}

func TestWriteReadRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "model.safetensors")
	meta := map[string]string{"format": "pt", "a<b": "c&d"}
	entries, payload := writeTestFile(t, p, meta)
	raw, _ := os.ReadFile(p)
	n := binary.LittleEndian.Uint64(raw)
	if n%8 != 0 {
		t.Errorf("header length %d not a multiple of 8", n)
	}
	wantHdr := `{"__metadata__":{"a<b":"c&d","format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"h":{"dtype":"F16","shape":[4],"data_offsets":[24,32]},"b":{"dtype":"BF16","shape":[1,1,2],"data_offsets":[32,36]},"i":{"dtype":"I64","shape":[2],"data_offsets":[36,52]},"s":{"dtype":"F32","shape":[],"data_offsets":[52,56]},"<&>":{"dtype":"I8","shape":[0],"data_offsets":[56,56]}}`
	if got := strings.TrimRight(string(raw[8:8+n]), " "); got != wantHdr {
		t.Errorf("header\n got %s\nwant %s", got, wantHdr)
	}
	// The header is valid JSON for any other reader too.
	var anyHdr map[string]any
	if err := json.Unmarshal(raw[8:8+n], &anyHdr); err != nil {
		t.Error(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !reflect.DeepEqual(f.Metadata, meta) {
		t.Errorf("metadata %v", f.Metadata)
	}
	for i, e := range entries {
		tt, err := f.Tensor(e.Name)
		if err != nil {
			t.Fatal(err)
		}
		if tt.Type != e.Type || !reflect.DeepEqual(tt.Shape, e.Shape) || !bytes.Equal(tt.Data, payload[i]) {
			t.Errorf("%s: got %s %v %x", e.Name, tt.Type, tt.Shape, tt.Data)
		}
	}
	// Re-encoding the parsed file reproduces it exactly.
	var buf bytes.Buffer
	err = Encode(&buf, f.Metadata, entries, func(i int, out io.Writer) error {
		_, b, err := f.Raw(entries[i].Name)
		if err == nil {
			_, err = out.Write(b)
		}
		return err
	})
	if err != nil || !bytes.Equal(buf.Bytes(), raw) {
		t.Errorf("re-encode differs (err %v)", err)
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.safetensors")
	fill := func(n int) func(int, io.Writer) error {
		return func(i int, out io.Writer) error { _, err := out.Write(make([]byte, n)); return err }
	}
	cases := []struct {
		entries []Entry
		n       int
		want    string
	}{
		{[]Entry{{"a", tensor.Q4_0, []int{32}}}, 18, "no dtype for Q4_0"},
		{[]Entry{{"a", tensor.F32, []int{1}}, {"a", tensor.F32, []int{1}}}, 4, "duplicate"},
		{[]Entry{{"__metadata__", tensor.F32, []int{1}}}, 4, "reserved"},
		{[]Entry{{"a", tensor.F32, []int{-1}}}, 4, "invalid shape"},
		{[]Entry{{"a", tensor.F32, []int{2}}}, 4, "wrote 4 bytes, want 8"},
		{[]Entry{{"a", tensor.F32, []int{2}}}, 12, "more bytes"},
	}
	for _, c := range cases {
		err := WriteFile(p, nil, c.entries, fill(c.n))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.entries, err, c.want)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("failed writes left files: %v", ents)
	}
}

func TestOpenDirSingleAndSharded(t *testing.T) {
	single := t.TempDir()
	writeTestFile(t, filepath.Join(single, SingleName), nil)
	s, err := OpenDir(single)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Names()) != 6 || len(s.Files) != 1 {
		t.Errorf("single: %v", s.Names())
	}
	s.Close()

	dir := t.TempDir()
	write := func(name string, entries []Entry) {
		err := WriteFile(filepath.Join(dir, name), map[string]string{"format": "pt"}, entries, func(i int, out io.Writer) error {
			_, err := out.Write(f32bytes(float32(i+1), float32(len(name))))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	write("model-00001-of-00002.safetensors", []Entry{{"x", tensor.F32, []int{2}}, {"y", tensor.F32, []int{2}}})
	write("model-00002-of-00002.safetensors", []Entry{{"z", tensor.F32, []int{1, 2}}})
	index := `{"metadata":{"total_size":24},"weight_map":{"x":"model-00001-of-00002.safetensors","y":"model-00001-of-00002.safetensors","z":"model-00002-of-00002.safetensors"}}`
	os.WriteFile(filepath.Join(dir, IndexName), []byte(index), 0o644)
	s, err = OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Names(), []string{"x", "y", "z"}) || len(s.Files) != 2 {
		t.Errorf("sharded names %v", s.Names())
	}
	z, err := s.Tensor("z")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := z.Float32(); !reflect.DeepEqual(v, []float32{1, 32}) || !reflect.DeepEqual(z.Shape, []int{1, 2}) {
		t.Errorf("z = %v %v", v, z.Shape)
	}
	if _, err := s.Tensor("w"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing tensor: %v", err)
	}
	s.Close()

	// A tensor mapped to the wrong shard, a missing shard, a bad shard name.
	bad := strings.Replace(index, `"z":"model-00002`, `"z":"model-00001`, 1)
	os.WriteFile(filepath.Join(dir, IndexName), []byte(bad), 0o644)
	if _, err := OpenDir(dir); err == nil || !strings.Contains(err.Error(), `tensor "z" is mapped to model-00001-of-00002.safetensors`) {
		t.Errorf("wrong shard: %v", err)
	}
	os.Remove(filepath.Join(dir, "model-00002-of-00002.safetensors"))
	os.WriteFile(filepath.Join(dir, IndexName), []byte(index), 0o644)
	if _, err := OpenDir(dir); err == nil || !strings.Contains(err.Error(), "shard model-00002-of-00002.safetensors") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing shard: %v", err)
	}
	os.WriteFile(filepath.Join(dir, IndexName), []byte(`{"weight_map":{"x":"../evil.safetensors"}}`), 0o644)
	if _, err := OpenDir(dir); err == nil || !strings.Contains(err.Error(), "must be a file in the same directory") {
		t.Errorf("traversal: %v", err)
	}
	if _, err := OpenDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "neither") {
		t.Errorf("empty dir: %v", err)
	}
}

func TestSortEntries(t *testing.T) {
	e := []Entry{{"z", tensor.I8, nil}, {"b", tensor.F16, nil}, {"a", tensor.F32, nil}, {"c", tensor.BF16, nil},
		{"y", tensor.F32, nil}, {"x", tensor.I64, nil}, {"d", tensor.F64, nil}, {"i", tensor.I32, nil}, {"h", tensor.I16, nil}}
	SortEntries(e)
	var got []string
	for _, x := range e {
		got = append(got, x.Name)
	}
	if want := []string{"x", "d", "a", "y", "i", "c", "b", "h", "z"}; !reflect.DeepEqual(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}
