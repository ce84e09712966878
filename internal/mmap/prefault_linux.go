package mmap

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

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
