package gguf

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/bayling-go/bayling/internal/testenv"
)

func sharedDir(t testing.TB) string { return testenv.Shared(t) }

func sharedGGUFs(t testing.TB) []string {
	files := sharedGGUFsIn(sharedDir(t))
	if len(files) < 5 {
		t.Fatalf("expected shared GGUF fixtures, found %d", len(files))
	}
	return files
}

func sharedGGUFsIn(s string) []string {
	var files []string
	for _, pat := range []string{"fixtures/gguf/*.gguf", "fixtures/llamacpp-vocab/*.gguf"} {
		m, _ := filepath.Glob(filepath.Join(s, pat))
		files = append(files, m...)
	}
	return files
}

func TestOpenShared(t *testing.T) {
	for _, p := range sharedGGUFs(t) {
		f, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: v%d arch=%s kv=%d tensors=%d align=%d data@%d size=%d", filepath.Base(p), f.Version, f.Arch(), len(f.KV), len(f.Tensors), f.Alignment, f.DataOffset, f.Size)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// rewrite copies f through Writer into a new file and returns its path.
func rewrite(t *testing.T, f *File) string {
	t.Helper()
	w := NewWriter()
	for _, kv := range f.KV {
		if err := w.AddKV(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	for _, ti := range f.Tensors {
		if err := w.AddTensor(ti.Name, ti.Type, ti.Shape()); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "out.gguf")
	err := w.WriteFile(out, func(i int, info TensorInfo, dst io.Writer) error {
		tt, err := f.Tensor(info.Name)
		if err != nil {
			return err
		}
		_, err = dst.Write(tt.Data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRewriteSharedIdentical: llama.cpp's writers (ggml and gguf-py) produced
// these files; our writer must reproduce them byte for byte.
func TestRewriteSharedIdentical(t *testing.T) {
	for _, p := range sharedGGUFs(t) {
		f, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		out := rewrite(t, f)
		f.Close()
		a, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			i := 0
			for i < len(a) && i < len(b) && a[i] == b[i] {
				i++
			}
			t.Errorf("%s: rewrite differs: sizes %d vs %d, first difference at byte %d", filepath.Base(p), len(a), len(b), i)
		}
	}
}
