// Package atomicfile writes files so that readers see either the old file
// or the complete new one: data goes to a temporary file in the same folder,
// which is synced and renamed over the target on Commit.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// File is a file being written atomically. Write through W (buffered).
type File struct {
	W    *bufio.Writer
	path string
	f    *os.File
	done bool
}

// Create starts writing path, creating its folder if needed.
func Create(path string) (*File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	return &File{W: bufio.NewWriterSize(f, 1<<20), path: path, f: f}, nil
}

// Write writes to the buffered writer.
func (a *File) Write(p []byte) (int, error) { return a.W.Write(p) }

// Commit flushes, syncs and renames the file into place.
func (a *File) Commit() error {
	if a.done {
		return fmt.Errorf("atomicfile %s: already closed", a.path)
	}
	err := a.W.Flush()
	if err == nil {
		// CreateTemp makes 0600 files; outputs are meant to be shared.
		err = a.f.Chmod(os.FileMode(0o644 &^ umask))
	}
	if err == nil {
		err = a.f.Sync()
	}
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	a.done = true
	if err == nil {
		err = os.Rename(a.f.Name(), a.path)
	}
	if err != nil {
		os.Remove(a.f.Name())
		return fmt.Errorf("atomicfile %s: %w", a.path, err)
	}
	return nil
}

// Abort discards the temporary file; it is a no-op after Commit, so it can
// be deferred.
func (a *File) Abort() {
	if a.done {
		return
	}
	a.done = true
	a.f.Close()
	os.Remove(a.f.Name())
}

// Write creates path atomically with what fill writes.
func Write(path string, fill func(w io.Writer) error) error {
	a, err := Create(path)
	if err != nil {
		return err
	}
	defer a.Abort()
	if err := fill(a.W); err != nil {
		return err
	}
	return a.Commit()
}
