// Package mmap maps files read-only into memory, so model weights are paged
// in on use and shared with the page cache instead of copied.
package mmap

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Map maps path read-only. A file shorter than min bytes is an error naming
// what (e.g. "a GGUF header"), so callers need not map empty or truncated
// files.
func Map(path string, min int64, what string) ([]byte, error) {
	return mapFile(path, min, what, unix.PROT_READ, unix.MAP_SHARED)
}

// MapPrivate maps path copy-on-write: reads see the file, writes change
// only this process's pages (which then count as its anonymous memory) and
// never the file. Weights rearranged in place at load use it.
func MapPrivate(path string, min int64, what string) ([]byte, error) {
	return mapFile(path, min, what, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
}

func mapFile(path string, min int64, what string, prot, flags int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size < min {
		return nil, fmt.Errorf("file is %d bytes, too short for %s", size, what)
	}
	if int64(int(size)) != size {
		return nil, fmt.Errorf("file of %d bytes is too large to map", size)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(size), prot, flags)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	return m, nil
}

// Unmap releases a mapping from Map.
func Unmap(m []byte) error {
	if m == nil {
		return nil
	}
	if err := unix.Munmap(m); err != nil {
		return fmt.Errorf("munmap: %w", err)
	}
	return nil
}
