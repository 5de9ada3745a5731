package p2p

import "github.com/libp2p/go-libp2p/core/network"

// TopicStats counts the messages of one gossip topic since New.
type TopicStats struct {
	// Accepted, Rejected and Ignored are the messages received from
	// peers, by the validator's verdict (local publishes are not
	// counted). Messages pubsub drops before validation (over
	// MaxMessageSize, from a graylisted peer, seen before) are not
	// counted either.
	Accepted, Rejected, Ignored int64
	// Published are the messages this node published; Dropped those it
	// did not, because the publish queue was full.
	Published, Dropped int64
}

// Stats describes the node's peers and traffic. Sync has its own
// counters (SyncStats).
type Stats struct {
	// Inbound and Outbound are the connected peers, by the direction of
	// their first connection.
	Inbound, Outbound int
	// Blocks and Transfers are the gossip counters of the two topics.
	Blocks, Transfers TopicStats
	// InvalidBans and OperatorBans count the bans added or extended
	// since New, by cause; Banned is the length of the ban list now.
	InvalidBans, OperatorBans int64
	Banned                    int
	// Refused counts the peers closed at the hello for another genesis.
	Refused int64
	// StatusesSent are the tip announcements sent (StatusProtocol);
	// StatusesReceived those of peers that were read, StatusesIgnored
	// those reset unread (from a peer without a hello, or sooner than
	// minStatusGap after the peer's last one).
	StatusesSent, StatusesReceived, StatusesIgnored int64
}

func (t *topic) stats() TopicStats {
	return TopicStats{
		Accepted:  t.accepted.Load(),
		Rejected:  t.rejected.Load(),
		Ignored:   t.ignored.Load(),
		Published: t.published.Load(),
		Dropped:   t.dropped.Load(),
	}
}

// Stats returns the node's counters; each is read atomically, the set is
// not one snapshot.
func (n *Node) Stats() Stats {
	s := Stats{
		Blocks:       n.blocks.stats(),
		Transfers:    n.transfers.stats(),
		InvalidBans:  n.gater.banEvents[BanInvalid].Load(),
		OperatorBans: n.gater.banEvents[BanOperator].Load(),
		Banned:       len(n.gater.list()),
		Refused:      n.refused.Load(),

		StatusesSent:     n.statusSent.Load(),
		StatusesReceived: n.statusReceived.Load(),
		StatusesIgnored:  n.statusIgnored.Load(),
	}
	nw := n.host.Network()
	for _, p := range nw.Peers() {
		conns := nw.ConnsToPeer(p)
		if len(conns) == 0 {
			continue
		}
		if conns[0].Stat().Direction == network.DirInbound {
			s.Inbound++
		} else {
			s.Outbound++
		}
	}
	return s
}
