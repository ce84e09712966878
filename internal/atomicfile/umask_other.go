//go:build !unix

package atomicfile

var umask uint32 = 0o022
