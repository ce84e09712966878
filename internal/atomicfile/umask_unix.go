//go:build unix

package atomicfile

import "syscall"

// umask is the process umask, read once (Umask sets it, so set it back).
var umask = func() uint32 {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return uint32(m)
}()
