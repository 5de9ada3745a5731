package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/mempool"
	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/chain/p2p"
	"github.com/powmine/powmine/chain/storage"
	"github.com/powmine/powmine/internal/jsonrpc"
)

// keyFile is the network identity key in the data directory, banFile
// the ban list (see p2p.Config.BanFile).
const (
	keyFile = "p2p.key"
	banFile = "banlist.json"
)

// peerDialTimeout bounds the first dial of each Network.Peers entry; the
// p2p node keeps redialing those that failed.
const peerDialTimeout = 10 * time.Second

// Network configures the daemon's peer-to-peer networking (package
// chain/p2p): blocks connected locally and transfers accepted into the
// mempool are gossiped; those received are handed to the node and the
// mempool.
type Network struct {
	// Listen are the multiaddrs to listen on. Required (at least one).
	Listen []ma.Multiaddr
	// Peers are multiaddrs ending with /p2p/ID to keep connected to.
	Peers []ma.Multiaddr
	// MDNS turns on mDNS discovery on the local network.
	MDNS bool
	// Redial is how often the peers of Peers and addnode are dialed
	// while disconnected; 0 selects p2p.DefaultRedial.
	Redial time.Duration
}

// startNetwork starts the p2p node (d.pool and d.node must be set) with
// the identity key of dataDir, or a new one for a chain kept in memory.
func (d *Daemon) startNetwork(cfg *Network, dataDir string) error {
	if len(cfg.Listen) == 0 {
		return fmt.Errorf("%w: networking needs a listen address", ErrConfig)
	}
	pcfg := p2p.Config{
		Params:  d.params,
		Chain:   netChain{d},
		Mempool: netChain{d},
		Listen:  cfg.Listen,
		MDNS:    cfg.MDNS,
		Redial:  cfg.Redial,
		Logger:  d.log.With("component", "p2p"),
	}
	if dataDir != "" {
		k, err := p2p.LoadKey(filepath.Join(dataDir, keyFile))
		if err != nil {
			return err
		}
		pcfg.Key = k
		pcfg.BanFile = filepath.Join(dataDir, banFile)
	}
	n, err := p2p.New(pcfg)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.net = n
	d.mu.Unlock()
	if err := d.metrics.reg.Register(netCollector{n}); err != nil {
		return fmt.Errorf("daemon: network metrics: %w", err)
	}
	for _, addr := range cfg.Peers {
		ctx, cancel := context.WithTimeout(context.Background(), peerDialTimeout)
		err := n.AddPeer(ctx, addr)
		switch {
		case errors.Is(err, p2p.ErrAlreadyAdded):
			d.log.Warn("peer given twice", "peer", addr)
		case err != nil:
			d.log.Warn("peer not reached yet", "peer", addr, "err", err)
		}
		cancel()
	}
	return nil
}

// NetworkAddrs returns the multiaddrs, ending with /p2p/ID, that peers
// can dial; nil without networking.
func (d *Daemon) NetworkAddrs() []ma.Multiaddr {
	if d.net == nil {
		return nil
	}
	return d.net.Addrs()
}

// netChain is the node and mempool as the p2p node sees them.
type netChain struct{ d *Daemon }

var (
	_ p2p.SealedChain = netChain{}
	_ p2p.Mempool     = netChain{}
)

// Status returns the tip and its justified epoch for the hello.
func (c netChain) Status() p2p.Status {
	tip, justified := c.d.node.TipJustified()
	return p2p.Status{TipHash: tip.Hash, Height: tip.Height, Justified: justified, Work: tip.Work}
}

// HaveBlock reports whether the block is in the index with its data (a
// header-only node wants its block).
func (c netChain) HaveBlock(hash chain.Hash) bool {
	info, ok := c.d.node.BlockInfo(hash)
	return ok && info.Status&storage.StatusDataStored != 0
}

// ProcessBlock hands a block from a peer to the node.
func (c netChain) ProcessBlock(b *chain.Block) error {
	c.d.observeBlock(b)
	start := time.Now()
	res, err := c.d.node.ProcessBlock(b)
	c.d.metrics.validation.Observe(time.Since(start).Seconds())
	switch {
	case errors.Is(err, node.ErrDuplicate):
		return fmt.Errorf("%w: %w", p2p.ErrKnown, err)
	case err != nil:
		return err // a chain.RuleError is rejected by the p2p node
	case res.Orphan:
		return p2p.ErrOrphan
	}
	return nil
}

// ProcessHeaders hands headers from a peer to the node: headers that do
// not connect or are known invalid are invalid, like those that break a
// rule; a full index of header-only nodes, or a header forgotten lately
// (node.ErrForgottenHeader), is merely no progress.
func (c netChain) ProcessHeaders(hs []chain.Header) (int, error) {
	return headersAdded(c.d.node.ProcessHeaders(hs))
}

// ProcessSealedHeaders hands proof-of-stake headers from a peer, with
// their seals, to the node, as ProcessHeaders: a bad seal is a rule
// error; a header sealed by a key the node does not know yet
// (node.ErrUnregisteredProposer) is merely no progress, until the
// blocks before it are connected.
func (c netChain) ProcessSealedHeaders(hs []chain.Header, seals []chain.BlockSeal) (int, error) {
	return headersAdded(c.d.node.ProcessSealedHeaders(hs, seals))
}

// headersAdded returns the headers added and err, marked invalid for a
// peer when the headers do not connect or are known invalid.
func headersAdded(res node.HeadersResult, err error) (int, error) {
	if errors.Is(err, node.ErrUnconnectedHeaders) || errors.Is(err, node.ErrKnownInvalid) {
		err = fmt.Errorf("%w: %w", p2p.ErrInvalid, err)
	}
	return res.Added, err
}

// HeaderLocator returns the locator of the node's best header.
func (c netChain) HeaderLocator() []chain.Hash { return c.d.node.HeaderLocator() }

// MissingBlocks returns the blocks the node lacks towards its best
// header.
func (c netChain) MissingBlocks(max int) []chain.Hash { return c.d.node.MissingBlocks(max) }

// MissingBlocksTo returns the blocks the node lacks towards the header
// tip.
func (c netChain) MissingBlocksTo(tip chain.Hash, max int) []chain.Hash {
	return c.d.node.MissingBlocksTo(tip, max)
}

// HaveHeader reports whether the header is in the node's index, with or
// without its block.
func (c netChain) HaveHeader(hash chain.Hash) bool {
	_, ok := c.d.node.BlockInfo(hash)
	return ok
}

// ForgetHeaders drops a header-only branch whose blocks no peer serves.
func (c netChain) ForgetHeaders(hash chain.Hash) (int, error) { return c.d.node.ForgetHeaders(hash) }

// MainChainHeaders returns up to max headers of the best chain after the
// first locator hash on it, or after genesis.
func (c netChain) MainChainHeaders(locator []chain.Hash, max int) []chain.Header {
	return c.d.node.MainChainHeaders(locator, max)
}

// MainChainSealedHeaders returns up to max headers of the best chain
// after the first locator hash on it, or after genesis, with their
// blocks' seals (a proof-of-stake chain).
func (c netChain) MainChainSealedHeaders(locator []chain.Hash, max int) ([]chain.Header, []chain.BlockSeal, error) {
	return c.d.node.MainChainSealedHeaders(locator, max)
}

// Block returns a stored block.
func (c netChain) Block(hash chain.Hash) (*chain.Block, error) { return c.d.node.Block(hash) }

// AcceptTransfer hands a transfer from a peer to the mempool: malformed
// or badly signed transfers are invalid, the others merely not relayed.
func (c netChain) AcceptTransfer(tx *chain.Transaction) error {
	err := c.d.acceptTransfer(tx)
	var rej *mempool.RejectError
	if errors.As(err, &rej) {
		switch rej.Reason {
		case mempool.RejectMalformed, mempool.RejectBadSignature, mempool.RejectTooLarge:
			return fmt.Errorf("%w: %w", p2p.ErrInvalid, err)
		case mempool.RejectDuplicate:
			return fmt.Errorf("%w: %w", p2p.ErrKnown, err)
		}
	}
	return err
}

// Bitcoin Core's error codes of the network methods.
const (
	codeP2PDisabled       = -9  // RPC_CLIENT_P2P_DISABLED
	codeNodeAlreadyAdded  = -23 // RPC_CLIENT_NODE_ALREADY_ADDED
	codeNodeNotAdded      = -24 // RPC_CLIENT_NODE_NOT_ADDED
	codeNodeNotConnected  = -29 // RPC_CLIENT_NODE_NOT_CONNECTED
	codeInvalidIPOrSubnet = -30 // RPC_CLIENT_INVALID_IP_OR_SUBNET
)

// registerNetworkMethods adds Core's network methods; without
// networking they answer as Core does with networking off.
func (d *Daemon) registerNetworkMethods() {
	d.rpc.Register("getpeerinfo", d.getPeerInfo)
	d.rpc.Register("getconnectioncount", d.getConnectionCount)
	d.rpc.Register("getnetworkinfo", d.getNetworkInfo)
	d.rpc.Register("addnode", d.addNode)
	d.rpc.Register("disconnectnode", d.disconnectNode)
	d.rpc.Register("setban", d.setBan)
	d.rpc.Register("listbanned", d.listBanned)
	d.rpc.Register("clearbanned", d.clearBanned)
}

// peerJSON is one entry of getpeerinfo. Core's id is a number; a libp2p
// peer is named by its peer id, in peerid.
type peerJSON struct {
	ID        int      `json:"id"`
	PeerID    string   `json:"peerid"`
	Addr      string   `json:"addr"`
	Inbound   bool     `json:"inbound"`
	ConnTime  int64    `json:"conntime"`
	AddNode   bool     `json:"addnode"`
	Height    *int64   `json:"startingheight,omitempty"` // from the hello
	TipHash   string   `json:"tiphash,omitempty"`
	ChainWork string   `json:"chainwork,omitempty"`
	Mesh      []string `json:"mesh"` // gossip topics whose mesh has the peer
	// Score is the peer's gossipsub score, absent until scored; the
	// relayed counts are its gossip messages the node accepted.
	Score            *float64 `json:"score,omitempty"`
	BlocksRelayed    int64    `json:"blocksrelayed"`
	TransfersRelayed int64    `json:"transfersrelayed"`
}

func (d *Daemon) getPeerInfo(context.Context, json.RawMessage) (any, error) {
	out := []peerJSON{}
	if d.net == nil {
		return out, nil
	}
	peers := d.net.Peers()
	slices.SortFunc(peers, func(a, b p2p.PeerInfo) int { return a.Since.Compare(b.Since) })
	for i, p := range peers {
		j := peerJSON{ID: i, PeerID: p.ID.String(), Addr: p.Addr.String(), Inbound: p.Inbound, ConnTime: p.Since.Unix(), AddNode: p.Added, Mesh: p.Mesh,
			BlocksRelayed: p.BlocksRelayed, TransfersRelayed: p.TransfersRelayed}
		if p.Scored {
			j.Score = &p.Score
		}
		if j.Mesh == nil {
			j.Mesh = []string{}
		}
		if st := p.Status; st != nil {
			j.Height, j.TipHash, j.ChainWork = &st.Height, st.TipHash.String(), workHex(st.Work)
		}
		out = append(out, j)
	}
	return out, nil
}

func (d *Daemon) getConnectionCount(context.Context, json.RawMessage) (any, error) {
	if d.net == nil {
		return 0, nil
	}
	return len(d.net.Peers()), nil
}

// networkJSON is getnetworkinfo's reply: Core's fields that apply, with
// localaddresses as full multiaddrs.
type networkJSON struct {
	Subversion     string   `json:"subversion"`
	NetworkActive  bool     `json:"networkactive"`
	Connections    int      `json:"connections"`
	ConnectionsIn  int      `json:"connections_in"`
	ConnectionsOut int      `json:"connections_out"`
	LocalAddresses []string `json:"localaddresses"`
}

func (d *Daemon) getNetworkInfo(context.Context, json.RawMessage) (any, error) {
	j := networkJSON{Subversion: "/powmine/", NetworkActive: d.net != nil, LocalAddresses: []string{}}
	if d.net == nil {
		return j, nil
	}
	for _, p := range d.net.Peers() {
		j.Connections++
		if p.Inbound {
			j.ConnectionsIn++
		} else {
			j.ConnectionsOut++
		}
	}
	for _, a := range d.net.Addrs() {
		j.LocalAddresses = append(j.LocalAddresses, a.String())
	}
	return j, nil
}

// peerAddr parses a multiaddr ending with /p2p/ID.
func peerAddr(s string) (ma.Multiaddr, error) {
	a, err := ma.NewMultiaddr(s)
	if err == nil {
		_, err = peer.AddrInfoFromP2pAddr(a)
	}
	if err != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParameter, "address must be a multiaddr ending with /p2p/ID (not '%s'): %v", s, err)
	}
	return a, nil
}

// addNode ADDR add|remove|onetry: add keeps the peer connected, remove
// undoes add (without disconnecting), onetry dials once.
func (d *Daemon) addNode(ctx context.Context, params json.RawMessage) (any, error) {
	var addr, command string
	if err := jsonrpc.RequiredParams(params, 2, &addr, &command); err != nil {
		return nil, err
	}
	if d.net == nil {
		return nil, errP2PDisabled()
	}
	a, err := peerAddr(addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, peerDialTimeout)
	defer cancel()
	switch command {
	case "add":
		err := d.net.AddPeer(ctx, a)
		switch {
		case errors.Is(err, p2p.ErrAlreadyAdded):
			return nil, jsonrpc.Errorf(codeNodeAlreadyAdded, "Error: Node already added")
		case err != nil:
			d.log.Warn("added peer not reached yet", "peer", a, "err", err)
		}
	case "onetry":
		if err := d.net.Connect(ctx, a); err != nil {
			return nil, jsonrpc.Errorf(codeNodeNotConnected, "%v", err)
		}
	case "remove":
		if ok, _ := d.net.RemovePeer(a); !ok {
			return nil, jsonrpc.Errorf(codeNodeNotAdded, "Error: Node could not be removed. It has not been added previously.")
		}
	default:
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParameter, "command must be add, remove or onetry (not '%s')", command)
	}
	return nil, nil
}

// disconnectNode ADDR closes the connections to the peer of ADDR (a
// multiaddr ending with /p2p/ID, or a bare peer id).
func (d *Daemon) disconnectNode(_ context.Context, params json.RawMessage) (any, error) {
	var addr string
	if err := jsonrpc.RequiredParams(params, 1, &addr); err != nil {
		return nil, err
	}
	if d.net == nil {
		return nil, errP2PDisabled()
	}
	id, err := peerID(addr)
	if err != nil {
		return nil, err
	}
	if !d.net.Disconnect(id) {
		return nil, jsonrpc.Errorf(codeNodeNotConnected, "Node not found in connected nodes")
	}
	return nil, nil
}

// errP2PDisabled is Core's error of the network methods without
// networking.
func errP2PDisabled() error {
	return jsonrpc.Errorf(codeP2PDisabled, "Error: Peer-to-peer functionality missing or disabled")
}

// peerID parses a bare peer id or a multiaddr ending with /p2p/ID. The
// id must hold its public key, as the Ed25519 ids of this network's
// nodes do: a string that merely decodes is refused.
func peerID(s string) (peer.ID, error) {
	id, err := peer.Decode(s)
	if err != nil {
		a, err := peerAddr(s)
		if err != nil {
			return "", err
		}
		info, _ := peer.AddrInfoFromP2pAddr(a) // checked by peerAddr
		id = info.ID
	}
	if _, err := id.ExtractPublicKey(); err != nil {
		return "", jsonrpc.Errorf(jsonrpc.CodeInvalidParameter, "'%s' is not the peer id of an Ed25519 key: %v", s, err)
	}
	return id, nil
}
