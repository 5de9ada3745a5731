package main

import (
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/powmine/powmine/stratum/pool"
)

// reservedFiles is how many file descriptors the node keeps for itself
// beyond the pool's and the RPC server's connections: the store, its
// lock, the PPLNS window and genesis files, logs, the listeners.
const reservedFiles = 64

// minPoolConns is the fewest Stratum connections the node starts with
// when the open-file limit forces it below --stratum-max-conns.
const minPoolConns = 16

// poolLimits are the pool's connection and abuse limits, as flags.
type poolLimits struct {
	maxConns, maxConnsPerIP, maxUnauthConns int
	maxInvalid, banConns                    int
	banWindow, banDuration                  time.Duration
}

// flags registers the limits' flags on fs, with the pool's defaults.
func (l *poolLimits) flags(fs *flag.FlagSet) {
	fs.IntVar(&l.maxConns, "stratum-max-conns", pool.DefaultMaxConns, "most Stratum connections (lowered to fit the open-file limit)")
	fs.IntVar(&l.maxConnsPerIP, "stratum-max-conns-per-ip", pool.DefaultMaxConnsPerIP, "most Stratum connections from one IPv4 address or IPv6 /64")
	fs.IntVar(&l.maxUnauthConns, "stratum-max-unauth-conns", pool.DefaultMaxUnauthConns, "most Stratum connections not yet authorized (the oldest gives its place to a new one)")
	fs.IntVar(&l.maxInvalid, "stratum-max-invalid", pool.DefaultMaxInvalidPerConn, "invalid requests within --stratum-ban-window that close a Stratum connection")
	fs.IntVar(&l.banConns, "stratum-ban-conns", pool.DefaultBanAbusiveConns, "connections closed for abuse within --stratum-ban-window that ban their IP")
	fs.DurationVar(&l.banWindow, "stratum-ban-window", pool.DefaultBanWindow, "window in which invalid requests and abusive connections are counted")
	fs.DurationVar(&l.banDuration, "stratum-ban-time", pool.DefaultBanDuration, "how long a banned IP is refused")
}

// fit lowers the pool's connection limit so that the pool's and the RPC
// server's connections leave reservedFiles descriptors of the open-file
// limit (0: unknown, nothing checked) to the store and the rest, saying so
// in the log. Fewer than minPoolConns left is an error.
func (l *poolLimits) fit(limit uint64, rpcConns int, log *slog.Logger) error {
	if limit == 0 || l.maxConns <= 0 {
		return nil
	}
	room := int64(limit) - int64(rpcConns) - reservedFiles
	if room >= int64(l.maxConns) {
		return nil
	}
	if room < minPoolConns {
		return fmt.Errorf("the open-file limit %d leaves %d descriptors for Stratum connections after %d RPC connections and %d reserved: "+
			"raise it (ulimit -n) or lower --rpc-max-conns", limit, max(room, 0), rpcConns, reservedFiles)
	}
	log.Warn("Stratum connections lowered to fit the open-file limit (raise it with ulimit -n)",
		"stratum_max_conns", l.maxConns, "lowered_to", room, "open_file_limit", limit, "rpc_max_conns", rpcConns, "reserved", reservedFiles)
	l.maxConns = int(room)
	l.maxUnauthConns = min(l.maxUnauthConns, l.maxConns)
	l.maxConnsPerIP = min(l.maxConnsPerIP, l.maxConns)
	return nil
}
