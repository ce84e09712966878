// Package mmap maps files read-only into memory, so model weights are paged
// in on use and shared with the page cache instead of copied.
package mmap

import (
	"fmt"
	"os"
	"unsafe"

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

// PrefaultWrite asks the kernel to make the pages under b writable and
// present in one call (MADV_POPULATE_WRITE, Linux 5.14+), so rewriting a
// copy-on-write mapping in place costs one batched copy instead of a page
// fault per 4 KiB. It is only a hint and callers may ignore the error (an
// older kernel answers EINVAL).
func PrefaultWrite(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	page := uintptr(os.Getpagesize())
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo, hi := start&^(page-1), (start+uintptr(len(b))+page-1)&^(page-1)
	if _, _, e := unix.Syscall(unix.SYS_MADVISE, lo, hi-lo, unix.MADV_POPULATE_WRITE); e != 0 {
		return fmt.Errorf("madvise(MADV_POPULATE_WRITE): %w", e)
	}
	return nil
}
