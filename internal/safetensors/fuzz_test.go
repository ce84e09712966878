package safetensors

import (
	"bytes"
	"io"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add(hfFile(`{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[1,1],"data_offsets":[8,9]}}`, make([]byte, 9)))
	f.Add(hfFile(`{}      `, nil))
	f.Add(hfFile(`{"t":{"dtype":"BF16","shape":[],"data_offsets":[0,2]}}`, []byte{1, 2}))
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, err := Parse(data, "fuzz")
		if err != nil {
			return
		}
		// Everything Parse accepts can be read and written back the same way.
		var entries []Entry
		for _, ti := range sf.Tensors {
			_, b, err := sf.Raw(ti.Name)
			if err != nil || int64(len(b)) != ti.End-ti.Begin {
				t.Fatalf("tensor %q: %v", ti.Name, err)
			}
			typ, err := ti.Type()
			if err != nil {
				return // dtypes without a tensor.DType cannot be written
			}
			entries = append(entries, Entry{ti.Name, typ, ti.Shape})
		}
		var buf bytes.Buffer
		err = Encode(&buf, sf.Metadata, entries, func(i int, out io.Writer) error {
			_, b, _ := sf.Raw(entries[i].Name)
			_, err := out.Write(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(buf.Bytes(), "again")
		if err != nil {
			t.Fatalf("re-encoded file does not parse: %v", err)
		}
		if len(again.Tensors) != len(sf.Tensors) || len(again.Metadata) != len(sf.Metadata) {
			t.Fatal("round trip lost tensors or metadata")
		}
		for i, ti := range again.Tensors {
			_, b1, _ := sf.Raw(ti.Name)
			_, b2, _ := again.Raw(ti.Name)
			if !bytes.Equal(b1, b2) || sf.Tensors[i].Name != ti.Name {
				t.Fatalf("tensor %q changed", ti.Name)
			}
		}
	})
}
