package p2p

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/powmine/powmine/chain"
)

// Defaults of Config's zero fields.
const (
	DefaultLowWater    = 32
	DefaultHighWater   = 64
	DefaultMaxInvalid  = 3
	DefaultBanDuration = 30 * time.Minute
	DefaultRedial      = 10 * time.Second
	// DefaultHelloWait is twice the hello's own deadline.
	DefaultHelloWait = 2 * helloTimeout
)

// Resource manager limits: the go-libp2p defaults scaled, always, to this
// much memory and this many file descriptors, so a node's limits do not
// depend on the machine it runs on.
const (
	ResourceMemory = 1 << 30
	ResourceFDs    = 1024
)

// ErrConfig is wrapped by New's errors for an invalid Config.
var ErrConfig = errors.New("p2p: bad config")

// Chain is the node as the network sees it. Its methods must be safe for
// concurrent use.
type Chain interface {
	// Status returns the tip of the best chain with its justified epoch
	// (Genesis is filled in by the caller).
	Status() Status
	// HaveBlock reports whether the block is stored already (a known
	// header without its block is not).
	HaveBlock(hash chain.Hash) bool
	// ProcessBlock adds a block received from a peer, which passed the
	// proof-of-work check. It returns nil when the block was accepted
	// (on the best chain or a side branch: it is relayed), an error
	// holding a chain.RuleError or wrapping ErrInvalid when the block
	// breaks a rule (rejected, and the sender penalized; a
	// chain.ErrTimeTooNew is only ignored), and any other error, such as
	// one wrapping ErrKnown or ErrOrphan, when it is merely not to be
	// relayed.
	ProcessBlock(b *chain.Block) error
	// ProcessHeaders adds headers received from a peer (on a
	// proof-of-work chain; see SealedChain), which must form a chain
	// from a known header, without their blocks. It returns how
	// many were new; an error holding a chain.RuleError or wrapping
	// ErrInvalid when they break a rule, are known invalid or do not
	// connect (the peer is penalized; a chain.ErrTimeTooNew is only
	// ignored), and any other error, such as a full index or a header
	// forgotten lately (see ForgetHeaders), when they are merely not
	// taken (the headers before the failing one are).
	ProcessHeaders(hs []chain.Header) (int, error)
	// HeaderLocator returns a block locator of the chain of the best
	// header, with or without its blocks: hashes from it back,
	// exponentially spaced, ending at genesis.
	HeaderLocator() []chain.Hash
	// MissingBlocks returns the hashes of up to max blocks, in height
	// order, that the chain lacks on the chain of its best header.
	MissingBlocks(max int) []chain.Hash
	// MissingBlocksTo is MissingBlocks on the chain of the header tip
	// (a peer's tip) instead of the best header's: none when the
	// header is unknown, known invalid or on a branch the chain would
	// never follow (below its finalized checkpoint).
	MissingBlocksTo(tip chain.Hash, max int) []chain.Hash
	// HaveHeader reports whether the header is in the index, with or
	// without its block.
	HaveHeader(hash chain.Hash) bool
	// ForgetHeaders drops the header hash, which has no block stored,
	// and every header after it (none has a block), so that the chain's
	// best header and MissingBlocks move to another branch; it returns
	// how many headers it dropped (0 for an unknown hash), or an error
	// when hash has a block stored. For a while the chain may refuse
	// hash as a header again (an error that is no rule error).
	ForgetHeaders(hash chain.Hash) (int, error)
	// MainChainHeaders returns up to max headers of the best chain that
	// follow the first locator hash on it (genesis when none is), in
	// order.
	MainChainHeaders(locator []chain.Hash, max int) []chain.Header
	// Block returns a stored block; the result is not modified.
	Block(hash chain.Hash) (*chain.Block, error)
}

// SealedChain is the Chain of a proof-of-stake node (Params.Consensus ==
// chain.ConsensusPoS), as New requires it: headers travel with their
// blocks' seals (SealedHeadersProtocol), and the node uses these two
// methods instead of ProcessHeaders and MainChainHeaders. Its methods
// must be safe for concurrent use.
type SealedChain interface {
	Chain
	// ProcessSealedHeaders is ProcessHeaders for headers that come with
	// their blocks' seals (seals[i] is hs[i]'s), which the chain checks
	// before it takes each header. Its errors say the same: a
	// chain.RuleError (a bad seal included) or one wrapping ErrInvalid
	// penalizes the peer; any other error, such as a header sealed by a
	// key the chain does not know yet (a validator deposited on blocks
	// it lacks), means the headers from the failing one on were merely
	// not taken, and sync goes on after fetching the blocks of those
	// before it.
	ProcessSealedHeaders(hs []chain.Header, seals []chain.BlockSeal) (int, error)
	// MainChainSealedHeaders is MainChainHeaders with the seal of each
	// header's block; an error (the seals cannot be read) leaves the
	// request unanswered.
	MainChainSealedHeaders(locator []chain.Hash, max int) ([]chain.Header, []chain.BlockSeal, error)
}

// Mempool takes the transfers received from peers. Its method must be
// safe for concurrent use.
type Mempool interface {
	// AcceptTransfer adds a transfer to the pool. It returns nil when the
	// transfer was added (it is relayed), an error wrapping ErrInvalid
	// when the transfer can never be valid (bad signature, malformed:
	// rejected, and the sender penalized), and any other error (already
	// pending, a sequence or balance that does not fit the current
	// state, pool full) when it is merely not to be relayed.
	AcceptTransfer(tx *chain.Transaction) error
}

// Errors the Chain and Mempool return, wrapped, to say what to do with a
// message (see Chain and Mempool).
var (
	// ErrInvalid: the message breaks a rule; the sender is penalized.
	ErrInvalid = errors.New("p2p: invalid")
	// ErrKnown: the block or transfer is known already.
	ErrKnown = errors.New("p2p: already known")
	// ErrOrphan: the block's parent is unknown.
	ErrOrphan = errors.New("p2p: unknown parent")
)

// Config configures a Node. New validates it.
type Config struct {
	// Params are the chain's rules; GenesisHash names the topics and is
	// compared in the hello. Required.
	Params *chain.Params
	// Chain and Mempool receive what peers send. Required; on a
	// proof-of-stake chain Chain must be a SealedChain.
	Chain   Chain
	Mempool Mempool
	// Listen are the multiaddrs to listen on (TCP and QUIC v1). Can be
	// empty: the node only dials.
	Listen []ma.Multiaddr
	// Key is the identity key. Can be nil: a new one each run (tests);
	// see LoadKey.
	Key crypto.PrivKey
	// LowWater and HighWater are the connection manager's watermarks:
	// above HighWater connections it trims the least useful ones down to
	// LowWater. 0 selects DefaultLowWater and DefaultHighWater.
	LowWater, HighWater int
	// MaxInvalid is how many rejected messages a peer may send before it
	// is disconnected and banned for BanDuration; at most 5 (gossipsub
	// graylists the peer after 6). 0 selects DefaultMaxInvalid and
	// DefaultBanDuration.
	MaxInvalid  int
	BanDuration time.Duration
	// Redial is how often the node dials the added peers it is not
	// connected to (see AddPeer). 0 selects DefaultRedial.
	Redial time.Duration
	// HelloWait is how long a peer that dialed in has to send its hello
	// before its connections are closed. 0 selects DefaultHelloWait.
	HelloWait time.Duration
	// SyncTimeout bounds the wait for a headers answer, for each block
	// of a blocks answer (the first one included), and for a peer's
	// request. 0 selects DefaultSyncTimeout.
	SyncTimeout time.Duration
	// BanFile keeps the ban list across restarts (see Ban). Can be
	// empty: bans are kept in memory only.
	BanFile string
	// MaxBans bounds the ban list; a new ban pushes out the one that
	// expires first. 0 selects DefaultMaxBans.
	MaxBans int
	// MDNS turns on mDNS discovery on the local network (see
	// MDNSService); off by default.
	MDNS bool
	// Logger receives the network's log. Can be nil: discard.
	Logger *slog.Logger
	// Host, for tests and simulations (such as go-libp2p's mocknet, whose
	// links can have latency), is a host the caller made, used instead of
	// the one New builds; Listen and Key must then be empty, and
	// LowWater and HighWater zero. Its transports, connection manager,
	// resource manager and connection gater are the caller's: Ban still
	// closes a peer's connections and Banned reports the ban, but the
	// host refuses a banned peer's new connections only if its own gater
	// does. The Node owns it from New on: Close closes it. Can be nil
	// (always, outside tests).
	Host host.Host
}

// Node is a libp2p host with the gossip topics and the hello protocol
// of one chain. Its methods are safe for concurrent use.
type Node struct {
	// Immutable after New.
	params      *chain.Params
	chain       Chain
	sealed      SealedChain // chain, on a proof-of-stake chain; else nil
	mempool     Mempool
	log         *slog.Logger
	host        host.Host
	ps          *pubsub.PubSub
	blocks      *topic
	transfers   *topic
	gater       *gater
	mesh        *meshTracer
	sources     *sourceSet // BlockSource
	maxInvalid  int
	banDuration time.Duration
	redial      time.Duration
	helloWait   time.Duration
	syncTimeout time.Duration
	syncs       chan peer.ID  // peers to sync with (syncLoop)
	announce    chan struct{} // wakes announceLoop: the tip may have changed
	mdns        mdns.Service  // nil without Config.MDNS
	// quiet holds the hashes of the blocks sync is handing to the chain,
	// which PublishBlock leaves out; lastSynced is the last such block
	// the chain accepted in the running sync (syncWith).
	quiet      sync.Map
	lastSynced atomic.Pointer[chain.Block]

	// ctx is canceled by Close, which then waits for wg: the goroutines
	// of the node.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// refused counts peers closed at the hello for another genesis.
	refused atomic.Int64
	// Sync counters (see SyncStats).
	syncRequests, syncHeaderRequests, syncFailed, syncStalls atomic.Int64
	syncHeaders, syncBlocks, syncNotFound                    atomic.Int64
	syncForgotten, syncForgottenHeaders                      atomic.Int64
	orphanSyncs, helloSyncs, statusSyncs                     atomic.Int64
	syncQuieted, syncAnnounced                               atomic.Int64
	servedMu                                                 sync.Mutex
	served                                                   map[peer.ID]int64 // accepted sync blocks per sender
	// Status announcement counters (see Stats).
	statusSent, statusReceived, statusIgnored atomic.Int64

	mu      sync.Mutex
	hellos  map[peer.ID]Status        // the last hello of each connected peer
	invalid map[peer.ID]int           // rejected messages per peer
	added   map[peer.ID]peer.AddrInfo // peers to keep connected (AddPeer)
	closed  bool

	// relayMu guards relays (peerstats.go: the accepted gossip
	// messages of each connected peer) and scores (gossipsub's peer
	// scores, replaced every ScoreInspectPeriod). It is taken alone.
	relayMu sync.Mutex
	relays  map[peer.ID]*relayCounts
	scores  map[peer.ID]float64

	// annMu guards ann: the announcement state of each connected peer
	// that said hello (status.go). It is taken after mu, never before.
	annMu sync.Mutex
	ann   map[peer.ID]*peerAnnounce
}

// New starts a host listening on cfg.Listen with TCP and QUIC only, no
// relay, no NAT port mapping, no hole punching and no discovery but
// mDNS with cfg.MDNS, loads the ban list of cfg.BanFile, joins
// the block and transfer topics of cfg.Params' genesis, and serves the
// hello and block sync. Close stops it.
func New(cfg Config) (*Node, error) {
	if cfg.Params == nil || cfg.Chain == nil || cfg.Mempool == nil {
		return nil, fmt.Errorf("%w: Params, Chain and Mempool are required", ErrConfig)
	}
	var sealed SealedChain
	if cfg.Params.Consensus == chain.ConsensusPoS {
		var ok bool
		if sealed, ok = cfg.Chain.(SealedChain); !ok {
			return nil, fmt.Errorf("%w: the Chain of a proof-of-stake node must be a SealedChain", ErrConfig)
		}
	}
	if cfg.LowWater < 0 || cfg.HighWater < 0 || cfg.MaxInvalid < 0 || cfg.BanDuration < 0 || cfg.Redial < 0 || cfg.HelloWait < 0 || cfg.SyncTimeout < 0 || cfg.MaxBans < 0 {
		return nil, fmt.Errorf("%w: negative limit", ErrConfig)
	}
	if cfg.MaxInvalid > maxInvalidLimit {
		return nil, fmt.Errorf("%w: MaxInvalid %d above %d (a graylisted peer's messages are no longer seen)", ErrConfig, cfg.MaxInvalid, maxInvalidLimit)
	}
	low, high := cmp.Or(cfg.LowWater, DefaultLowWater), cmp.Or(cfg.HighWater, DefaultHighWater)
	if low > high {
		return nil, fmt.Errorf("%w: low water %d above high water %d", ErrConfig, low, high)
	}
	if cfg.Host != nil && (len(cfg.Listen) > 0 || cfg.Key != nil || cfg.LowWater != 0 || cfg.HighWater != 0) {
		return nil, fmt.Errorf("%w: Listen, Key and the watermarks belong to the host the caller made (Config.Host)", ErrConfig)
	}
	n := &Node{
		params:      cfg.Params,
		chain:       cfg.Chain,
		sealed:      sealed,
		mempool:     cfg.Mempool,
		log:         cfg.Logger,
		mesh:        newMeshTracer(),
		sources:     newSourceSet(MaxBlockSources),
		maxInvalid:  cmp.Or(cfg.MaxInvalid, DefaultMaxInvalid),
		banDuration: cmp.Or(cfg.BanDuration, DefaultBanDuration),
		redial:      cmp.Or(cfg.Redial, DefaultRedial),
		helloWait:   cmp.Or(cfg.HelloWait, DefaultHelloWait),
		syncTimeout: cmp.Or(cfg.SyncTimeout, DefaultSyncTimeout),
		syncs:       make(chan peer.ID, syncQueue),
		announce:    make(chan struct{}, 1),
		ann:         make(map[peer.ID]*peerAnnounce),
		relays:      make(map[peer.ID]*relayCounts),
		served:      make(map[peer.ID]int64),
		hellos:      make(map[peer.ID]Status),
		invalid:     make(map[peer.ID]int),
		added:       make(map[peer.ID]peer.AddrInfo),
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	g, err := newGater(cfg.BanFile, cmp.Or(cfg.MaxBans, DefaultMaxBans))
	if err != nil {
		return nil, err
	}
	n.gater = g
	h := cfg.Host
	if h == nil {
		if h, err = newHost(cfg, n.gater, low, high); err != nil {
			return nil, err
		}
	}
	n.host = h
	ctx, cancel := context.WithCancel(context.Background())
	n.ctx, n.cancel = ctx, cancel
	if err := n.startGossip(ctx); err != nil {
		cancel()
		return nil, errors.Join(err, h.Close())
	}
	h.SetStreamHandler(HelloProtocol, n.handleHello)
	if sealed != nil {
		h.SetStreamHandler(SealedHeadersProtocol, n.handleSealedHeaders)
	} else {
		h.SetStreamHandler(HeadersProtocol, n.handleHeaders)
	}
	h.SetStreamHandler(GetBlocksProtocol, n.handleGetBlocks)
	h.SetStreamHandler(StatusProtocol, n.handleStatus)
	h.Network().Notify(&network.NotifyBundle{
		ConnectedF:    n.connected,
		DisconnectedF: n.disconnected,
	})
	n.wg.Add(3)
	go n.redialLoop(ctx)
	go n.syncLoop(ctx)
	go n.announceLoop(ctx)
	if cfg.MDNS {
		if err := n.startMDNS(); err != nil {
			return nil, errors.Join(fmt.Errorf("p2p: mDNS: %w", err), n.Close())
		}
	}
	return n, nil
}

// newHost builds the host of New: TCP and QUIC v1 on cfg.Listen, the
// connection manager with watermarks low and high, the resource manager
// and the gater g.
func newHost(cfg Config, g *gater, low, high int) (host.Host, error) {
	cm, err := connmgr.NewConnManager(low, high, connmgr.WithGracePeriod(time.Minute))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	rm, err := newResourceManager()
	if err != nil {
		return nil, err
	}
	opts := []libp2p.Option{
		libp2p.ListenAddrs(cfg.Listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(libp2pquic.NewTransport),
		libp2p.ConnectionManager(cm),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionGater(g),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.UserAgent("powmine"),
	}
	if len(cfg.Listen) == 0 {
		opts = append(opts, libp2p.NoListenAddrs)
	}
	if cfg.Key != nil {
		opts = append(opts, libp2p.Identity(cfg.Key))
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("p2p: host: %w", err)
	}
	return h, nil
}

// ID returns the node's peer id.
func (n *Node) ID() peer.ID { return n.host.ID() }

// Addrs returns the multiaddrs the node listens on, each ending with
// /p2p/ID, as peers pass them to --peer or addnode.
func (n *Node) Addrs() []ma.Multiaddr {
	addrs, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: n.host.ID(), Addrs: n.host.Addrs()})
	if err != nil { // only for an empty peer id
		return nil
	}
	return addrs
}

// Close leaves the topics and stops the host.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.mu.Unlock()
	n.cancel()
	var err error
	if n.mdns != nil {
		err = n.mdns.Close()
	}
	n.wg.Wait()
	return errors.Join(err, n.host.Close())
}
