package p2p

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/powmine/powmine/chain"
)

// HeadersProtocol is the stream protocol of the header exchange of a
// proof-of-work chain: the requester writes a block locator and a count
// and closes its side; the responder finds the first locator hash on its
// best chain (genesis when none is) and answers with up to min(count,
// MaxHeadersPerRequest) headers of its best chain that follow it, in
// order, then closes the stream. A proof-of-stake node neither serves
// nor uses it (SealedHeadersProtocol).
const HeadersProtocol = "/powmine/headers/1"

// SealedHeadersProtocol is the header exchange of a proof-of-stake chain
// (chain.ConsensusPoS), which a proof-of-stake node serves and uses
// instead of HeadersProtocol: the same request, answered with up to
// min(count, MaxSealedHeadersPerRequest) entries, each a header of the
// responder's best chain followed by its block's seal, which the block
// hash does not cover. A proof-of-stake header carries no work, so its
// seal is what makes it cost something: the requester checks each seal
// before it takes the header (SealedChain.ProcessSealedHeaders).
const SealedHeadersProtocol = "/powmine/sealedheaders/1"

// GetBlocksProtocol is the stream protocol of blocks by hash: the
// requester writes up to MaxBlocksPerFetch block hashes and closes its
// side; the responder answers with one frame per hash, in the order of
// the request, then closes the stream. A frame of length 0 says the
// responder lacks the block (not found, which is no fault).
const GetBlocksProtocol = "/powmine/getblocks/1"

// Sync limits.
const (
	// MaxLocatorHashes bounds the locator of a headers request. A longer
	// local locator is cut to its first MaxLocatorHashes-1 hashes and
	// genesis.
	MaxLocatorHashes = 64
	// MaxHeadersPerRequest bounds the headers of one answer (Bitcoin's
	// MAX_HEADERS_RESULTS): 160 KB.
	MaxHeadersPerRequest = 2000
	// MaxHeadersRequestSize is the largest encoded headers request.
	MaxHeadersRequestSize = headersRequestFixedSize + MaxLocatorHashes*chain.HashSize
	// MaxHeadersAnswerSize is the largest headers answer.
	MaxHeadersAnswerSize = MaxHeadersPerRequest * chain.HeaderSize
	// SealedHeaderSize is one entry of a sealed headers answer: a header
	// and its block's seal.
	SealedHeaderSize = chain.HeaderSize + chain.SealSize
	// MaxSealedHeadersPerRequest bounds the entries of one sealed
	// headers answer: 530 KB.
	MaxSealedHeadersPerRequest = 2000
	// MaxSealedHeadersAnswerSize is the largest sealed headers answer.
	MaxSealedHeadersAnswerSize = MaxSealedHeadersPerRequest * SealedHeaderSize
	// MaxBlocksPerFetch bounds the hashes of one blocks request, so one
	// answer holds at most 16 MB.
	MaxBlocksPerFetch = 16
	// MaxGetBlocksRequestSize is the largest encoded blocks request.
	MaxGetBlocksRequestSize = 1 + MaxBlocksPerFetch*chain.HashSize
	// MaxRequestsPerPeer bounds the blocks requests in flight to one peer
	// during a sync.
	MaxRequestsPerPeer = 2
	// MaxBlocksInFlight bounds the blocks a sync has requested or holds,
	// not yet handed to the chain: the window of MissingBlocks it works
	// on. Blocks arrive out of order from several peers and wait in it
	// until their parent has been handed over.
	MaxBlocksInFlight = 1024
	// MaxBufferedBytes bounds the blocks waiting in the window: above it
	// only the request for the lowest missing block is sent, so the
	// memory of a sync is this plus the answers in flight (at most
	// MaxRequestsPerPeer*MaxBlocksPerFetch blocks per peer).
	MaxBufferedBytes = 64 << 20
	// MaxStalls is how many blocks requests to a peer may fail (time out,
	// break off) in one sync before the peer leaves that sync; their
	// blocks are asked of other peers. A peer that sends provably bad
	// data leaves at once.
	MaxStalls = 2
	// DefaultSyncTimeout is Config.SyncTimeout's default: the wait for
	// a headers answer, for each block of a blocks answer, and for a
	// request.
	DefaultSyncTimeout = 10 * time.Second
	// syncRoundTimeout bounds a whole request and its answer, on the
	// requesting side, and the sending of an answer.
	syncRoundTimeout = 2 * time.Minute
	// maxHeaderRounds bounds the headers requests of one pass of a sync
	// (400,000 headers, more than node.MaxHeaderOnly).
	maxHeaderRounds = 200
	// maxForgets bounds the header branches one download forgets (see
	// download).
	maxForgets = 16
	// syncQueue bounds the peers waiting for a sync; more are dropped.
	syncQueue = 16
	// frameHeaderSize is the length prefix of each block of an answer.
	frameHeaderSize = 4
)

// Request wire formats, integers big-endian.
//
// Headers request:
//
//	count          2 bytes, 1 to 65535 headers wanted (the responder
//	               sends at most MaxHeadersPerRequest)
//	hashes         1 byte, 1 to MaxLocatorHashes
//	locator        32 bytes per hash, in the order of the locator
//
// Headers answer: 80-byte headers, one after the other, at most the
// count asked for; the end of the stream ends the answer.
//
// Sealed headers request: as the headers request.
//
// Sealed headers answer: entries of SealedHeaderSize (265) bytes, one
// after the other, at most the count asked for; the end of the stream
// ends the answer:
//
//	header         80 bytes, a header of the best chain
//	seal           185 bytes (chain.SealSize), its block's seal, as the
//	               block carries it (chain/pos's Seal encoding)
//
// Blocks request:
//
//	hashes         1 byte, 1 to MaxBlocksPerFetch
//	hashes         32 bytes per block
//
// Blocks answer: one frame per hash, in order: the block's size (4
// bytes, 0 for not found, else 1 to chain.MaxBlockSize) and its
// encoding; then the end of the stream.
const headersRequestFixedSize = 3

// ErrBadSync is wrapped by the errors of malformed requests and answers.
var ErrBadSync = errors.New("p2p: malformed sync message")

// headersRequest asks for the headers after a locator.
type headersRequest struct {
	Locator []chain.Hash
	Count   int
}

// MarshalBinary encodes r; it fails for a locator of 0 or more than
// MaxLocatorHashes hashes, or a count outside 1 to 65535.
func (r *headersRequest) MarshalBinary() ([]byte, error) {
	if len(r.Locator) == 0 || len(r.Locator) > MaxLocatorHashes || r.Count < 1 || r.Count > 0xffff {
		return nil, fmt.Errorf("%w: %d hashes, count %d", ErrBadSync, len(r.Locator), r.Count)
	}
	b := make([]byte, 0, headersRequestFixedSize+len(r.Locator)*chain.HashSize)
	b = binary.BigEndian.AppendUint16(b, uint16(r.Count))
	b = append(b, byte(len(r.Locator)))
	for _, h := range r.Locator {
		b = append(b, h[:]...)
	}
	return b, nil
}

// UnmarshalBinary decodes a request; only the exact length is accepted.
func (r *headersRequest) UnmarshalBinary(data []byte) error {
	if len(data) < headersRequestFixedSize {
		return fmt.Errorf("%w: request of %d bytes", ErrBadSync, len(data))
	}
	count := int(binary.BigEndian.Uint16(data))
	n := int(data[2])
	rest := data[headersRequestFixedSize:]
	if count == 0 || n == 0 || n > MaxLocatorHashes || len(rest) != n*chain.HashSize {
		return fmt.Errorf("%w: count %d, %d hashes in %d bytes", ErrBadSync, count, n, len(rest))
	}
	out := headersRequest{Count: count, Locator: make([]chain.Hash, n)}
	for i := range out.Locator {
		copy(out.Locator[i][:], rest[i*chain.HashSize:])
	}
	*r = out
	return nil
}

// decodeHeaders decodes a headers answer of at most limit headers; only
// whole headers are accepted.
func decodeHeaders(data []byte, limit int) ([]chain.Header, error) {
	if len(data)%chain.HeaderSize != 0 || len(data)/chain.HeaderSize > limit {
		return nil, fmt.Errorf("%w: headers answer of %d bytes for at most %d headers", ErrBadSync, len(data), limit)
	}
	hs := make([]chain.Header, len(data)/chain.HeaderSize)
	for i := range hs {
		_ = hs[i].UnmarshalBinary(data[i*chain.HeaderSize : (i+1)*chain.HeaderSize]) // cannot fail: 80 bytes
	}
	return hs, nil
}

// decodeSealedHeaders decodes a sealed headers answer of at most limit
// entries; only whole entries are accepted. seals[i] is hs[i]'s block's
// seal, not decoded (the chain checks it).
func decodeSealedHeaders(data []byte, limit int) (hs []chain.Header, seals []chain.BlockSeal, err error) {
	if len(data)%SealedHeaderSize != 0 || len(data)/SealedHeaderSize > limit {
		return nil, nil, fmt.Errorf("%w: sealed headers answer of %d bytes for at most %d entries", ErrBadSync, len(data), limit)
	}
	count := len(data) / SealedHeaderSize
	hs, seals = make([]chain.Header, count), make([]chain.BlockSeal, count)
	for i := range hs {
		entry := data[i*SealedHeaderSize : (i+1)*SealedHeaderSize]
		_ = hs[i].UnmarshalBinary(entry[:chain.HeaderSize]) // cannot fail: 80 bytes
		seals[i] = chain.BlockSeal(entry[chain.HeaderSize:])
	}
	return hs, seals, nil
}

// getBlocksRequest asks for blocks by hash.
type getBlocksRequest struct {
	Hashes []chain.Hash
}

// MarshalBinary encodes r; it fails for 0 or more than MaxBlocksPerFetch
// hashes.
func (r *getBlocksRequest) MarshalBinary() ([]byte, error) {
	if len(r.Hashes) == 0 || len(r.Hashes) > MaxBlocksPerFetch {
		return nil, fmt.Errorf("%w: blocks request of %d hashes", ErrBadSync, len(r.Hashes))
	}
	b := make([]byte, 0, 1+len(r.Hashes)*chain.HashSize)
	b = append(b, byte(len(r.Hashes)))
	for _, h := range r.Hashes {
		b = append(b, h[:]...)
	}
	return b, nil
}

// UnmarshalBinary decodes a request; only the exact length is accepted.
func (r *getBlocksRequest) UnmarshalBinary(data []byte) error {
	if len(data) < 1 {
		return fmt.Errorf("%w: empty blocks request", ErrBadSync)
	}
	n := int(data[0])
	if n == 0 || n > MaxBlocksPerFetch || len(data) != 1+n*chain.HashSize {
		return fmt.Errorf("%w: %d hashes in %d bytes", ErrBadSync, n, len(data))
	}
	out := getBlocksRequest{Hashes: make([]chain.Hash, n)}
	for i := range out.Hashes {
		copy(out.Hashes[i][:], data[1+i*chain.HashSize:])
	}
	*r = out
	return nil
}

// readFrame reads one length-prefixed block of an answer into buf (at
// least chain.MaxBlockSize bytes); an empty frame (not found) gives an
// empty slice. It returns io.EOF at the clean end of the answer.
func readFrame(r io.Reader, buf []byte) ([]byte, error) {
	var hdr [frameHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: truncated frame header", ErrBadSync)
		}
		return nil, err
	}
	size := binary.BigEndian.Uint32(hdr[:])
	if size > chain.MaxBlockSize || int(size) > len(buf) {
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

// appendFrame appends a block's frame to dst (an empty raw for not
// found).
func appendFrame(dst, raw []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(raw)))
	return append(dst, raw...)
}

// frameBufs holds chain.MaxBlockSize buffers for reading frames.
var frameBufs = sync.Pool{New: func() any { b := make([]byte, chain.MaxBlockSize); return &b }}

// handleHeaders answers a headers request.
func (n *Node) handleHeaders(s network.Stream) {
	n.serve(s, "headers", MaxHeadersRequestSize+MaxHeadersAnswerSize, n.serveHeaders)
}

// handleSealedHeaders answers a sealed headers request.
func (n *Node) handleSealedHeaders(s network.Stream) {
	n.serve(s, "sealed headers", MaxHeadersRequestSize+MaxSealedHeadersAnswerSize, n.serveSealedHeaders)
}

// handleGetBlocks answers a blocks request.
func (n *Node) handleGetBlocks(s network.Stream) {
	n.serve(s, "blocks", MaxGetBlocksRequestSize+frameHeaderSize+chain.MaxBlockSize, n.serveBlocks)
}

// serve runs an answer with the memory of reserve reserved in the
// stream's scope and deadlines: the request has SyncTimeout to arrive,
// the answer syncRoundTimeout to be sent. It closes or resets s.
func (n *Node) serve(s network.Stream, what string, reserve int, answer func(network.Stream) error) {
	remote := s.Conn().RemotePeer()
	err := s.Scope().ReserveMemory(reserve, network.ReservationPriorityAlways)
	if err != nil {
		err = fmt.Errorf("reserve memory: %w", err)
	} else {
		defer s.Scope().ReleaseMemory(reserve)
		now := time.Now()
		err = errors.Join(s.SetReadDeadline(now.Add(n.syncTimeout)), s.SetWriteDeadline(now.Add(syncRoundTimeout)))
		if err == nil {
			err = answer(s)
		}
	}
	if err != nil {
		if errors.Is(err, ErrBadSync) {
			n.rejected(remote)
		}
		n.log.Debug(what+" request failed", "peer", remote, "err", err)
		s.Reset()
		return
	}
	s.Close()
}

// readHeadersRequest reads the request of a headers or sealed headers
// stream.
func readHeadersRequest(s network.Stream) (headersRequest, error) {
	var req headersRequest
	raw, err := io.ReadAll(io.LimitReader(s, MaxHeadersRequestSize+1))
	if err == nil {
		err = req.UnmarshalBinary(raw)
	}
	return req, err
}

// serveHeaders reads a headers request and writes the answer.
func (n *Node) serveHeaders(s network.Stream) error {
	req, err := readHeadersRequest(s)
	if err != nil {
		return err
	}
	hs := n.chain.MainChainHeaders(req.Locator, min(req.Count, MaxHeadersPerRequest))
	out := make([]byte, 0, len(hs)*chain.HeaderSize)
	for i := range hs {
		out, _ = hs[i].AppendBinary(out) // cannot fail
	}
	_, err = s.Write(out)
	return err
}

// serveSealedHeaders reads a sealed headers request and writes the
// answer; a chain that cannot give the seals (a store error) resets the
// stream.
func (n *Node) serveSealedHeaders(s network.Stream) error {
	req, err := readHeadersRequest(s)
	if err != nil {
		return err
	}
	hs, seals, err := n.sealed.MainChainSealedHeaders(req.Locator, min(req.Count, MaxSealedHeadersPerRequest))
	if err != nil {
		return err
	}
	if len(seals) != len(hs) {
		return fmt.Errorf("chain gave %d seals for %d headers", len(seals), len(hs))
	}
	out := make([]byte, 0, len(hs)*SealedHeaderSize)
	for i := range hs {
		out, _ = hs[i].AppendBinary(out) // cannot fail
		out = append(out, seals[i][:]...)
	}
	_, err = s.Write(out)
	return err
}

// serveBlocks reads a blocks request and writes the answer, one block
// at a time; a block the chain cannot give is not found.
func (n *Node) serveBlocks(s network.Stream) error {
	raw, err := io.ReadAll(io.LimitReader(s, MaxGetBlocksRequestSize+1))
	if err != nil {
		return err
	}
	var req getBlocksRequest
	if err := req.UnmarshalBinary(raw); err != nil {
		return err
	}
	var frame []byte // grown to the largest block of the answer
	for _, h := range req.Hashes {
		frame = frame[:0]
		if b, err := n.chain.Block(h); err == nil {
			if frame, err = b.AppendBinary(binary.BigEndian.AppendUint32(frame, 0)); err != nil {
				return fmt.Errorf("block %v: %w", h, err)
			}
			binary.BigEndian.PutUint32(frame, uint32(len(frame)-frameHeaderSize))
		} else {
			frame = appendFrame(frame, nil)
		}
		if _, err := s.Write(frame); err != nil {
			return err
		}
	}
	return nil
}

// SyncStats counts the work of sync since New.
type SyncStats struct {
	// Requests are the requests sent, headers and blocks together;
	// HeaderRequests the headers requests among them. Failed are the
	// requests that ended with an error (timeout, malformed or invalid
	// answer); Stalls the blocks requests among them that failed without
	// bad data (timed out or broke off), whose blocks were asked again.
	Requests, HeaderRequests, Failed, Stalls int64
	// Headers are the new headers the chain accepted.
	Headers int64
	// Blocks are the blocks of answers the chain accepted; NotFound the
	// blocks a peer answered it lacks.
	Blocks, NotFound int64
	// Forgotten are the header branches dropped (Chain.ForgetHeaders)
	// because no peer of the sync served a block of theirs;
	// ForgottenHeaders the headers they held.
	Forgotten, ForgottenHeaders int64
	// Served are the accepted blocks of answers per peer that sent them.
	Served map[peer.ID]int64
	// OrphanSyncs are the syncs asked for by a gossiped orphan,
	// HelloSyncs those asked for by a hello showing more work than ours,
	// StatusSyncs those asked for by a status announcement showing more
	// work than ours and a tip the chain lacks (see StatusProtocol).
	OrphanSyncs, HelloSyncs, StatusSyncs int64
	// Quieted are the accepted blocks of answers that were not gossiped;
	// Announced the syncs that ended by gossiping the new tip.
	Quieted, Announced int64
}

// SyncStats returns the sync counters.
func (n *Node) SyncStats() SyncStats {
	st := SyncStats{
		Requests:         n.syncRequests.Load(),
		HeaderRequests:   n.syncHeaderRequests.Load(),
		Failed:           n.syncFailed.Load(),
		Stalls:           n.syncStalls.Load(),
		Headers:          n.syncHeaders.Load(),
		Blocks:           n.syncBlocks.Load(),
		NotFound:         n.syncNotFound.Load(),
		Forgotten:        n.syncForgotten.Load(),
		ForgottenHeaders: n.syncForgottenHeaders.Load(),
		OrphanSyncs:      n.orphanSyncs.Load(),
		HelloSyncs:       n.helloSyncs.Load(),
		StatusSyncs:      n.statusSyncs.Load(),
		Quieted:          n.syncQuieted.Load(),
		Announced:        n.syncAnnounced.Load(),
		Served:           make(map[peer.ID]int64),
	}
	n.servedMu.Lock()
	for p, c := range n.served {
		st.Served[p] = c
	}
	n.servedMu.Unlock()
	return st
}

// requestSync queues a sync with p for the sync goroutine, or drops it
// when the queue is full. It reports whether it queued.
func (n *Node) requestSync(p peer.ID) bool {
	select {
	case n.syncs <- p:
		return true
	default:
		n.log.Debug("sync queue full, dropped", "peer", p)
		return false
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
			n.syncStarted(p)
			n.syncWith(ctx, p)
		}
	}
}

// syncWith syncs headers first with p: it asks p for the headers after
// the locator of the chain's best header, round after round while
// answers are full, hands them to Chain.ProcessHeaders (on a
// proof-of-stake chain, with their seals, to
// SealedChain.ProcessSealedHeaders), then downloads the blocks the chain
// misses (Chain.MissingBlocks) from every peer that said hello, p first
// (see download). When the chain stopped taking headers before p's
// answers ended for a reason that is no fault (its bound of header-only
// nodes, a header sealed by a key it does not know yet), the two steps
// run again once blocks were connected (which make room, and register
// the validators deposited on them); a pass that brings no block ends
// the sync. The blocks it brings are
// not gossiped one by one (the peers have them, and a long sync would
// flood the topic with old blocks); at the end, if it brought any, the
// tip is announced, so that peers behind us fetch the rest from us.
func (n *Node) syncWith(ctx context.Context, p peer.ID) {
	n.lastSynced.Store(nil)
	defer func() {
		b := n.lastSynced.Swap(nil)
		if b == nil {
			return // the sync brought nothing
		}
		// The tip may be a block that waited in the orphan pool for the
		// synced ones, and was gossiped as it connected: announced
		// again, gossip drops it as seen.
		if tip := n.chain.Status().TipHash; tip != b.Hash() {
			var err error
			if b, err = n.chain.Block(tip); err != nil {
				n.log.Debug("sync: tip not announced", "tip", tip, "err", err)
				return
			}
		}
		n.syncAnnounced.Add(1)
		n.PublishBlock(b)
	}()
	for ctx.Err() == nil {
		claimed, more := n.syncHeadersFrom(ctx, p)
		if n.download(ctx, p, claimed) == 0 || !more {
			return
		}
	}
}

// syncLocator returns locator cut to MaxLocatorHashes, keeping its last
// hash (genesis), or genesis alone for an empty one.
func (n *Node) syncLocator(locator []chain.Hash) []chain.Hash {
	if len(locator) > MaxLocatorHashes {
		locator = append(locator[:MaxLocatorHashes-1:MaxLocatorHashes-1], locator[len(locator)-1])
	}
	if len(locator) == 0 {
		locator = []chain.Hash{n.params.GenesisHash}
	}
	return locator
}

// syncHeadersFrom asks p for headers until an answer is not full or
// brings nothing new, and hands them to the chain. A round after a full
// answer puts the answer's last hash first in the locator, so p goes on
// from there even when its branch is not the chain's best header. It
// returns the last header of each answer (p claims their chains as its
// best, so it should serve their blocks; at most maxHeaderRounds), and
// reports whether the chain refused headers for a reason that blocks
// may remove (its bound, a seal by a key it does not know yet: an error
// that is neither a rule error nor ErrInvalid), so that the sync should
// go on after them. A malformed answer, or headers that break a rule
// (a bad seal included) or do not connect, count against p.
func (n *Node) syncHeadersFrom(ctx context.Context, p peer.ID) (claimed []chain.Hash, more bool) {
	var last *chain.Hash
	for range maxHeaderRounds {
		if ctx.Err() != nil || n.host.Network().Connectedness(p) != network.Connected {
			return claimed, false
		}
		locator := n.chain.HeaderLocator()
		if last != nil {
			locator = append([]chain.Hash{*last}, locator...)
		}
		hs, seals, err := n.fetchHeaders(ctx, p, n.syncLocator(locator))
		if err != nil {
			n.syncFailed.Add(1)
			n.log.Info("headers sync failed", "peer", p, "err", err)
			return claimed, false
		}
		if len(hs) == 0 {
			return claimed, false
		}
		claimed = append(claimed, hs[len(hs)-1].Hash())
		var added int
		if n.sealed != nil {
			added, err = n.sealed.ProcessSealedHeaders(hs, seals)
		} else {
			added, err = n.chain.ProcessHeaders(hs)
		}
		n.syncHeaders.Add(int64(added))
		var rerr chain.RuleError
		switch {
		case err == nil:
		case errors.As(err, &rerr) && rerr.Code == chain.ErrTimeTooNew:
			n.log.Debug("headers from the future", "peer", p, "err", err)
			return claimed, false
		case errors.As(err, &rerr), errors.Is(err, ErrInvalid):
			n.rejected(p)
			n.log.Info("headers rejected", "peer", p, "err", err)
			return claimed, false
		default:
			n.log.Debug("headers not taken", "peer", p, "added", added, "err", err)
			return claimed, true
		}
		n.log.Debug("headers round", "peer", p, "headers", len(hs), "added", added)
		if _, limit, _ := n.headerWire(); len(hs) < limit || added == 0 {
			return claimed, false
		}
		last = &claimed[len(claimed)-1]
	}
	return claimed, false
}

// headerWire returns the header exchange of the node's chain: its
// protocol, the most headers of an answer, and the bytes of each:
// SealedHeadersProtocol on a proof-of-stake chain, else HeadersProtocol.
func (n *Node) headerWire() (proto protocol.ID, limit, size int) {
	if n.sealed != nil {
		return SealedHeadersProtocol, MaxSealedHeadersPerRequest, SealedHeaderSize
	}
	return HeadersProtocol, MaxHeadersPerRequest, chain.HeaderSize
}

// fetchHeaders sends one headers request to p and returns the answer:
// on a proof-of-stake chain a sealed headers request, whose answer gives
// each header's seal, else a headers request (seals nil); see
// headerWire. A malformed answer counts against p.
func (n *Node) fetchHeaders(ctx context.Context, p peer.ID, locator []chain.Hash) (hs []chain.Header, seals []chain.BlockSeal, err error) {
	n.syncRequests.Add(1)
	n.syncHeaderRequests.Add(1)
	proto, limit, size := n.headerWire()
	req := headersRequest{Locator: locator, Count: limit}
	raw, err := req.MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	var answer []byte
	err = n.request(ctx, p, proto, raw, limit*size, func(s network.Stream) error {
		var rerr error
		answer, rerr = io.ReadAll(io.LimitReader(s, int64(req.Count*size+1)))
		return rerr
	})
	if err != nil {
		return nil, nil, err
	}
	if n.sealed != nil {
		hs, seals, err = decodeSealedHeaders(answer, req.Count)
	} else {
		hs, err = decodeHeaders(answer, req.Count)
	}
	if err != nil {
		n.rejected(p)
		return nil, nil, err
	}
	return hs, seals, nil
}

// request opens a stream to p for proto, with reserve bytes reserved
// in its scope, writes raw, closes its side and lets read read the
// answer; the stream is reset on any error. The answer has SyncTimeout
// to begin (read may extend the deadline) and syncRoundTimeout to end.
func (n *Node) request(ctx context.Context, p peer.ID, proto protocol.ID, raw []byte, reserve int, read func(network.Stream) error) error {
	ctx, cancel := context.WithTimeout(network.WithNoDial(ctx, "sync"), syncRoundTimeout)
	defer cancel()
	s, err := n.host.NewStream(ctx, p, proto)
	if err != nil {
		return fmt.Errorf("open stream: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { s.Reset() })
	defer stop()
	if err := s.Scope().ReserveMemory(reserve, network.ReservationPriorityAlways); err != nil {
		s.Reset()
		return fmt.Errorf("reserve memory: %w", err)
	}
	defer s.Scope().ReleaseMemory(reserve)
	err = s.SetDeadline(time.Now().Add(n.syncTimeout))
	if err == nil {
		_, err = s.Write(raw)
	}
	if err == nil {
		err = s.CloseWrite()
	}
	if err == nil {
		err = read(s)
	}
	if err != nil {
		s.Reset()
		return err
	}
	s.Close()
	return nil
}

// fetchResult is the answer to one blocks request of a download.
type fetchResult struct {
	peer   peer.ID
	hashes []chain.Hash
	// blocks holds the blocks of the answer in the order of hashes, nil
	// for not found; fewer than hashes after an error.
	blocks []*chain.Block
	sizes  []int
	err    error
	// bad: the answer was provably bad (malformed, a wrong block); p was
	// penalized.
	bad bool
}

// fetchBlocks sends one blocks request to p. Each block of the answer
// has SyncTimeout to arrive. A malformed frame, a block that does not
// decode or whose hash is not the one asked for, or frames beyond the
// request count against p.
func (n *Node) fetchBlocks(ctx context.Context, p peer.ID, hashes []chain.Hash) fetchResult {
	n.syncRequests.Add(1)
	r := fetchResult{peer: p, hashes: hashes}
	raw, err := (&getBlocksRequest{Hashes: hashes}).MarshalBinary()
	if err != nil {
		r.err = err
		return r
	}
	bufp := frameBufs.Get().(*[]byte)
	defer frameBufs.Put(bufp)
	r.err = n.request(ctx, p, GetBlocksProtocol, raw, frameHeaderSize+chain.MaxBlockSize, func(s network.Stream) error {
		for {
			data, err := readFrame(s, *bufp)
			switch {
			case errors.Is(err, io.EOF) && len(r.blocks) == len(hashes):
				return nil
			case errors.Is(err, io.EOF):
				return fmt.Errorf("%w: %d blocks of %d", ErrBadSync, len(r.blocks), len(hashes))
			case err != nil:
				return err
			case len(r.blocks) == len(hashes):
				return fmt.Errorf("%w: more than %d blocks", ErrBadSync, len(hashes))
			case len(data) == 0:
				r.blocks, r.sizes = append(r.blocks, nil), append(r.sizes, 0)
				continue
			}
			b := new(chain.Block)
			if err := b.UnmarshalBinary(data); err != nil {
				return fmt.Errorf("%w: %w", ErrBadSync, err)
			}
			if want := hashes[len(r.blocks)]; b.Hash() != want {
				return fmt.Errorf("%w: block %v answered for %v", ErrBadSync, b.Hash(), want)
			}
			r.blocks, r.sizes = append(r.blocks, b), append(r.sizes, len(data))
			// Each block has syncTimeout to arrive.
			if err := s.SetDeadline(time.Now().Add(n.syncTimeout)); err != nil {
				return err
			}
		}
	})
	if errors.Is(r.err, ErrBadSync) {
		r.bad = true
		n.rejected(p)
	}
	return r
}

// Slot states of a download.
const (
	slotQueued    = iota // to request
	slotRequested        // in a request in flight
	slotArrived          // waiting for its parent to be handed over
)

// slot is one missing block of a download's window.
type slot struct {
	state int
	peer  peer.ID // the request's, or the sender's
	block *chain.Block
	size  int
}

// dlPeer is a peer a download fetches from.
type dlPeer struct {
	id       peer.ID
	inflight int
	stalls   int
	out      bool                // left the download
	lacks    map[chain.Hash]bool // blocks it answered not found
	failed   map[chain.Hash]bool // blocks of its requests that failed
}

// downloader is the state of one download; only its goroutine uses it.
type downloader struct {
	n        *Node
	ctx      context.Context
	peers    []*dlPeer // the sync peer first
	byID     map[peer.ID]*dlPeer
	want     []chain.Hash // the window: missing blocks in height order
	slots    map[chain.Hash]*slot
	full     bool // the last refill filled the window
	buffered int  // bytes of arrived blocks
	inflight int  // requests
	results  chan fetchResult
	wg       sync.WaitGroup
	handed   int // blocks the chain accepted
	stop     bool
	claimed  []chain.Hash // the last headers of the sync peer's answers
	forgets  int          // header branches forgotten
	// tip is the sync peer's tip (Node.peerTip): refill works towards it
	// when the chain lacks no block towards its best header.
	tip chain.Hash
}

// syncPeers returns first and the other connected peers that said hello.
func (n *Node) syncPeers(first peer.ID) []peer.ID {
	out := []peer.ID{first}
	n.mu.Lock()
	for p := range n.hellos {
		if p != first {
			out = append(out, p)
		}
	}
	n.mu.Unlock()
	return out
}

// download fetches the blocks the chain misses, Chain.MissingBlocks in
// windows of MaxBlocksInFlight, from first and the other peers that said
// hello, in parallel: requests of up to MaxBlocksPerFetch blocks, at most
// MaxRequestsPerPeer in flight per peer, while the blocks waiting stay
// under MaxBufferedBytes. Blocks are handed to Chain.ProcessBlock in
// height order. A request that fails is retried with another peer; a
// peer leaves the download after MaxStalls failed requests, or at once
// for provably bad data or a block the chain rejects (which also counts
// against it). Not found is no fault in itself: the block is asked of a
// peer that did not say so. A block that first answered not found, and
// each other peer too or left the download without giving it, cannot be
// had: the chain forgets its header and those after it
// (Chain.ForgetHeaders), which count against first when it had sent
// them (claimed holds the last header of each of its answers), and the
// download goes on with the blocks the chain misses then, towards its
// next best header; at most maxForgets times. It returns how many
// blocks the chain accepted; it ends when the window is empty, or when
// no peer can be asked for what is left.
func (n *Node) download(ctx context.Context, first peer.ID, claimed []chain.Hash) int {
	ctx, cancel := context.WithCancel(ctx)
	ids := n.syncPeers(first)
	d := &downloader{
		n:       n,
		ctx:     ctx,
		byID:    make(map[peer.ID]*dlPeer, len(ids)),
		slots:   make(map[chain.Hash]*slot),
		results: make(chan fetchResult, len(ids)*MaxRequestsPerPeer),
		tip:     n.peerTip(first),
		claimed: claimed,
	}
	for _, id := range ids {
		dp := &dlPeer{id: id, lacks: make(map[chain.Hash]bool), failed: make(map[chain.Hash]bool)}
		d.peers = append(d.peers, dp)
		d.byID[id] = dp
	}
	defer func() {
		cancel()
		d.wg.Wait()
	}()
	d.refill()
	for len(d.want) > 0 && !d.stop {
		d.assign()
		if d.inflight == 0 {
			n.log.Info("sync: no peer to ask for the missing blocks", "missing", len(d.want), "first", d.want[0])
			break
		}
		select {
		case <-ctx.Done():
			return d.handed
		case r := <-d.results:
			d.handle(r)
		}
		d.forgetLost()
		d.process()
	}
	return d.handed
}

// refill sets the window to the chain's missing blocks, keeping the
// state of those it had: those towards the best header, or when there
// are none those towards the sync peer's tip, whose chain may rank above
// ours by its justified epoch with less work (Chain.MissingBlocksTo).
func (d *downloader) refill() {
	missing := d.n.chain.MissingBlocks(MaxBlocksInFlight)
	if len(missing) == 0 && d.tip != (chain.Hash{}) {
		missing = d.n.chain.MissingBlocksTo(d.tip, MaxBlocksInFlight)
	}
	slots := make(map[chain.Hash]*slot, len(missing))
	for _, h := range missing {
		s := d.slots[h]
		if s == nil {
			s = &slot{}
		}
		slots[h] = s
	}
	for h, s := range d.slots {
		if _, ok := slots[h]; !ok && s.state == slotArrived {
			d.buffered -= s.size
		}
	}
	d.want, d.slots, d.full = missing, slots, len(missing) == MaxBlocksInFlight
}

// assign sends requests to the peers with room, the sync peer first,
// for the queued blocks each did not say it lacks, lowest first. Above
// MaxBufferedBytes only a request starting with the lowest block not
// arrived yet is sent, so that the window moves on.
func (d *downloader) assign() {
	for _, dp := range d.peers {
		for !dp.out && dp.inflight < MaxRequestsPerPeer {
			batch := d.pick(dp)
			if len(batch) == 0 {
				break
			}
			for _, h := range batch {
				s := d.slots[h]
				s.state, s.peer = slotRequested, dp.id
			}
			dp.inflight++
			d.inflight++
			d.wg.Add(1)
			go func() {
				defer d.wg.Done()
				d.results <- d.n.fetchBlocks(d.ctx, dp.id, batch)
			}()
		}
	}
}

// pick returns the next batch for dp: up to MaxBlocksPerFetch queued
// blocks it did not say it lacks, lowest first, leaving those of its
// failed requests to the other peers while there are any; above
// MaxBufferedBytes, only a batch that starts with the lowest block not
// arrived yet.
func (d *downloader) pick(dp *dlPeer) []chain.Hash {
	over := d.buffered >= MaxBufferedBytes
	alone := true
	for _, other := range d.peers {
		alone = alone && (other == dp || other.out)
	}
	var batch []chain.Hash
	for _, h := range d.want {
		s := d.slots[h]
		wanted := s.state == slotQueued && !dp.lacks[h] && (alone || !dp.failed[h])
		if over && len(batch) == 0 && s.state != slotArrived && !wanted {
			return nil
		}
		if !wanted {
			continue
		}
		batch = append(batch, h)
		if len(batch) == MaxBlocksPerFetch {
			break
		}
	}
	return batch
}

// handle takes the answer to one request.
func (d *downloader) handle(r fetchResult) {
	dp := d.byID[r.peer]
	dp.inflight--
	d.inflight--
	for i, h := range r.hashes {
		s := d.slots[h]
		if s == nil || s.state != slotRequested || s.peer != r.peer {
			continue // left the window meanwhile
		}
		switch {
		case i >= len(r.blocks):
			s.state = slotQueued // after an error: ask again, another peer if any
			dp.failed[h] = true
		case r.blocks[i] == nil:
			s.state = slotQueued
			dp.lacks[h] = true
			d.n.syncNotFound.Add(1)
		default:
			s.state, s.block, s.size = slotArrived, r.blocks[i], r.sizes[i]
			d.buffered += s.size
		}
	}
	if r.err == nil {
		return
	}
	d.n.syncFailed.Add(1)
	if !r.bad {
		dp.stalls++
		d.n.syncStalls.Add(1)
	}
	if r.bad || dp.stalls >= MaxStalls {
		dp.out = true
	}
	d.n.log.Info("sync: blocks request failed", "peer", r.peer, "blocks", len(r.hashes), "stalls", dp.stalls, "dropped", dp.out, "err", r.err)
}

// lost reports whether no peer of the download can give h any more:
// the sync peer answered not found, and each other peer did or left
// the download. A sync peer that left without answering (it stalled)
// proves nothing about the headers, so nothing is lost then.
func (d *downloader) lost(h chain.Hash) bool {
	if d.slots[h].state != slotQueued || !d.peers[0].lacks[h] {
		return false
	}
	for _, dp := range d.peers[1:] {
		if !dp.lacks[h] && !dp.out {
			return false
		}
	}
	return true
}

// forgetLost has the chain forget the header branch from the lowest
// block of the window not arrived yet when it is lost (the blocks above
// it cannot connect without it; a lost block above a block still asked
// for waits for that answer, so that the branch goes from its lowest
// block that nobody has), counts it against the sync peer when that
// peer sent those headers, and refills the window. After maxForgets,
// or when the chain cannot forget (the block is stored, its seal
// failed), the download stops.
func (d *downloader) forgetLost() {
	if d.stop {
		return
	}
	i := 0
	for i < len(d.want) && d.slots[d.want[i]].state == slotArrived {
		i++
	}
	if i == len(d.want) || !d.lost(d.want[i]) {
		return
	}
	h := d.want[i]
	n, first := d.n, d.peers[0]
	var held []chain.Hash // first's claimed headers the chain holds
	for _, c := range d.claimed {
		if n.chain.HaveHeader(c) {
			held = append(held, c)
		}
	}
	count, err := n.chain.ForgetHeaders(h)
	if err != nil {
		n.log.Info("sync: missing block not served, not forgotten", "hash", h, "err", err)
		d.stop = true
		return
	}
	if count == 0 { // gone already (evicted): the window was out of date
		d.refill()
		return
	}
	d.forgets++
	n.syncForgotten.Add(1)
	n.syncForgottenHeaders.Add(int64(count))
	fault := false
	for _, c := range held {
		if fault = !n.chain.HaveHeader(c); fault {
			break
		}
	}
	if fault {
		n.rejected(first.id)
	}
	n.log.Info("sync: headers whose block no peer has forgotten", "hash", h, "headers", count, "peer", first.id, "fault", fault)
	if d.forgets >= maxForgets {
		d.stop = true
		return
	}
	d.refill()
}

// process hands the arrived blocks at the bottom of the window to the
// chain, in order, and refills the window once half of it is done.
func (d *downloader) process() {
	for len(d.want) > 0 && !d.stop {
		h := d.want[0]
		s := d.slots[h]
		if s.state != slotArrived {
			break
		}
		d.want = d.want[1:]
		delete(d.slots, h)
		d.buffered -= s.size
		if !d.hand(s) {
			d.refill()
		}
	}
	if !d.stop && d.full && len(d.want) <= MaxBlocksInFlight/2 {
		d.refill()
	}
}

// hand gives one block to the chain, keeping it out of gossip. It
// reports whether the window is still right: false after the chain
// rejected the block (its sender, which counts the fault, leaves the
// download).
func (d *downloader) hand(s *slot) bool {
	n := d.n
	hash := s.block.Hash()
	n.quiet.Store(hash, struct{}{})
	if !n.chain.HaveBlock(hash) { // a block known before (a restart, say) keeps no source
		n.sources.record(hash, s.peer)
	}
	err := n.chain.ProcessBlock(s.block)
	n.quiet.Delete(hash)
	var rerr chain.RuleError
	switch {
	case err == nil:
		d.handed++
		n.syncBlocks.Add(1)
		n.lastSynced.Store(s.block)
		n.servedMu.Lock()
		n.served[s.peer]++
		n.servedMu.Unlock()
		return true
	case errors.Is(err, ErrKnown):
		return true
	case errors.As(err, &rerr) && rerr.Code == chain.ErrTimeTooNew:
		n.log.Info("sync: block from the future", "peer", s.peer, "hash", hash, "err", err)
	case errors.As(err, &rerr), errors.Is(err, ErrInvalid):
		n.log.Info("sync: block rejected", "peer", s.peer, "hash", hash, "err", err)
		n.rejected(s.peer)
		d.byID[s.peer].out = true
		return false
	default:
		n.log.Info("sync: block not taken", "peer", s.peer, "hash", hash, "err", err)
	}
	d.stop = true
	return false
}
