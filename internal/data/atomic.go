package data

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"io"
	"os"
	"path/filepath"
)

// atomicWriter writes to a temporary file beside path and renames it into
// place on commit, so a reader never sees a half-written file.
type atomicWriter struct {
	path string
	f    *os.File
	buf  *bufio.Writer
	sum  hash.Hash
	n    int64
	done bool
}

func newAtomicWriter(path string) (*atomicWriter, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	w := &atomicWriter{path: path, f: f, sum: sha256.New()}
	w.buf = bufio.NewWriterSize(io.MultiWriter(f, w.sum, (*counter)(&w.n)), 1<<20)
	return w, nil
}

type counter int64

func (c *counter) Write(p []byte) (int, error) { *c += counter(len(p)); return len(p), nil }

func (w *atomicWriter) commit() error {
	if err := w.buf.Flush(); err != nil {
		w.abort()
		return err
	}
	if err := w.f.Sync(); err != nil {
		w.abort()
		return err
	}
	if err := w.f.Close(); err != nil {
		w.abort()
		return err
	}
	w.done = true
	return os.Rename(w.f.Name(), w.path)
}

// abort removes the temporary file; a no-op after commit.
func (w *atomicWriter) abort() {
	if w.done {
		return
	}
	w.done = true
	w.f.Close()
	os.Remove(w.f.Name())
}

func (w *atomicWriter) sha256() string { return hex.EncodeToString(w.sum.Sum(nil)) }

func writeJSONAtomic(path string, v any) error {
	w, err := newAtomicWriter(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w.buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		w.abort()
		return err
	}
	return w.commit()
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
