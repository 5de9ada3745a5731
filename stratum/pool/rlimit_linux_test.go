package pool

import (
	"fmt"
	"syscall"
)

// raiseFileLimit raises the soft file descriptor limit to need, and the
// hard one where the process may; it fails when the limit stays lower.
func raiseFileLimit(need uint64) error {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return err
	}
	if r.Cur >= need {
		return nil
	}
	want := syscall.Rlimit{Cur: need, Max: max(r.Max, need)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		return fmt.Errorf("file descriptor limit %d below the %d needed: %w", r.Max, need, err)
	}
	return nil
}
