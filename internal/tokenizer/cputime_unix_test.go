//go:build unix

package tokenizer

import (
	"syscall"
	"time"
)

// processCPU is user+system CPU time of the process (all threads, GC
// included): on a shared machine it is a steadier measure than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
