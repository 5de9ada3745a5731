// Package cli holds what the project's binaries share: the exit status
// convention (2 for bad flags or arguments, as the flag package uses, and
// 1 for any other error) and a main that runs until SIGINT or SIGTERM.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// UsageError marks bad flags or arguments: Main exits with status 2.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the error inside.
func (e UsageError) Unwrap() error { return e.Err }

// Usage marks err as a usage error.
func Usage(err error) error { return UsageError{Err: err} }

// Usagef returns a usage error with a formatted message.
func Usagef(format string, args ...any) error { return Usage(fmt.Errorf(format, args...)) }

// Main runs run with a context cancelled by SIGINT or SIGTERM and exits:
// 0 when it returns nil, else after printing "name: error" to standard
// error, 2 for a UsageError and 1 for any other error.
func Main(name string, run func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	os.Exit(Report(os.Stderr, name, err))
}

// Report prints err (if any) as "name: error" to w and returns the exit
// status Main uses for it.
func Report(w io.Writer, name string, err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(w, "%s: %v\n", name, err)
	var ue UsageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}
