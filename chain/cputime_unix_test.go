//go:build unix

package chain

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time, user and system, the process has used.
// Benchmarks report it per operation beside the wall time, which on a
// machine shared with other work also counts the time others ran.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
