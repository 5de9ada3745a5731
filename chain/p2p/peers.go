package p2p

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	ma "github.com/multiformats/go-multiaddr"
)

// addedTag protects the peers of AddPeer in the connection manager.
const addedTag = "powmine-added"

// newResourceManager returns go-libp2p's default limits, with its
// service limits, scaled to ResourceMemory and ResourceFDs.
func newResourceManager() (network.ResourceManager, error) {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits.Scale(ResourceMemory, ResourceFDs)))
	if err != nil {
		return nil, fmt.Errorf("p2p: resource manager: %w", err)
	}
	return rm, nil
}

// connected starts the hello on a connection this node dialed, and on
// one a peer dialed in gives the peer helloWait to send its hello.
func (n *Node) connected(_ network.Network, c network.Conn) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if c.Stat().Direction == network.DirOutbound {
			n.sayHello(n.ctx, c.RemotePeer())
		} else {
			n.awaitHello(c.RemotePeer())
		}
	}()
}

// awaitHello closes the connections of a peer that dialed in and sent no
// hello within helloWait: a peer that will not say which chain it is on
// does not keep a connection slot.
func (n *Node) awaitHello(p peer.ID) {
	t := time.NewTimer(n.helloWait)
	defer t.Stop()
	select {
	case <-n.ctx.Done():
		return
	case <-t.C:
	}
	n.mu.Lock()
	_, said := n.hellos[p]
	n.mu.Unlock()
	if !said && n.host.Network().Connectedness(p) == network.Connected {
		n.log.Info("peer sent no hello: closed", "peer", p, "waited", n.helloWait)
		n.host.Network().ClosePeer(p)
	}
}

// disconnected forgets a peer's hello and rejected count once its last
// connection closed.
func (n *Node) disconnected(nw network.Network, c network.Conn) {
	p := c.RemotePeer()
	if nw.Connectedness(p) == network.Connected {
		return
	}
	n.mesh.forget(p)
	n.forgetRelays(p)
	n.mu.Lock()
	delete(n.hellos, p)
	delete(n.invalid, p) // gossipsub's score remembers it for an hour
	n.mu.Unlock()
	n.annMu.Lock()
	delete(n.ann, p)
	n.annMu.Unlock()
}

// rejected counts a rejected message from p, and bans p once it sent
// MaxInvalid of them.
func (n *Node) rejected(p peer.ID) {
	n.mu.Lock()
	n.invalid[p]++
	count := n.invalid[p]
	if count >= n.maxInvalid {
		delete(n.invalid, p)
	}
	n.mu.Unlock()
	if count >= n.maxInvalid {
		n.ban(p, time.Now().Add(n.banDuration), BanInvalid) // a failure to save is logged
	}
}

// Connect dials addr (a multiaddr ending with /p2p/ID) once, as addnode
// onetry does.
func (n *Node) Connect(ctx context.Context, addr ma.Multiaddr) error {
	info, err := peer.AddrInfoFromP2pAddr(addr)
	if err != nil {
		return fmt.Errorf("p2p: %v: %w", addr, err)
	}
	if err := n.host.Connect(ctx, *info); err != nil {
		return fmt.Errorf("p2p: connect %v: %w", addr, err)
	}
	return nil
}

// ErrAlreadyAdded is AddPeer's error for a peer added before.
var ErrAlreadyAdded = errors.New("p2p: peer already added")

// AddPeer keeps the node connected to addr (a multiaddr ending with
// /p2p/ID): it dials now and every Config.Redial while not connected, and
// the connection manager never trims it. It returns the first dial's
// error, but the peer stays added; for a peer added before (by its peer
// id) it returns ErrAlreadyAdded and changes nothing.
func (n *Node) AddPeer(ctx context.Context, addr ma.Multiaddr) error {
	info, err := peer.AddrInfoFromP2pAddr(addr)
	if err != nil {
		return fmt.Errorf("p2p: %v: %w", addr, err)
	}
	n.mu.Lock()
	if _, ok := n.added[info.ID]; ok {
		n.mu.Unlock()
		return fmt.Errorf("%w: %v", ErrAlreadyAdded, info.ID)
	}
	n.added[info.ID] = *info
	n.mu.Unlock()
	n.host.ConnManager().Protect(info.ID, addedTag)
	if err := n.host.Connect(ctx, *info); err != nil {
		return fmt.Errorf("p2p: connect %v: %w", addr, err)
	}
	return nil
}

// RemovePeer undoes AddPeer for the peer of addr; it does not
// disconnect. It reports whether the peer was added.
func (n *Node) RemovePeer(addr ma.Multiaddr) (bool, error) {
	info, err := peer.AddrInfoFromP2pAddr(addr)
	if err != nil {
		return false, fmt.Errorf("p2p: %v: %w", addr, err)
	}
	n.mu.Lock()
	_, ok := n.added[info.ID]
	delete(n.added, info.ID)
	n.mu.Unlock()
	n.host.ConnManager().Unprotect(info.ID, addedTag)
	return ok, nil
}

// Disconnect closes every connection to p. It reports whether there was
// one.
func (n *Node) Disconnect(p peer.ID) bool {
	had := n.host.Network().Connectedness(p) == network.Connected
	n.host.Network().ClosePeer(p)
	return had
}

// redialLoop dials the added peers that are not connected, every
// n.redial, until ctx is done.
func (n *Node) redialLoop(ctx context.Context) {
	defer n.wg.Done()
	t := time.NewTicker(n.redial)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n.mu.Lock()
		added := slices.Collect(maps.Values(n.added))
		n.mu.Unlock()
		for _, info := range added {
			if n.host.Network().Connectedness(info.ID) == network.Connected {
				continue
			}
			dctx, cancel := context.WithTimeout(ctx, n.redial)
			if err := n.host.Connect(dctx, info); err != nil {
				n.log.Debug("redial", "peer", info.ID, "err", err)
			}
			cancel()
		}
	}
}

// PeerInfo describes a connected peer.
type PeerInfo struct {
	ID peer.ID
	// Addr is the remote address of the first connection.
	Addr ma.Multiaddr
	// Inbound is true when the peer dialed this node.
	Inbound bool
	// Since is when the first connection opened.
	Since time.Time
	// Status is the peer's hello, nil until it arrived.
	Status *Status
	// Added is true for a peer of AddPeer.
	Added bool
	// Mesh are the gossip topics in whose mesh the peer is.
	Mesh []string
	// Score is the peer's gossipsub score as of the last
	// ScoreInspectPeriod; Scored is false until gossipsub scored it.
	Score  float64
	Scored bool
	// BlocksRelayed and TransfersRelayed count the gossip messages
	// the peer sent that the validators accepted, since it connected
	// (sync's blocks are in SyncStats.Served).
	BlocksRelayed, TransfersRelayed int64
}

// Peers returns the connected peers.
func (n *Node) Peers() []PeerInfo {
	var out []PeerInfo
	for _, p := range n.host.Network().Peers() {
		conns := n.host.Network().ConnsToPeer(p)
		if len(conns) == 0 {
			continue
		}
		c := conns[0]
		info := PeerInfo{ID: p, Addr: c.RemoteMultiaddr(), Inbound: c.Stat().Direction == network.DirInbound, Since: c.Stat().Opened}
		n.mu.Lock()
		if st, ok := n.hellos[p]; ok {
			info.Status = &st
		}
		_, info.Added = n.added[p]
		n.mu.Unlock()
		info.Mesh = n.mesh.topics(p)
		slices.Sort(info.Mesh)
		n.fillRelays(&info)
		out = append(out, info)
	}
	return out
}

// Refused returns how many peers the hello closed for being on another
// chain.
func (n *Node) Refused() int64 { return n.refused.Load() }
