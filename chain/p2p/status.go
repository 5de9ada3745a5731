package p2p

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/powmine/powmine/chain"
)

// StatusProtocol is the stream protocol of tip announcements: the sender
// writes its Status (one length byte and the hello encoding) and closes
// the stream; nothing is answered. A node announces each new tip to the
// peers that said hello and are not known to have it, as Bitcoin
// announces blocks to all its peers: gossipsub relays a block only to
// the peers of its mesh, and a peer that connected a moment ago is not
// in it yet.
// Version 2 carries the Status of hello version 2.
const StatusProtocol = "/powmine/status/2"

// Status announcement limits.
const (
	// statusDelay is how long the announcer waits after a tip change
	// before it sends: a burst of tips is announced once (the latest
	// wins), and the gossip of the block, sent meanwhile, is recorded
	// first (a peer it reached needs no status).
	statusDelay = 100 * time.Millisecond
	// statusInterval is the least time between two statuses to one peer;
	// at most one is in flight per peer.
	statusInterval = 250 * time.Millisecond
	// minStatusGap is the least time between two statuses of one peer
	// that the receiver reads: a status that comes sooner is reset
	// unread, without penalty (honest senders keep statusInterval).
	minStatusGap = statusInterval / 4
	// statusGrace is how long a receiver waits after a status that
	// is ahead of ours (see ahead) with an unknown tip before it syncs: the block is
	// usually in flight by gossip, and then arrives meanwhile.
	statusGrace = 500 * time.Millisecond
	// statusTimeout bounds sending or reading one status.
	statusTimeout = 5 * time.Second
	// knownTips is how many recent tips the node remembers per peer as
	// known to the peer.
	knownTips = 4
)

// peerAnnounce is the announcement state of one peer that said hello
// (Node.ann, under Node.annMu).
type peerAnnounce struct {
	known    [knownTips]chain.Hash // blocks the peer has: ring, next is the oldest
	next     int
	sending  bool       // a status to the peer is in flight
	lastSent time.Time  // when the last status to the peer went out
	lastRead time.Time  // when the last status of the peer was read
	pending  bool       // a sync asked for by the peer's status waits
	tip      chain.Hash // the tip of the peer's last hello or status
}

// knows reports whether the peer is known to have the block.
func (a *peerAnnounce) knows(h chain.Hash) bool {
	for _, k := range a.known {
		if k == h {
			return true
		}
	}
	return false
}

// learn records that the peer has the block.
func (a *peerAnnounce) learn(h chain.Hash) {
	if a.knows(h) {
		return
	}
	a.known[a.next] = h
	a.next = (a.next + 1) % knownTips
}

// forget undoes learn for h: the peer is not known to have it.
func (a *peerAnnounce) forget(h chain.Hash) {
	for i, k := range a.known {
		if k == h {
			a.known[i] = chain.Hash{}
		}
	}
}

// learnBlock records that p has the block (an encoded block or its
// first chain.HeaderSize bytes): a block gossiped to or from p.
func (n *Node) learnBlock(p peer.ID, data []byte) {
	var h chain.Header
	if len(data) < chain.HeaderSize || h.UnmarshalBinary(data[:chain.HeaderSize]) != nil {
		return
	}
	n.learnTip(p, h.Hash())
}

// learnTip records that p has the block of hash h, once p said hello.
func (n *Node) learnTip(p peer.ID, h chain.Hash) {
	n.annMu.Lock()
	defer n.annMu.Unlock()
	if a := n.ann[p]; a != nil {
		a.learn(h)
	}
}

// helloAnnounce starts the announcement state of a peer whose hello
// showed tip theirs, after ours was sent, and wakes the announcer: a tip
// that changed during the hello is announced.
func (n *Node) helloAnnounce(p peer.ID, ours, theirs chain.Hash) {
	n.annMu.Lock()
	a := n.ann[p]
	if a == nil {
		a = &peerAnnounce{}
		n.ann[p] = a
	}
	a.learn(ours)
	a.learn(theirs)
	a.tip = theirs
	n.annMu.Unlock()
	n.wakeAnnouncer()
}

// wakeAnnouncer tells the announcer that the tip may have changed.
func (n *Node) wakeAnnouncer() {
	select {
	case n.announce <- struct{}{}:
	default:
	}
}

// announceLoop announces the tip statusDelay after it changed, and
// again for the peers that statusInterval held back, until ctx is done.
func (n *Node) announceLoop(ctx context.Context) {
	defer n.wg.Done()
	t := time.NewTimer(statusDelay)
	t.Stop()
	armed := false
	for {
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-n.announce:
			if !armed {
				t.Reset(statusDelay)
				armed = true
			}
		case <-t.C:
			armed = false
			if wait := n.announceTip(ctx); wait > 0 {
				t.Reset(wait)
				armed = true
			}
		}
	}
}

// announceTip sends the tip's status to every peer that said hello, is
// not known to have the tip, has no status in flight and got none in the
// last statusInterval. It returns how long until the first peer held
// back by statusInterval may be sent one (0 for none).
func (n *Node) announceTip(ctx context.Context) time.Duration {
	st := n.status()
	now := time.Now()
	var wait time.Duration
	var to []peer.ID
	n.annMu.Lock()
	for p, a := range n.ann {
		if a.sending || a.knows(st.TipHash) {
			continue
		}
		if d := a.lastSent.Add(statusInterval).Sub(now); d > 0 {
			if wait == 0 || d < wait {
				wait = d
			}
			continue
		}
		// Known from now on; forgotten again if the send fails, so a
		// failed status is retried after statusInterval while the peer
		// stays connected.
		a.sending, a.lastSent = true, now
		a.learn(st.TipHash)
		to = append(to, p)
	}
	n.annMu.Unlock()
	for _, p := range to {
		n.wg.Add(1) // the announcer is one of wg's goroutines: wg is not zero
		go func() {
			defer n.wg.Done()
			err := n.sendStatus(ctx, p, st)
			if err != nil {
				n.log.Debug("status not sent", "peer", p, "err", err)
			} else {
				n.statusSent.Add(1)
			}
			n.annMu.Lock()
			if a := n.ann[p]; a != nil {
				a.sending = false
				if err != nil {
					a.forget(st.TipHash) // tried again after statusInterval
				}
			}
			n.annMu.Unlock()
			n.wakeAnnouncer() // the tip may have moved meanwhile
		}()
	}
	return wait
}

// sendStatus sends st to p on a new status stream, with a deadline and
// the memory reserved in the stream's scope.
func (n *Node) sendStatus(ctx context.Context, p peer.ID, st Status) error {
	raw, err := st.MarshalBinary()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(network.WithNoDial(ctx, "status"), statusTimeout)
	defer cancel()
	s, err := n.host.NewStream(ctx, p, StatusProtocol)
	if err != nil {
		return fmt.Errorf("open stream: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { s.Reset() })
	defer stop()
	if err := s.Scope().ReserveMemory(1+MaxHelloSize, network.ReservationPriorityAlways); err != nil {
		s.Reset()
		return fmt.Errorf("reserve memory: %w", err)
	}
	defer s.Scope().ReleaseMemory(1 + MaxHelloSize)
	err = s.SetDeadline(time.Now().Add(statusTimeout))
	if err == nil {
		_, err = s.Write(append([]byte{byte(len(raw))}, raw...))
	}
	if err != nil {
		s.Reset()
		return err
	}
	return s.Close()
}

// handleStatus reads a peer's status. A peer that has not said hello, or
// sends statuses less than minStatusGap apart, is not read (the stream
// is reset, and counted as ignored); a malformed status counts against
// the peer.
func (n *Node) handleStatus(s network.Stream) {
	p := s.Conn().RemotePeer()
	if !n.statusAllowed(p) {
		n.statusIgnored.Add(1)
		s.Reset()
		return
	}
	if err := s.Scope().ReserveMemory(1+MaxHelloSize, network.ReservationPriorityAlways); err != nil {
		n.log.Debug("status: reserve memory", "peer", p, "err", err)
		s.Reset()
		return
	}
	defer s.Scope().ReleaseMemory(1 + MaxHelloSize)
	var st Status
	err := s.SetDeadline(time.Now().Add(statusTimeout))
	if err == nil {
		var raw []byte
		if raw, err = io.ReadAll(io.LimitReader(s, 1+MaxHelloSize+1)); err == nil {
			if len(raw) == 0 || int(raw[0]) != len(raw)-1 {
				err = fmt.Errorf("%w: status of %d bytes", ErrBadHello, len(raw))
			} else {
				err = st.UnmarshalBinary(raw[1:])
			}
			if err != nil {
				n.rejected(p)
			}
		}
	}
	if err != nil {
		n.log.Debug("status failed", "peer", p, "err", err)
		s.Reset()
		return
	}
	s.Close()
	n.statusRead(p, st)
}

// statusAllowed reports whether a status of p may be read now: p said
// hello, and its last status was read minStatusGap ago or more.
func (n *Node) statusAllowed(p peer.ID) bool {
	now := time.Now()
	n.annMu.Lock()
	defer n.annMu.Unlock()
	a := n.ann[p]
	if a == nil || now.Sub(a.lastRead) < minStatusGap {
		return false
	}
	a.lastRead = now
	return true
}

// statusRead takes a peer's status: a peer on another chain is closed,
// counted as a rejected message; the tip is recorded as known to p and
// as p's tip (see peerTip); a
// tip ahead of ours (see ahead) that the chain lacks starts a sync with
// p after statusGrace, if the tip is still missing then and no sync
// asked for by p's statuses waits already.
func (n *Node) statusRead(p peer.ID, theirs Status) {
	n.statusReceived.Add(1)
	if !bytes.Equal(theirs.Genesis[:], n.params.GenesisHash[:]) {
		n.log.Info("status of another chain: peer closed", "peer", p, "genesis", theirs.Genesis)
		n.rejected(p)
		n.host.Network().ClosePeer(p)
		return
	}
	n.learnTip(p, theirs.TipHash)
	n.annMu.Lock()
	if a := n.ann[p]; a != nil {
		a.tip = theirs.TipHash
	}
	n.annMu.Unlock()
	if !n.wantsSync(theirs) {
		return
	}
	n.annMu.Lock()
	a := n.ann[p]
	if a == nil || a.pending {
		n.annMu.Unlock()
		return
	}
	a.pending = true
	n.annMu.Unlock()
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.wg.Add(1)
	n.mu.Unlock()
	go func() {
		defer n.wg.Done()
		t := time.NewTimer(statusGrace)
		defer t.Stop()
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		if n.wantsSync(theirs) {
			n.statusSyncs.Add(1)
			if n.requestSync(p) {
				return // pending until the sync starts (syncLoop)
			}
		}
		n.syncStarted(p)
	}()
}

// wantsSync reports whether a peer's status is ahead of our tip (see
// ahead) and shows a tip the chain lacks.
func (n *Node) wantsSync(theirs Status) bool {
	return ahead(theirs, n.chain.Status()) && !n.chain.HaveBlock(theirs.TipHash)
}

// syncStarted clears p's pending status sync: a sync with p starts (or
// was not queued), so p's next status may ask for another.
func (n *Node) syncStarted(p peer.ID) {
	n.annMu.Lock()
	defer n.annMu.Unlock()
	if a := n.ann[p]; a != nil {
		a.pending = false
	}
}

// peerTip returns the tip of p's last hello or status (zero before its
// hello): what a sync with p works towards when the chain's best header
// does not lead there (see downloader.refill).
func (n *Node) peerTip(p peer.ID) chain.Hash {
	n.annMu.Lock()
	defer n.annMu.Unlock()
	if a := n.ann[p]; a != nil {
		return a.tip
	}
	return chain.Hash{}
}
