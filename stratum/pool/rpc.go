package pool

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/powmine/powmine/internal/jsonrpc"
)

// MethodRegistrar takes JSON-RPC methods; *daemon.Daemon satisfies it.
type MethodRegistrar interface {
	// RegisterMethod adds a method to the RPC server.
	RegisterMethod(name string, h jsonrpc.Handler) error
}

// MaxRPCWorkers is the most workers one getpoolworkers reply lists, and
// the count it lists when not asked: about 400 KB of JSON with the
// longest names, where the DefaultMaxTrackedWorkers workers would be
// 4 MB (and 326 MB before user names were bounded).
const MaxRPCWorkers = 1000

// RegisterRPC adds the pool's JSON-RPC methods: getpoolinfo (the totals,
// PoolInfo) and getpoolworkers [count, after] (the tracked workers,
// []WorkerInfo): count workers (1 to MaxRPCWorkers, default
// MaxRPCWorkers) in user order, from the first whose user sorts after
// after (default ""). A reply of count workers may have a next page: ask
// again with its last worker as after.
func (s *Server) RegisterRPC(r MethodRegistrar) error {
	return errors.Join(
		r.RegisterMethod("getpoolinfo", s.getPoolInfo),
		r.RegisterMethod("getpoolworkers", s.getPoolWorkers),
	)
}

// PoolInfo is getpoolinfo's reply.
type PoolInfo struct {
	Connections int               `json:"connections"`
	Workers     int               `json:"workers"`
	Accepted    uint64            `json:"accepted"`
	Rejected    uint64            `json:"rejected"`
	RejectedBy  map[string]uint64 `json:"rejected_by_reason"`
	Blocks      uint64            `json:"blocks"`
	SideBlocks  uint64            `json:"side_blocks"`
	Hashrate    float64           `json:"hashrate"`
}

// WorkerInfo is one worker in getpoolworkers' reply. Times are Unix
// seconds; LastShare is 0 before the first share.
type WorkerInfo struct {
	Worker     string            `json:"worker"`
	Address    string            `json:"address"`
	Name       string            `json:"name"`
	Hashrate   float64           `json:"hashrate"`
	Accepted   uint64            `json:"accepted"`
	Rejected   uint64            `json:"rejected"`
	RejectedBy map[string]uint64 `json:"rejected_by_reason"`
	Stale      uint64            `json:"stale"`
	LastShare  int64             `json:"lastshare"`
	Authorized int64             `json:"authorized"`
}

func (s *Server) getPoolInfo(_ context.Context, params json.RawMessage) (any, error) {
	if err := jsonrpc.Params(params); err != nil {
		return nil, err
	}
	ps := s.PoolStats()
	return PoolInfo{
		Connections: ps.Conns,
		Workers:     ps.Workers,
		Accepted:    ps.Accepted,
		Rejected:    ps.Rejected.Total(),
		RejectedBy:  ps.Rejected.Map(),
		Blocks:      ps.Blocks,
		SideBlocks:  ps.SideBlocks,
		Hashrate:    ps.Hashrate,
	}, nil
}

func (s *Server) getPoolWorkers(_ context.Context, params json.RawMessage) (any, error) {
	count, after := MaxRPCWorkers, ""
	if err := jsonrpc.Params(params, &count, &after); err != nil {
		return nil, err
	}
	if count < 1 || count > MaxRPCWorkers {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParameter, "count %d, want 1 to %d", count, MaxRPCWorkers)
	}
	ws := s.stats.workerPage(after, count)
	out := make([]WorkerInfo, len(ws))
	for i, w := range ws {
		out[i] = WorkerInfo{
			Worker:     w.Worker,
			Address:    w.Address.String(),
			Name:       w.Name,
			Hashrate:   w.Hashrate,
			Accepted:   w.Accepted,
			Rejected:   w.Rejected.Total(),
			RejectedBy: w.Rejected.Map(),
			Stale:      w.Stale,
			Authorized: w.Authorized.Unix(),
		}
		if !w.LastShare.IsZero() {
			out[i].LastShare = w.LastShare.Unix()
		}
	}
	return out, nil
}
