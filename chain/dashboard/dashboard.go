package dashboard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/chain/p2p"
)

// Defaults of Config.
const (
	// DefaultMaxStreams bounds the open update streams (one per open
	// page): 100 pages cost the node about 2 MB (see README), and one
	// more stream is answered 503 Service Unavailable.
	DefaultMaxStreams = 100
	// DefaultUpdateInterval is how often the overview is pushed to open
	// pages between blocks (the hashrate moves without a block).
	DefaultUpdateInterval = 5 * time.Second
	// DefaultSampleInterval is the charts' resolution over the last hour.
	DefaultSampleInterval = 10 * time.Second
	// DefaultHeartbeatInterval is how often an idle stream gets a
	// comment line, so that proxies and browsers keep it open.
	DefaultHeartbeatInterval = 15 * time.Second
)

// Bounds of what one page shows.
const (
	// TreeHeights is how many heights below the tip the block tree draws.
	TreeHeights = 16
	// MaxTreeBranches bounds the side branches the tree draws.
	MaxTreeBranches = 16
	// MaxTreeOrphans bounds the orphan blocks the tree draws, those
	// whose coinbase claims a height from the tree's first to
	// TreeHeights above the tip.
	MaxTreeOrphans = 16
	// MaxWorkerRows bounds the workers table.
	MaxWorkerRows = 1000
	// TxScanDepth is how many main-chain blocks a transaction search
	// reads back from the tip: the node keeps no transaction index.
	TxScanDepth = 1000
	// IntervalBlocks is how many recent blocks the block-interval chart
	// and the network hashrate estimate cover.
	IntervalBlocks = 120
)

// Chain is the block index and state the page reads; *node.Node
// satisfies it. Its methods must be safe for concurrent use.
type Chain interface {
	// Tip returns the best chain's tip.
	Tip() node.BlockInfo
	// BlockInfo returns a block of the index, on any branch.
	BlockInfo(hash chain.Hash) (node.BlockInfo, bool)
	// BlockByHeight returns the best chain's block at height.
	BlockByHeight(height int64) (node.BlockInfo, bool)
	// MainChainHas reports whether the block is on the best chain.
	MainChainHas(hash chain.Hash) bool
	// Block returns a stored block.
	Block(hash chain.Hash) (*chain.Block, error)
	// Account returns an address's state at the tip.
	Account(a chain.Address) chain.Account
	// ChainTips returns the tips of every branch, the active one first.
	ChainTips() []node.ChainTip
	// OrphanCount returns the number of blocks waiting for their parent.
	OrphanCount() int
	// Orphans returns the blocks waiting for their parent, oldest
	// first, as many as the node's orphan pool holds.
	Orphans() []node.OrphanInfo
}

// PoolStats are a Stratum pool's totals (stratum/pool's PoolStats,
// which this package does not import: the pool's tests import
// chain/daemon, which imports this package).
type PoolStats struct {
	Conns, Workers int
	Accepted       uint64
	// Blocks counts the pool's shares that became the tip.
	Blocks   uint64
	Hashrate float64 // H/s
}

// WorkerStats are one worker's statistics (stratum/pool's WorkerStats).
type WorkerStats struct {
	Worker, Address string
	Hashrate        float64 // H/s
	Accepted, Stale uint64
	Rejected        uint64
	RejectedBy      map[string]uint64
	LastShare       time.Time // zero for none
	Difficulty      float64   // of the last accepted share
}

// Pool is the Stratum pool's statistics; cmd/node adapts *pool.Server.
type Pool interface {
	// PoolStats returns the pool's totals.
	PoolStats() PoolStats
	// WorkerStats returns the tracked workers.
	WorkerStats() []WorkerStats
}

// Peers lists the connected peers; *p2p.Node satisfies it.
type Peers interface {
	// Peers returns the connected peers.
	Peers() []p2p.PeerInfo
}

// Sources say which peer delivered each block; *p2p.Node satisfies it.
// Its methods must be safe for concurrent use.
type Sources interface {
	// BlockSource returns the peer that first delivered the block, the
	// node's own ID for a block mined or submitted locally; false when
	// unknown.
	BlockSource(hash chain.Hash) (peer.ID, bool)
	// ID returns the node's own peer id.
	ID() peer.ID
}

// Checkpoints are the latest justified and finalized blocks; a zero hash
// is none.
type Checkpoints struct {
	Justified, Finalized chain.Hash
}

// Finality is proof-of-stake finality: the block tree marks its
// checkpoints. chain/daemon adapts chain/node's finality state to it on
// chains with stake.
type Finality interface {
	// Checkpoints returns the latest checkpoints.
	Checkpoints() Checkpoints
}

// Config configures a Server. New validates it.
type Config struct {
	// Chain is the node's block index. This field is required.
	Chain Chain
	// TipChanged returns a channel closed at the next change of the tip;
	// the open pages are updated then. Can be nil: pages are updated
	// every UpdateInterval only.
	TipChanged func() <-chan struct{}
	// Pool is the Stratum pool next to the node. Can be nil: no pool.
	Pool Pool
	// Peers are the node's peers. Can be nil: no networking.
	Peers Peers
	// Sources name the peer each block came from, in the tree and on
	// the block page. Can be nil: not shown.
	Sources Sources
	// Finality marks checkpoints in the tree. Can be nil.
	Finality Finality
	// MaxStreams bounds the open update streams; 0 selects
	// DefaultMaxStreams.
	MaxStreams int
	// UpdateInterval, SampleInterval and HeartbeatInterval: 0 selects
	// the defaults.
	UpdateInterval, SampleInterval, HeartbeatInterval time.Duration
	// Logger receives the page's log. Can be nil: discard.
	Logger *slog.Logger
	// Now is the clock. Can be nil: time.Now.
	Now func() time.Time
}

// ErrConfig is wrapped by New's errors for invalid configuration.
var ErrConfig = errors.New("dashboard: bad config")

// Server serves the dashboard. Its methods are safe for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	start   time.Time
	handler http.Handler
	hist    *history
	hub     *hub

	mu   sync.Mutex
	last *update // the latest overview and tree, nil before the first
}

// New returns a Server; call Run to sample and push updates, and serve
// Handler.
func New(cfg Config) (*Server, error) {
	if cfg.Chain == nil {
		return nil, fmt.Errorf("%w: Chain is required", ErrConfig)
	}
	if cfg.MaxStreams < 0 || cfg.UpdateInterval < 0 || cfg.SampleInterval < 0 || cfg.HeartbeatInterval < 0 {
		return nil, fmt.Errorf("%w: negative limit or interval", ErrConfig)
	}
	cfg.MaxStreams = cmp.Or(cfg.MaxStreams, DefaultMaxStreams)
	cfg.UpdateInterval = cmp.Or(cfg.UpdateInterval, DefaultUpdateInterval)
	cfg.SampleInterval = cmp.Or(cfg.SampleInterval, DefaultSampleInterval)
	cfg.HeartbeatInterval = cmp.Or(cfg.HeartbeatInterval, DefaultHeartbeatInterval)
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.start = s.now()
	s.hist = newHistory(cfg.SampleInterval)
	s.hub = newHub(cfg.MaxStreams)
	s.handler = s.routes()
	return s, nil
}

// Handler returns the page's HTTP handler: GET and HEAD only. It asks
// no credentials: the caller wraps it where they are needed (chain/daemon
// does with the RPC's check unless the listener is on loopback).
func (s *Server) Handler() http.Handler { return s.handler }

// Run samples the pool for the charts and pushes updates to the open
// pages until ctx is done; then it closes the open streams.
func (s *Server) Run(ctx context.Context) error {
	defer s.hub.close()
	tick := time.NewTicker(s.cfg.UpdateInterval)
	defer tick.Stop()
	sample := time.NewTicker(s.cfg.SampleInterval)
	defer sample.Stop()
	s.sample()
	s.refresh()
	for {
		var tipc <-chan struct{}
		if s.cfg.TipChanged != nil {
			tipc = s.cfg.TipChanged()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tipc:
		case <-tick.C:
		case <-sample.C:
			s.sample()
		}
		s.refresh()
	}
}

// refresh computes the overview and the tree once and pushes them to
// every open page.
func (s *Server) refresh() {
	u := s.compute()
	s.mu.Lock()
	s.last = u
	s.mu.Unlock()
	s.hub.broadcast(u.event)
}

// latest returns the latest update, computing a new one when Run has not
// yet seen the current tip: a page never shows an older tip than the
// node has.
func (s *Server) latest() *update {
	s.mu.Lock()
	u := s.last
	s.mu.Unlock()
	if u == nil || u.overview.Tip != s.cfg.Chain.Tip().Hash.String() {
		u = s.compute()
	}
	return u
}

// sample records the pool's figures for the charts.
func (s *Server) sample() {
	smp := sample{T: s.now().Unix(), Net: s.networkHashrate(s.cfg.Chain.Tip())}
	if p := s.cfg.Pool; p != nil {
		ps := p.PoolStats()
		smp.Pool, smp.Accepted = ps.Hashrate, ps.Accepted
		ws := p.WorkerStats()
		var diffSum float64
		var n int
		for _, w := range ws {
			if w.Difficulty > 0 {
				diffSum += w.Difficulty
				n++
			}
		}
		if n > 0 {
			smp.ShareDiff = diffSum / float64(n)
		}
		smp.Top = topWorkers(ws, topWorkersCharted)
	}
	s.hist.add(smp)
}
