package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/powmine/powmine/chain/dashboard"
	"github.com/powmine/powmine/chain/node"
)

// SetDashboardPool shows a Stratum pool's statistics on the dashboard
// (*pool.Server satisfies dashboard.Pool). Call it before Run.
func (d *Daemon) SetDashboardPool(p dashboard.Pool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dashPool = p
}

// startDashboard makes the web dashboard and runs its updates until ctx
// is done; wait returns once they stopped.
func (d *Daemon) startDashboard(ctx context.Context) (dash *dashboard.Server, wait func(), err error) {
	d.mu.Lock()
	cfg := dashboard.Config{Chain: d.node, TipChanged: d.TipChanged, Pool: d.dashPool, Logger: d.log.With("component", "dashboard"), Now: d.now}
	d.mu.Unlock()
	if d.net != nil {
		cfg.Peers, cfg.Sources = d.net, d.net
	}
	if d.params.EpochLength > 0 {
		cfg.Finality = nodeFinality{d.node}
	}
	if dash, err = dashboard.New(cfg); err != nil {
		return nil, nil, err
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = dash.Run(ctx) })
	return dash, wg.Wait, nil
}

// nodeFinality shows the node's justified and finalized checkpoints in
// the dashboard's block tree.
type nodeFinality struct{ n *node.Node }

// Checkpoints implements dashboard.Finality.
func (f nodeFinality) Checkpoints() dashboard.Checkpoints {
	info := f.n.Finality()
	return dashboard.Checkpoints{Justified: info.Justified.Hash, Finalized: info.Finalized.Hash}
}

// dashboardHandler is the dashboard as served on a listener: without
// credentials only on loopback, else behind the RPC's credentials.
func (d *Daemon) dashboardHandler(dash *dashboard.Server, public bool) http.Handler {
	if public {
		return dash.Handler()
	}
	return d.rpc.RequireAuth(dash.Handler())
}

// withDashboard sends GET and HEAD requests to the dashboard and the
// others (JSON-RPC's POSTs) to rpc.
func withDashboard(dash, rpc http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			dash.ServeHTTP(w, r)
			return
		}
		rpc.ServeHTTP(w, r)
	})
}

// serveHTTP serves the dashboard alone on Config.HTTPAddr until ctx is
// done.
func (d *Daemon) serveHTTP(ctx context.Context, dash *dashboard.Server) error {
	ln, err := net.Listen("tcp", d.httpAddr)
	if err != nil {
		return fmt.Errorf("daemon: dashboard listen: %w", err)
	}
	public := isLoopback(ln.Addr())
	d.log.Info("dashboard listening", "addr", ln.Addr().String(), "credentials", !public)
	limited := newConnLimiter(ln, d.maxRPCConns)
	srv := &http.Server{
		Handler:           d.dashboardHandler(dash, public),
		ReadHeaderTimeout: rpcHeaderTimeout,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       d.rpcIdleTimeout,
		MaxHeaderBytes:    1 << 16,
		ConnState:         limited.track,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(limited) }()
	select {
	case err := <-errc:
		return fmt.Errorf("daemon: dashboard server: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
