package store

import (
	"errors"
	"log/slog"
	"time"
)

// DefaultLockTimeout is how long Open waits for the file lock before it
// fails with ErrLocked, unless WithLockTimeout says otherwise.
const DefaultLockTimeout = time.Second

// config holds the options of Open.
type config struct {
	lockTimeout time.Duration
	logger      *slog.Logger
}

// Option configures Open.
type Option func(*config) error

// WithLockTimeout sets how long Open waits for another process to release
// the file; it must be positive (bbolt would wait forever on 0). Default:
// DefaultLockTimeout.
func WithLockTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return errors.New("store: lock timeout must be positive")
		}
		c.lockTimeout = d
		return nil
	}
}

// WithLogger sets the logger for opening and reindexing records. Default:
// discard.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("store: nil logger")
		}
		c.logger = l
		return nil
	}
}
