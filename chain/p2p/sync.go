package p2p

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/powmine/powmine/chain"
)

// BlocksProtocol is the stream protocol of block sync: the requester
// writes a block locator and a count and closes its side; the responder
// finds the first locator hash on its best chain (genesis when none is)
// and answers with up to min(count, MaxBlocksPerRequest) blocks that
// follow it on its best chain, in order, then closes the stream.
const BlocksProtocol = "/powmine/blocks/1"

// Block sync limits.
const (
	// MaxLocatorHashes bounds the locator of a request. A longer local
	// locator is cut to its first MaxLocatorHashes-1 hashes and genesis.
	MaxLocatorHashes = 64
	// MaxBlocksPerRequest bounds the blocks of one answer.
	MaxBlocksPerRequest = 500
	// MaxBlocksRequestSize is the largest encoded request.
	MaxBlocksRequestSize = blocksRequestFixedSize + MaxLocatorHashes*chain.HashSize
	// DefaultSyncTimeout is Config.SyncTimeout's default: the wait for
	// each block of an answer, and for a request.
	DefaultSyncTimeout = 10 * time.Second
	// syncRoundTimeout bounds a whole request and its answer, on the
	// requesting side, and the sending of an answer.
	syncRoundTimeout = 2 * time.Minute
	// maxSyncRounds bounds the requests of one sync with a peer; a node
	// further behind goes on at its next hello or orphan.
	maxSyncRounds = 200
	// syncQueue bounds the peers waiting for a sync; more are dropped.
	syncQueue = 16
	// frameHeaderSize is the length prefix of each block of an answer.
	frameHeaderSize = 4
)

// Request wire format, integers big-endian:
//
//	count          2 bytes, 1 to 65535 blocks wanted (the responder
//	               sends at most MaxBlocksPerRequest)
//	hashes         1 byte, 1 to MaxLocatorHashes
//	locator        32 bytes per hash, in the order of the locator
//
// Answer: for each block, its size (4 bytes, 1 to chain.MaxBlockSize)
// and its encoding; the end of the stream ends the answer.
const blocksRequestFixedSize = 3

// ErrBadSync is wrapped by the errors of malformed requests and answers.
var ErrBadSync = errors.New("p2p: malformed block sync message")

// blocksRequest asks for the blocks after a locator.
type blocksRequest struct {
	Locator []chain.Hash
	Count   int
}

// MarshalBinary encodes r; it fails for a locator of 0 or more than
// MaxLocatorHashes hashes, or a count outside 1 to 65535.
func (r *blocksRequest) MarshalBinary() ([]byte, error) {
	if len(r.Locator) == 0 || len(r.Locator) > MaxLocatorHashes || r.Count < 1 || r.Count > 0xffff {
		return nil, fmt.Errorf("%w: %d hashes, count %d", ErrBadSync, len(r.Locator), r.Count)
	}
	b := make([]byte, 0, blocksRequestFixedSize+len(r.Locator)*chain.HashSize)
	b = binary.BigEndian.AppendUint16(b, uint16(r.Count))
	b = append(b, byte(len(r.Locator)))
	for _, h := range r.Locator {
		b = append(b, h[:]...)
	}
	return b, nil
}

// UnmarshalBinary decodes a request; only the exact length is accepted.
func (r *blocksRequest) UnmarshalBinary(data []byte) error {
	if len(data) < blocksRequestFixedSize {
		return fmt.Errorf("%w: request of %d bytes", ErrBadSync, len(data))
	}
	count := int(binary.BigEndian.Uint16(data))
	n := int(data[2])
	rest := data[blocksRequestFixedSize:]
	if count == 0 || n == 0 || n > MaxLocatorHashes || len(rest) != n*chain.HashSize {
		return fmt.Errorf("%w: count %d, %d hashes in %d bytes", ErrBadSync, count, n, len(rest))
	}
	out := blocksRequest{Count: count, Locator: make([]chain.Hash, n)}
	for i := range out.Locator {
		copy(out.Locator[i][:], rest[i*chain.HashSize:])
	}
	*r = out
	return nil
}

// readFrame reads one length-prefixed block of an answer into buf (at
// least chain.MaxBlockSize bytes). It returns io.EOF at the clean end of
// the answer.
func readFrame(r io.Reader, buf []byte) ([]byte, error) {
	var hdr [frameHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: truncated frame header", ErrBadSync)
		}
		return nil, err
	}
	size := binary.BigEndian.Uint32(hdr[:])
	if size == 0 || size > chain.MaxBlockSize || int(size) > len(buf) {
		return nil, fmt.Errorf("%w: block of %d bytes", ErrBadSync, size)
	}
	if _, err := io.ReadFull(r, buf[:size]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf[:size], nil
}

// appendFrame appends a block's frame to dst.
func appendFrame(dst, raw []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(raw)))
	return append(dst, raw...)
}

// handleBlocks answers a block request.
func (n *Node) handleBlocks(s network.Stream) {
	remote := s.Conn().RemotePeer()
	if err := n.serveBlocks(s); err != nil {
		n.log.Debug("block request failed", "peer", remote, "err", err)
		s.Reset()
		return
	}
	s.Close()
}

// serveBlocks reads a request and writes the answer, one block at a time
// with the memory of one frame reserved in the stream's scope.
func (n *Node) serveBlocks(s network.Stream) error {
	const reserve = MaxBlocksRequestSize + frameHeaderSize + chain.MaxBlockSize
	if err := s.Scope().ReserveMemory(reserve, network.ReservationPriorityAlways); err != nil {
		return fmt.Errorf("reserve memory: %w", err)
	}
	defer s.Scope().ReleaseMemory(reserve)
	// The request has SyncTimeout to arrive, the answer syncRoundTimeout
	// to be sent.
	now := time.Now()
	if err := errors.Join(s.SetReadDeadline(now.Add(n.syncTimeout)), s.SetWriteDeadline(now.Add(syncRoundTimeout))); err != nil {
		return err
	}
	raw, err := io.ReadAll(io.LimitReader(s, MaxBlocksRequestSize+1))
	if err != nil {
		return err
	}
	var req blocksRequest
	if err := req.UnmarshalBinary(raw); err != nil {
		n.rejected(s.Conn().RemotePeer())
		return err
	}
	hashes := n.chain.MainChainAfter(req.Locator, min(req.Count, MaxBlocksPerRequest))
	frame := make([]byte, 0, frameHeaderSize+chain.MaxBlockSize)
	for _, h := range hashes {
		b, err := n.chain.Block(h)
		if err != nil {
			return fmt.Errorf("block %v: %w", h, err)
		}
		raw, err := b.MarshalBinary()
		if err != nil {
			return fmt.Errorf("block %v: %w", h, err)
		}
		if _, err := s.Write(appendFrame(frame[:0], raw)); err != nil {
			return err
		}
	}
	return nil
}

// SyncStats counts the work of block sync since New.
type SyncStats struct {
	// Requests are the block requests sent; Failed those that ended with
	// an error (timeout, malformed or invalid answer).
	Requests, Failed int64
	// Blocks are the blocks of answers the chain accepted.
	Blocks int64
	// OrphanSyncs are the syncs asked for by a gossiped orphan,
	// HelloSyncs those asked for by a hello showing more work than ours.
	OrphanSyncs, HelloSyncs int64
	// Quieted are the accepted blocks of answers that were not gossiped;
	// Announced the syncs that ended by gossiping the new tip.
	Quieted, Announced int64
}

// SyncStats returns the sync counters.
func (n *Node) SyncStats() SyncStats {
	return SyncStats{
		Requests:    n.syncRequests.Load(),
		Failed:      n.syncFailed.Load(),
		Blocks:      n.syncBlocks.Load(),
		OrphanSyncs: n.orphanSyncs.Load(),
		HelloSyncs:  n.helloSyncs.Load(),
		Quieted:     n.syncQuieted.Load(),
		Announced:   n.syncAnnounced.Load(),
	}
}

// requestSync queues a sync with p for the sync goroutine, or drops it
// when the queue is full.
func (n *Node) requestSync(p peer.ID) {
	select {
	case n.syncs <- p:
	default:
		n.log.Debug("sync queue full, dropped", "peer", p)
	}
}

// syncLoop runs the queued syncs one at a time until ctx is done.
func (n *Node) syncLoop(ctx context.Context) {
	defer n.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-n.syncs:
			n.syncWith(ctx, p)
		}
	}
}

// syncWith asks p for the blocks after our locator, round after round,
// while each round brings new blocks and p's answer was full. The blocks
// it brings are not gossiped one by one (the peer has them, and a long
// sync would flood the topic with old blocks); at the end the block it
// synced last is announced if it is the tip, so that peers behind us
// fetch the rest from us as its ancestors.
func (n *Node) syncWith(ctx context.Context, p peer.ID) {
	n.lastSynced.Store(nil)
	defer func() {
		if b := n.lastSynced.Swap(nil); b != nil && n.chain.Status().TipHash == b.Hash() {
			n.syncAnnounced.Add(1)
			n.PublishBlock(b)
		}
	}()
	for range maxSyncRounds {
		if ctx.Err() != nil || n.host.Network().Connectedness(p) != network.Connected {
			return
		}
		accepted, full, err := n.fetchBlocks(ctx, p)
		if err != nil {
			n.syncFailed.Add(1)
			n.log.Info("sync failed", "peer", p, "err", err)
			return
		}
		n.log.Debug("sync round", "peer", p, "accepted", accepted)
		if accepted == 0 || !full {
			return
		}
	}
}

// syncLocator returns the chain's locator cut to MaxLocatorHashes,
// keeping its last hash (genesis).
func (n *Node) syncLocator() []chain.Hash {
	loc := n.chain.Locator()
	if len(loc) > MaxLocatorHashes {
		loc = append(loc[:MaxLocatorHashes-1:MaxLocatorHashes-1], loc[len(loc)-1])
	}
	if len(loc) == 0 {
		loc = []chain.Hash{n.params.GenesisHash}
	}
	return loc
}

// fetchBlocks sends one request to p and hands each block of the answer
// to the chain as it arrives. It returns how many the chain accepted
// and whether the answer held all the blocks asked for. A block that
// breaks a rule counts against p, like a rejected gossip message, and
// ends the round with an error.
func (n *Node) fetchBlocks(ctx context.Context, p peer.ID) (accepted int, full bool, err error) {
	n.syncRequests.Add(1)
	req := blocksRequest{Locator: n.syncLocator(), Count: MaxBlocksPerRequest}
	raw, err := req.MarshalBinary()
	if err != nil {
		return 0, false, err
	}
	ctx, cancel := context.WithTimeout(network.WithNoDial(ctx, "sync"), syncRoundTimeout)
	defer cancel()
	s, err := n.host.NewStream(ctx, p, BlocksProtocol)
	if err != nil {
		return 0, false, fmt.Errorf("open stream: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { s.Reset() })
	defer stop()
	const reserve = frameHeaderSize + chain.MaxBlockSize
	if err := s.Scope().ReserveMemory(reserve, network.ReservationPriorityAlways); err != nil {
		s.Reset()
		return 0, false, fmt.Errorf("reserve memory: %w", err)
	}
	defer s.Scope().ReleaseMemory(reserve)
	if err := s.SetDeadline(time.Now().Add(n.syncTimeout)); err != nil {
		s.Reset()
		return 0, false, err
	}
	if _, err := s.Write(raw); err != nil {
		s.Reset()
		return 0, false, err
	}
	if err := s.CloseWrite(); err != nil {
		s.Reset()
		return 0, false, err
	}
	buf := make([]byte, chain.MaxBlockSize)
	count := 0
	for {
		data, err := readFrame(s, buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil && count == req.Count {
			err = fmt.Errorf("%w: more than %d blocks", ErrBadSync, req.Count)
		}
		if err != nil {
			s.Reset()
			if errors.Is(err, ErrBadSync) {
				n.rejected(p)
			}
			return accepted, false, err
		}
		count++
		// Each block has syncTimeout to arrive.
		if err := s.SetDeadline(time.Now().Add(n.syncTimeout)); err != nil {
			s.Reset()
			return accepted, false, err
		}
		ok, err := n.syncBlock(p, data)
		if err != nil {
			s.Reset()
			return accepted, false, err
		}
		if ok {
			accepted++
			n.syncBlocks.Add(1)
		}
	}
	s.Close()
	return accepted, count == req.Count, nil
}

// syncBlock checks a block of an answer and hands it to the chain. It
// reports whether the chain accepted it; a known block is no error, a
// block that breaks a rule or does not extend a known one (an answer
// must follow our locator, in order) is.
func (n *Node) syncBlock(p peer.ID, data []byte) (bool, error) {
	var b chain.Block
	if err := b.UnmarshalBinary(data); err != nil {
		n.rejected(p)
		return false, fmt.Errorf("%w: %w", ErrBadSync, err)
	}
	if err := chain.CheckHeaderSanity(&b.Header, n.params); err != nil {
		n.rejected(p)
		return false, fmt.Errorf("block %v: %w", b.Hash(), err)
	}
	hash := b.Hash()
	n.quiet.Store(hash, struct{}{})
	err := n.chain.ProcessBlock(&b)
	n.quiet.Delete(hash)
	var rerr chain.RuleError
	switch {
	case err == nil:
		n.lastSynced.Store(&b)
		return true, nil
	case errors.Is(err, ErrKnown):
		return false, nil
	case errors.As(err, &rerr) && rerr.Code == chain.ErrTimeTooNew:
		return false, fmt.Errorf("block %v: %w", b.Hash(), err)
	case errors.As(err, &rerr), errors.Is(err, ErrInvalid):
		n.rejected(p)
		return false, fmt.Errorf("block %v rejected: %w", b.Hash(), err)
	}
	return false, fmt.Errorf("block %v: %w", b.Hash(), err)
}
