package p2p

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	"github.com/powmine/powmine/chain"
)

// mdnsDialTimeout bounds the dial of a peer found by mDNS.
const mdnsDialTimeout = 10 * time.Second

// MDNSService returns the DNS-SD service name (without the "._udp"
// suffix) under which nodes of the chain with the given genesis hash
// advertise themselves with Config.MDNS: "_pm" and the first 12 hex
// digits of the displayed hash, so that a service name is at most 15
// characters (RFC 6335) and nodes of another chain, under another name,
// are not found. The hello still refuses a peer on another genesis.
func MDNSService(genesis chain.Hash) string { return "_pm" + genesis.String()[:12] }

// startMDNS starts mDNS discovery: peers found are dialed once, and the
// hello runs on the connection as on any other.
func (n *Node) startMDNS() error {
	svc := mdns.NewMdnsService(n.host, MDNSService(n.params.GenesisHash)+"._udp", mdnsNotifee{n})
	if err := svc.Start(); err != nil {
		return err
	}
	n.mdns = svc
	return nil
}

// mdnsNotifee dials the peers mDNS finds.
type mdnsNotifee struct{ n *Node }

// HandlePeerFound dials p unless it is connected already or the node is
// closing; the gater refuses a banned peer.
func (m mdnsNotifee) HandlePeerFound(p peer.AddrInfo) {
	n := m.n
	if p.ID == n.host.ID() || n.host.Network().Connectedness(p.ID) == network.Connected {
		return
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.wg.Add(1)
	n.mu.Unlock()
	defer n.wg.Done()
	ctx, cancel := context.WithTimeout(n.ctx, mdnsDialTimeout)
	defer cancel()
	if err := n.host.Connect(ctx, p); err != nil {
		n.log.Debug("mDNS peer not reached", "peer", p.ID, "err", err)
		return
	}
	n.log.Info("mDNS peer connected", "peer", p.ID)
}

// MDNSRunning reports whether mDNS discovery runs (Config.MDNS).
func (n *Node) MDNSRunning() bool { return n.mdns != nil }
