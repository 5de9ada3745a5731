package daemon

import (
	"errors"
	"fmt"

	"github.com/powmine/powmine/internal/jsonrpc"
	"github.com/prometheus/client_golang/prometheus"
)

// ErrNoRPC is returned by RegisterMethod when the daemon has no RPC
// server (neither Config.RPCAddr nor Config.RPCListener was set).
var ErrNoRPC = errors.New("daemon: no RPC server")

// ErrMethodExists is returned by RegisterMethod for a name already
// registered.
var ErrMethodExists = errors.New("daemon: RPC method already registered")

// RegisterMetrics adds a collector (a component running next to the node,
// such as a Stratum pool) to the registry served at /metrics. Its metrics
// must not clash with the node's.
func (d *Daemon) RegisterMetrics(c prometheus.Collector) error {
	if err := d.metrics.reg.Register(c); err != nil {
		return fmt.Errorf("daemon: register metrics: %w", err)
	}
	return nil
}

// RegisterMethod adds a JSON-RPC method served next to the node's. Call
// it before Run.
func (d *Daemon) RegisterMethod(name string, h jsonrpc.Handler) error {
	if d.rpc == nil {
		return ErrNoRPC
	}
	if d.rpc.Has(name) {
		return fmt.Errorf("%w: %s", ErrMethodExists, name)
	}
	d.rpc.Register(name, h)
	return nil
}
