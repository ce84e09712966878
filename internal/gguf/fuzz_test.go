package gguf

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// shrunkCopy rewrites f with every metadata array cut to at most 4 elements
// and no tensors: a small valid seed carrying real keys and value types.
func shrunkCopy(t testing.TB, f *File) []byte {
	w := NewWriter()
	for _, kv := range f.KV {
		v := kv.Value
		if v.Type == TypeArray && v.Len() > 4 {
			v = cutArray(v, 4)
		}
		if err := w.AddKV(kv.Key, v); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func cutArray(v Value, n int) Value {
	switch a := v.x.(type) {
	case []string:
		v.x = a[:n]
	case []float32:
		v.x = a[:n]
	case []int32:
		v.x = a[:n]
	case []uint8:
		v.x = a[:n]
	case []uint32:
		v.x = a[:n]
	}
	return v
}

// canonical re-encodes a parsed file with Writer.
func canonical(t *testing.T, f *File) []byte {
	w := NewWriter()
	for _, kv := range f.KV {
		if err := w.AddKV(kv.Key, kv.Value); err != nil {
			t.Fatalf("parsed KV %q not writable: %v", kv.Key, err)
		}
	}
	for _, ti := range f.Tensors {
		if err := w.AddTensor(ti.Name, ti.Type, ti.Shape()); err != nil {
			t.Fatalf("parsed tensor %q not writable: %v", ti.Name, err)
		}
	}
	var buf bytes.Buffer
	_, err := w.WriteTo(&buf, func(i int, info TensorInfo, out io.Writer) error {
		tt, err := f.Tensor(info.Name)
		if err != nil {
			return err
		}
		_, err = out.Write(tt.Data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func FuzzParse(f *testing.F) {
	f.Add(buildTiny(f))
	f.Add(header(3, 0, 0))
	f.Add(header(2, 0, 0))
	if s := sharedDirOrEmpty(); s != "" {
		for _, p := range sharedGGUFsIn(s) {
			gf, err := Open(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(shrunkCopy(f, gf))
			gf.Close()
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		gf, err := Parse(data, "fuzz")
		if err != nil {
			return
		}
		for _, ti := range gf.Tensors {
			tt, err := gf.Tensor(ti.Name)
			if err != nil || int64(len(tt.Data)) != ti.NumBytes() {
				t.Fatalf("tensor %q: %v (len %d, want %d)", ti.Name, err, len(tt.Data), ti.NumBytes())
			}
		}
		c1 := canonical(t, gf)
		g2, err := Parse(c1, "canonical")
		if err != nil {
			t.Fatalf("canonical form does not parse: %v", err)
		}
		if c2 := canonical(t, g2); !bytes.Equal(c1, c2) {
			t.Fatal("canonical form is not stable")
		}
	})
}

// sharedDirOrEmpty is sharedDir without a testing.TB, for seeding.
func sharedDirOrEmpty() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for i := 0; i < 10; i++ {
		if _, err := os.Stat(dir + "/go.mod"); err == nil {
			s := dir + "/../shared"
			if _, err := os.Stat(s); err == nil {
				return s
			}
			return ""
		}
		dir += "/.."
	}
	return ""
}
