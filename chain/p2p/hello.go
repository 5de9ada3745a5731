package p2p

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/powmine/powmine/chain"
)

// HelloProtocol is the stream protocol of the hello exchange: the dialer
// writes its Status, the listener answers with its own, and either side
// closes the connection when the genesis hashes differ. Version 2 added
// the justified epoch to the Status; a version 1 peer cannot read it, so
// the two do not talk.
const HelloProtocol = "/powmine/hello/2"

// helloTimeout bounds a whole hello exchange, both ways.
const helloTimeout = 10 * time.Second

// Hello wire format, all integers big-endian:
//
//	genesis hash   32 bytes (internal byte order)
//	tip hash       32 bytes
//	tip height      8 bytes, at least 0
//	justified       8 bytes, the tip's justified epoch, at most the
//	               tip height (a checkpoint's block is at height
//	               epoch·EpochLength, EpochLength at least 1)
//	work length     1 byte, 0 to 32
//	work           the cumulative work of the tip, minimal big-endian
//	               bytes (no leading zero byte)
const (
	helloFixedSize = 2*chain.HashSize + 8 + 8 + 1
	maxWorkBytes   = 32
	// MaxHelloSize is the largest encoded Status.
	MaxHelloSize = helloFixedSize + maxWorkBytes
)

// ErrBadHello is wrapped by Status.UnmarshalBinary's errors.
var ErrBadHello = errors.New("p2p: malformed hello")

// Status is what a node says about its chain in the hello: the genesis
// block that names the chain and the tip of its best chain.
type Status struct {
	Genesis chain.Hash
	TipHash chain.Hash
	Height  int64
	// Justified is the epoch of the justified checkpoint of the chain
	// state at the tip (0 without finality); at most Height. Fork choice
	// ranks chains by it before work, and so does the node when it
	// decides to sync from a peer.
	Justified uint64
	// Work is the cumulative work of the chain up to the tip; never
	// negative, at most 256 bits. Nil reads as 0.
	Work *big.Int
}

// MarshalBinary encodes s in the hello wire format. It fails for a
// negative height, a justified epoch above the height, or a work that is
// negative or over 256 bits.
func (s *Status) MarshalBinary() ([]byte, error) {
	work := s.Work
	if work == nil {
		work = new(big.Int)
	}
	if s.Height < 0 || s.Justified > uint64(s.Height) || work.Sign() < 0 || work.BitLen() > 8*maxWorkBytes {
		return nil, fmt.Errorf("%w: height %d, justified epoch %d or work %v out of range", ErrBadHello, s.Height, s.Justified, work)
	}
	w := work.Bytes()
	b := make([]byte, 0, helloFixedSize+len(w))
	b = append(b, s.Genesis[:]...)
	b = append(b, s.TipHash[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(s.Height))
	b = binary.BigEndian.AppendUint64(b, s.Justified)
	b = append(b, byte(len(w)))
	return append(b, w...), nil
}

// UnmarshalBinary decodes the hello wire format. Only the canonical
// encoding is accepted: exact length, height at most 2^63-1, justified
// epoch at most the height, work in minimal bytes.
func (s *Status) UnmarshalBinary(data []byte) error {
	if len(data) < helloFixedSize || len(data) > MaxHelloSize {
		return fmt.Errorf("%w: %d bytes", ErrBadHello, len(data))
	}
	var out Status
	copy(out.Genesis[:], data[:chain.HashSize])
	copy(out.TipHash[:], data[chain.HashSize:2*chain.HashSize])
	height := binary.BigEndian.Uint64(data[2*chain.HashSize:])
	if height > 1<<63-1 {
		return fmt.Errorf("%w: height %d", ErrBadHello, height)
	}
	out.Height = int64(height)
	out.Justified = binary.BigEndian.Uint64(data[2*chain.HashSize+8:])
	if out.Justified > height {
		return fmt.Errorf("%w: justified epoch %d above height %d", ErrBadHello, out.Justified, height)
	}
	n := int(data[helloFixedSize-1])
	w := data[helloFixedSize:]
	switch {
	case n > maxWorkBytes || n != len(w):
		return fmt.Errorf("%w: work of %d bytes, %d follow", ErrBadHello, n, len(w))
	case n > 0 && w[0] == 0:
		return fmt.Errorf("%w: work with a leading zero byte", ErrBadHello)
	}
	out.Work = new(big.Int).SetBytes(w)
	*s = out
	return nil
}

// handleHello answers a peer's hello with ours.
func (n *Node) handleHello(s network.Stream) {
	remote := s.Conn().RemotePeer()
	ours, theirs, err := n.exchangeHello(s, false)
	if err != nil {
		n.log.Debug("hello failed", "peer", remote, "err", err)
		return
	}
	n.helloDone(remote, ours, theirs)
}

// sayHello runs the hello with a newly connected peer, as the dialer.
func (n *Node) sayHello(ctx context.Context, p peer.ID) {
	ctx, cancel := context.WithTimeout(network.WithNoDial(ctx, "hello"), helloTimeout)
	defer cancel()
	s, err := n.host.NewStream(ctx, p, HelloProtocol)
	if err != nil {
		n.log.Debug("hello: open stream", "peer", p, "err", err)
		return
	}
	stop := context.AfterFunc(ctx, func() { s.Reset() })
	defer stop()
	ours, theirs, err := n.exchangeHello(s, true)
	if err != nil {
		n.log.Debug("hello failed", "peer", p, "err", err)
		return
	}
	n.helloDone(p, ours, theirs)
}

// exchangeHello writes our status and reads the peer's, in the order of
// the side (the dialer writes first, the listener answers), with a
// deadline and the memory reserved in the stream's scope. It returns the
// status it sent and the peer's, and closes or resets s.
func (n *Node) exchangeHello(s network.Stream, dialer bool) (ours, theirs Status, err error) {
	if err := s.Scope().ReserveMemory(MaxHelloSize, network.ReservationPriorityAlways); err != nil {
		s.Reset()
		return ours, theirs, fmt.Errorf("p2p: hello: reserve memory: %w", err)
	}
	defer s.Scope().ReleaseMemory(MaxHelloSize)
	if err = s.SetDeadline(time.Now().Add(helloTimeout)); err != nil {
		s.Reset()
		return ours, theirs, err
	}
	ours = n.status()
	raw, err := ours.MarshalBinary()
	if err != nil {
		s.Reset()
		return ours, theirs, err
	}
	// Each side writes its status as one length byte and the encoding;
	// the dialer closes its side after reading the answer, and the
	// listener waits for that close, so the answer is read before either
	// side may close the connection.
	write := func() error {
		_, err := s.Write(append([]byte{byte(len(raw))}, raw...))
		return err
	}
	read := func() error {
		var buf [MaxHelloSize]byte
		if _, err := io.ReadFull(s, buf[:1]); err != nil {
			return err
		}
		size := int(buf[0])
		if size > MaxHelloSize {
			return fmt.Errorf("%w: %d bytes", ErrBadHello, size)
		}
		if _, err := io.ReadFull(s, buf[:size]); err != nil {
			return err
		}
		return theirs.UnmarshalBinary(buf[:size])
	}
	steps := []func() error{read, write}
	if dialer {
		steps = []func() error{write, read}
	}
	for _, step := range steps {
		if err := step(); err != nil {
			s.Reset()
			return ours, theirs, fmt.Errorf("p2p: hello: %w", err)
		}
	}
	// Both statuses went through; what follows only ends the stream, and
	// may fail when the peer closes the connection at once (another
	// chain), which is no error.
	if !dialer {
		if n, err := io.Copy(io.Discard, io.LimitReader(s, 1)); err != nil || n != 0 {
			s.Reset()
			return ours, theirs, nil
		}
	}
	s.Close()
	return ours, theirs, nil
}

// status returns the local hello.
func (n *Node) status() Status {
	st := n.chain.Status()
	st.Genesis = n.params.GenesisHash
	return st
}

// helloDone records a peer's status, or closes the connection when the
// peer is on another chain, queues a sync with a peer whose chain is
// ahead of ours (see ahead), and starts the announcements to the peer (ours is
// the status the hello sent).
func (n *Node) helloDone(p peer.ID, ours, theirs Status) {
	if !bytes.Equal(theirs.Genesis[:], n.params.GenesisHash[:]) {
		n.log.Info("peer on another chain refused", "peer", p, "genesis", theirs.Genesis)
		n.refused.Add(1)
		n.host.Network().ClosePeer(p)
		return
	}
	n.mu.Lock()
	n.hellos[p] = theirs
	n.mu.Unlock()
	n.log.Debug("hello", "peer", p, "height", theirs.Height, "tip", theirs.TipHash)
	n.helloAnnounce(p, ours.TipHash, theirs.TipHash)
	if ahead(theirs, n.chain.Status()) {
		n.helloSyncs.Add(1)
		n.requestSync(p)
	}
}

// ahead reports whether a peer's status ranks above ours in the order
// fork choice starts with: the higher justified epoch, then the more
// work (nil reads as 0). A peer with a lower justified epoch is not
// ahead whatever its work: the node would not choose its branch, and
// when that branch forks below our finalized checkpoint it could not.
// The attesting stake, fork choice's next key in pure proof of stake,
// is not carried (it changes with every vote): ties on the justified
// epoch and work are left to gossip.
func ahead(theirs, ours Status) bool {
	if theirs.Justified != ours.Justified {
		return theirs.Justified > ours.Justified
	}
	tw, ow := theirs.Work, ours.Work
	if tw == nil {
		tw = new(big.Int)
	}
	if ow == nil {
		ow = new(big.Int)
	}
	return tw.Cmp(ow) > 0
}
