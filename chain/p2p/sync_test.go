package p2p

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/big"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/powmine/powmine/chain"
)

func TestHeadersRequestRoundTrip(t *testing.T) {
	long := make([]chain.Hash, MaxLocatorHashes)
	for i := range long {
		long[i][0] = byte(i)
	}
	for _, r := range []headersRequest{
		{Locator: []chain.Hash{{1}}, Count: 1},
		{Locator: long, Count: 0xffff},
	} {
		raw, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) > MaxHeadersRequestSize {
			t.Fatalf("%d bytes, above MaxHeadersRequestSize", len(raw))
		}
		var got headersRequest
		if err := got.UnmarshalBinary(raw); err != nil {
			t.Fatal(err)
		}
		if got.Count != r.Count || len(got.Locator) != len(r.Locator) || got.Locator[len(got.Locator)-1] != r.Locator[len(r.Locator)-1] {
			t.Fatalf("round trip of %+v gave %+v", r, got)
		}
	}
	for _, bad := range []headersRequest{
		{Count: 1},
		{Locator: []chain.Hash{{}}, Count: 0},
		{Locator: []chain.Hash{{}}, Count: 0x10000},
		{Locator: append(long, chain.Hash{}), Count: 1},
	} {
		if _, err := bad.MarshalBinary(); !errors.Is(err, ErrBadSync) {
			t.Errorf("MarshalBinary(%d hashes, count %d) = %v, want ErrBadSync", len(bad.Locator), bad.Count, err)
		}
	}
	good, _ := (&headersRequest{Locator: []chain.Hash{{1}, {2}}, Count: 3}).MarshalBinary()
	for name, data := range map[string][]byte{
		"empty":         nil,
		"short":         good[:2],
		"missing hash":  good[:len(good)-1],
		"trailing byte": append(bytes.Clone(good), 0),
		"zero count":    append([]byte{0, 0}, good[2:]...),
		"zero hashes":   {0, 1, 0},
		"too many":      append([]byte{0, 1, MaxLocatorHashes + 1}, make([]byte, (MaxLocatorHashes+1)*chain.HashSize)...),
	} {
		var r headersRequest
		if err := r.UnmarshalBinary(data); !errors.Is(err, ErrBadSync) {
			t.Errorf("%s: UnmarshalBinary = %v, want ErrBadSync", name, err)
		}
	}
}

func TestGetBlocksRequestRoundTrip(t *testing.T) {
	full := make([]chain.Hash, MaxBlocksPerFetch)
	for i := range full {
		full[i][31] = byte(i)
	}
	for _, hashes := range [][]chain.Hash{{{1}}, full} {
		raw, err := (&getBlocksRequest{Hashes: hashes}).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) > MaxGetBlocksRequestSize {
			t.Fatalf("%d bytes, above MaxGetBlocksRequestSize", len(raw))
		}
		var got getBlocksRequest
		if err := got.UnmarshalBinary(raw); err != nil {
			t.Fatal(err)
		}
		if len(got.Hashes) != len(hashes) || got.Hashes[len(hashes)-1] != hashes[len(hashes)-1] {
			t.Fatalf("round trip of %d hashes gave %v", len(hashes), got.Hashes)
		}
	}
	for _, bad := range [][]chain.Hash{nil, append(full, chain.Hash{})} {
		if _, err := (&getBlocksRequest{Hashes: bad}).MarshalBinary(); !errors.Is(err, ErrBadSync) {
			t.Errorf("MarshalBinary(%d hashes) = %v, want ErrBadSync", len(bad), err)
		}
	}
	good, _ := (&getBlocksRequest{Hashes: []chain.Hash{{1}, {2}}}).MarshalBinary()
	for name, data := range map[string][]byte{
		"empty":         nil,
		"zero hashes":   {0},
		"missing hash":  good[:len(good)-1],
		"trailing byte": append(bytes.Clone(good), 0),
		"too many":      append([]byte{MaxBlocksPerFetch + 1}, make([]byte, (MaxBlocksPerFetch+1)*chain.HashSize)...),
	} {
		var r getBlocksRequest
		if err := r.UnmarshalBinary(data); !errors.Is(err, ErrBadSync) {
			t.Errorf("%s: UnmarshalBinary = %v, want ErrBadSync", name, err)
		}
	}
}

func TestDecodeHeaders(t *testing.T) {
	hs := []chain.Header{{Version: 1, Nonce: 2}, {Version: 3, Timestamp: 4}}
	var raw []byte
	for i := range hs {
		raw, _ = hs[i].AppendBinary(raw)
	}
	got, err := decodeHeaders(raw, 2)
	if err != nil || len(got) != 2 || got[0] != hs[0] || got[1] != hs[1] {
		t.Fatalf("decodeHeaders = %v, %v", got, err)
	}
	if got, err := decodeHeaders(nil, 2); err != nil || len(got) != 0 {
		t.Fatalf("empty answer: %v, %v", got, err)
	}
	for name, tc := range map[string]struct {
		data  []byte
		limit int
	}{
		"partial header": {raw[:len(raw)-1], 2},
		"too many":       {raw, 1},
	} {
		if _, err := decodeHeaders(tc.data, tc.limit); !errors.Is(err, ErrBadSync) {
			t.Errorf("%s: %v, want ErrBadSync", name, err)
		}
	}
}

// FuzzHeadersRequest: what decodes encodes back to the same bytes.
func FuzzHeadersRequest(f *testing.F) {
	fuzzRoundTrip[headersRequest](f)
}

// FuzzGetBlocksRequest: what decodes encodes back to the same bytes.
func FuzzGetBlocksRequest(f *testing.F) {
	fuzzRoundTrip[getBlocksRequest](f)
}

// FuzzHeadersAnswer: an answer decodes only as whole headers, at most
// the limit, which encode back to the same bytes.
func FuzzHeadersAnswer(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, limit uint8) {
		hs, err := decodeHeaders(data, int(limit))
		if err != nil {
			return
		}
		if len(hs) > int(limit) {
			t.Fatalf("%d headers above the limit %d", len(hs), limit)
		}
		var again []byte
		for i := range hs {
			again, _ = hs[i].AppendBinary(again)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("decoded %x, encodes as %x", data, again)
		}
	})
}

func TestDecodeSealedHeaders(t *testing.T) {
	hs := []chain.Header{{Version: 1, Nonce: 2}, {Version: 3, Timestamp: 4}}
	seals := []chain.BlockSeal{{1, 0xaa}, {1, 0xbb}}
	var raw []byte
	for i := range hs {
		raw, _ = hs[i].AppendBinary(raw)
		raw = append(raw, seals[i][:]...)
	}
	gotHs, gotSeals, err := decodeSealedHeaders(raw, 2)
	if err != nil || !slices.Equal(gotHs, hs) || !slices.Equal(gotSeals, seals) {
		t.Fatalf("decodeSealedHeaders = %v, %v, %v", gotHs, gotSeals, err)
	}
	if gotHs, gotSeals, err := decodeSealedHeaders(nil, 2); err != nil || len(gotHs) != 0 || len(gotSeals) != 0 {
		t.Fatalf("empty answer: %v, %v, %v", gotHs, gotSeals, err)
	}
	for name, tc := range map[string]struct {
		data  []byte
		limit int
	}{
		"partial entry":     {raw[:len(raw)-1], 2},
		"header, no seal":   {raw[:SealedHeaderSize+chain.HeaderSize], 2},
		"too many":          {raw, 1},
		"headers unsealed":  {raw[:2*chain.HeaderSize], 2},
		"limit 0, an entry": {raw[:SealedHeaderSize], 0},
	} {
		if _, _, err := decodeSealedHeaders(tc.data, tc.limit); !errors.Is(err, ErrBadSync) {
			t.Errorf("%s: %v, want ErrBadSync", name, err)
		}
	}
}

// FuzzSealedHeadersAnswer: a sealed headers answer decodes only as
// whole entries, at most the limit, one seal per header, which encode
// back to the same bytes.
func FuzzSealedHeadersAnswer(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, limit uint8) {
		hs, seals, err := decodeSealedHeaders(data, int(limit))
		if err != nil {
			return
		}
		if len(hs) > int(limit) || len(seals) != len(hs) {
			t.Fatalf("%d headers and %d seals, limit %d", len(hs), len(seals), limit)
		}
		var again []byte
		for i := range hs {
			again, _ = hs[i].AppendBinary(again)
			again = append(again, seals[i][:]...)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("decoded %x, encodes as %x", data, again)
		}
	})
}

// FuzzBlockFrames: the answer's framing reads frames of 0 (not found) to
// chain.MaxBlockSize bytes that encode back to what was read, and ends
// cleanly (io.EOF) only between frames.
func FuzzBlockFrames(f *testing.F) {
	buf := make([]byte, chain.MaxBlockSize)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		var again []byte
		for {
			frame, err := readFrame(r, buf)
			if errors.Is(err, io.EOF) {
				if !bytes.Equal(again, data) {
					t.Fatalf("clean end after %x of %x", again, data)
				}
				return
			}
			if err != nil {
				return
			}
			if len(frame) > chain.MaxBlockSize {
				t.Fatalf("frame of %d bytes", len(frame))
			}
			again = appendFrame(again, frame)
		}
	})
}

func TestReadFrameErrors(t *testing.T) {
	buf := make([]byte, chain.MaxBlockSize)
	for name, data := range map[string][]byte{
		"too large":      binary.BigEndian.AppendUint32(nil, chain.MaxBlockSize+1),
		"partial header": {0, 0},
	} {
		if _, err := readFrame(bytes.NewReader(data), buf); !errors.Is(err, ErrBadSync) {
			t.Errorf("%s: readFrame = %v, want ErrBadSync", name, err)
		}
	}
	if _, err := readFrame(bytes.NewReader([]byte{0, 0, 0, 5, 1}), buf); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated block: readFrame = %v, want io.ErrUnexpectedEOF", err)
	}
	if frame, err := readFrame(bytes.NewReader([]byte{0, 0, 0, 0}), buf); err != nil || len(frame) != 0 {
		t.Errorf("not found: readFrame = %x, %v, want an empty frame", frame, err)
	}
}

// Behaviours of rawPeer's blocks handler.
const (
	stall    = iota // read the request, never answer
	honest          // answer the blocks asked for
	wrong           // answer another block for each hash
	notFound        // answer that it has none
)

// rawPeer is a bare libp2p host that says hello with the given work,
// answers headers requests with the headers of its blocks (sealed
// headers requests with them and their seals) and blocks requests as
// mode says, counting them.
type rawPeer struct {
	host.Host
	mode          atomic.Int32
	blockRequests atomic.Int32
	hello         Status
	done          chan struct{} // closed at the end of the test: stalls end
	mu            sync.Mutex
	blocks        []*chain.Block
	byHash        map[chain.Hash]*chain.Block
}

func newRawPeer(t *testing.T, p *chain.Params, work int64, blocks []*chain.Block) *rawPeer {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.NoTransports, libp2p.Transport(tcp.NewTCPTransport),
		libp2p.DisableRelay(), libp2p.ResourceManager(&network.NullResourceManager{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	r := &rawPeer{
		done:  make(chan struct{}),
		Host:  h,
		hello: Status{Genesis: p.GenesisHash, Height: 1000, Work: big.NewInt(work)},
	}
	r.setBlocks(blocks)
	r.mode.Store(honest)
	h.SetStreamHandler(HeadersProtocol, r.serveHeaders)
	h.SetStreamHandler(SealedHeadersProtocol, r.serveSealedHeaders)
	h.SetStreamHandler(GetBlocksProtocol, r.serveBlocks)
	t.Cleanup(func() { close(r.done) }) // before h.Close
	return r
}

func (r *rawPeer) setBlocks(blocks []*chain.Block) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.blocks = blocks
	r.byHash = make(map[chain.Hash]*chain.Block)
	for _, b := range blocks {
		r.byHash[b.Hash()] = b
	}
}

// serveHeaders answers every request with the headers of all its blocks.
func (r *rawPeer) serveHeaders(s network.Stream) { r.answerHeaders(s, false) }

// serveSealedHeaders answers every request with the headers of all its
// blocks and their seals.
func (r *rawPeer) serveSealedHeaders(s network.Stream) { r.answerHeaders(s, true) }

// answerHeaders answers a headers request with the headers of all its
// blocks, each followed by its seal when sealed.
func (r *rawPeer) answerHeaders(s network.Stream, sealed bool) {
	defer s.Reset()
	if _, err := io.ReadAll(io.LimitReader(s, MaxHeadersRequestSize)); err != nil {
		return
	}
	r.mu.Lock()
	var out []byte
	for _, b := range r.blocks {
		out, _ = b.Header.AppendBinary(out)
		if sealed {
			out = append(out, b.Seal[:]...)
		}
	}
	r.mu.Unlock()
	if _, err := s.Write(out); err == nil {
		s.Close()
	}
}

func (r *rawPeer) serveBlocks(s network.Stream) {
	defer s.Reset()
	r.blockRequests.Add(1)
	raw, err := io.ReadAll(io.LimitReader(s, MaxGetBlocksRequestSize))
	if err != nil {
		return
	}
	var req getBlocksRequest
	if err := req.UnmarshalBinary(raw); err != nil {
		return
	}
	mode := r.mode.Load()
	if mode == stall {
		<-r.done
		return
	}
	var out []byte
	for _, h := range req.Hashes {
		r.mu.Lock()
		b := r.byHash[h]
		if mode == wrong {
			b = r.blocks[0]
			if b.Hash() == h {
				b = r.blocks[1]
			}
		}
		r.mu.Unlock()
		if b == nil || mode == notFound {
			out = appendFrame(out, nil)
			continue
		}
		raw, _ := b.MarshalBinary()
		out = appendFrame(out, raw)
	}
	if _, err := s.Write(out); err == nil {
		s.Close()
	}
}

// sayHello sends r's hello to n as the dialer, which makes n sync with r
// when r's work is above the fake chain's (7).
func (r *rawPeer) sayHello(t *testing.T, n *Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := r.Connect(ctx, peer.AddrInfo{ID: n.ID(), Addrs: n.Addrs()}); err != nil {
		t.Fatal(err)
	}
	s, err := r.NewStream(ctx, n.ID(), HelloProtocol)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	raw, err := r.hello.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(append([]byte{byte(len(raw))}, raw...)); err != nil {
		t.Fatal(err)
	}
	var buf [MaxHelloSize + 1]byte
	if _, err := io.ReadFull(s, buf[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(s, buf[1:1+int(buf[0])]); err != nil {
		t.Fatal(err)
	}
	s.Close()
	waitFor(t, "the hello recorded", func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		_, ok := n.hellos[r.ID()]
		return ok
	})
}

func (n *Node) invalidCount(p peer.ID) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.invalid[p]
}

// testChain returns count linked blocks of the given version on a
// made-up parent, each with a valid proof of work against the dev limit.
func testChain(t *testing.T, p *chain.Params, seed byte, count int, version int32) []*chain.Block {
	t.Helper()
	out := make([]*chain.Block, count)
	prev := chain.Hash{seed, 0xcc}
	for i := range out {
		b := testBlock(t, p, seed, version, true)
		b.Transactions[0].Coinbase.Extranonce = []byte{seed, byte(i), byte(i >> 8)}
		b.Header.PrevBlock = prev
		b.Header.MerkleRoot, _ = b.MerkleRoot()
		for b.Header.Nonce = 0; chain.CheckHeaderSanity(&b.Header, p) != nil; b.Header.Nonce++ {
		}
		out[i] = b
		prev = b.Hash()
	}
	return out
}

// newSyncNode returns a Node on the fake chain with a short SyncTimeout.
func newSyncNode(t *testing.T, p *chain.Params) (*Node, *fakeChain) {
	t.Helper()
	f := newFakeChain()
	n, err := New(Config{Params: p, Chain: f, Mempool: f, Listen: loopback(t), MaxInvalid: 3, SyncTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n, f
}

// noSyncStreams waits until every sync stream of n was closed or reset,
// and its memory released.
func noSyncStreams(t *testing.T, n *Node) {
	t.Helper()
	for _, proto := range []protocol.ID{HeadersProtocol, SealedHeadersProtocol, GetBlocksProtocol} {
		waitFor(t, "no "+string(proto)+" streams left", func() bool {
			var st network.ScopeStat
			err := n.host.Network().ResourceManager().ViewProtocol(proto, func(s network.ProtocolScope) error {
				st = s.Stat()
				return nil
			})
			return err == nil && st.NumStreamsInbound == 0 && st.NumStreamsOutbound == 0 && st.Memory == 0
		})
	}
}

// TestSyncBadPeers: a peer with more work is asked for headers after its
// hello, then for their blocks: a block the chain rejects counts against
// it; when it stalls, its requests are given up after SyncTimeout, each
// a stall, and the peer leaves the sync after MaxStalls of them, without
// penalty; the next sync, with honest answers, brings the block. A
// malformed request is counted against its sender. No stream is left
// open.
func TestSyncBadPeers(t *testing.T) {
	p := &chain.DevParams
	n, f := newSyncNode(t, p)
	bad := testChain(t, p, 1, 1, badVersion)
	good := testChain(t, p, 2, 1, 1)
	r := newRawPeer(t, p, 1<<40, bad)

	r.sayHello(t, n)
	waitFor(t, "the invalid block counted", func() bool { return r.invalidCountAt(n) == 1 })
	if st := n.SyncStats(); st.Headers != 1 || st.Blocks != 0 {
		t.Fatalf("sync stats %+v after the invalid block", st)
	}

	r.setBlocks(append(bad, good...))
	r.mode.Store(stall)
	start := time.Now()
	r.sayHello(t, n)
	waitFor(t, "the stalled requests to fail", func() bool { return n.SyncStats().Stalls == MaxStalls })
	if d := time.Since(start); d < MaxStalls*300*time.Millisecond {
		t.Fatalf("stalled requests given up after %v, before SyncTimeout", d)
	}
	if got := r.invalidCountAt(n); got != 1 {
		t.Fatalf("stalls counted against the peer: %d", got)
	}

	r.mode.Store(honest)
	r.sayHello(t, n)
	waitFor(t, "the honest block", func() bool { return f.has(good[0].Hash(), false) })
	st := n.SyncStats()
	if st.HeaderRequests != 3 || st.Requests != 3+1+MaxStalls+1 || st.Blocks != 1 || st.Failed != MaxStalls || st.Served[r.ID()] != 1 {
		t.Fatalf("sync stats %+v, want 3 header requests, %d block requests and 1 block", st, 1+MaxStalls+1)
	}

	// Blocks the node lacks are answered not found.
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	req, _ := (&getBlocksRequest{Hashes: []chain.Hash{{1}, {2}}}).MarshalBinary()
	s, err := r.NewStream(ctx, n.ID(), GetBlocksProtocol)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(req); err != nil {
		t.Fatal(err)
	}
	s.CloseWrite()
	if answer, err := io.ReadAll(s); err != nil || !bytes.Equal(answer, make([]byte, 2*frameHeaderSize)) {
		t.Fatalf("answer %x, %v; want two not-found frames", answer, err)
	}
	s.Close()

	s, err = r.NewStream(ctx, n.ID(), GetBlocksProtocol)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	s.CloseWrite()
	if _, err := io.ReadAll(s); err == nil {
		t.Error("a malformed request was answered")
	}
	s.Close()
	waitFor(t, "the malformed request counted", func() bool { return r.invalidCountAt(n) == 2 })
	noSyncStreams(t, n)
}

func (r *rawPeer) invalidCountAt(n *Node) int { return n.invalidCount(r.ID()) }

// TestSyncStallingPeer: the sync peer never answers blocks requests; the
// sync completes from another peer, which had said hello without more
// work, and the staller is not penalized.
func TestSyncStallingPeer(t *testing.T) {
	p := &chain.DevParams
	n, f := newSyncNode(t, p)
	blocks := testChain(t, p, 3, 40, 1)
	staller := newRawPeer(t, p, 1<<40, blocks)
	staller.mode.Store(stall)
	other := newRawPeer(t, p, 7, blocks)
	other.sayHello(t, n)
	staller.sayHello(t, n)
	waitFor(t, "every block", func() bool { return n.SyncStats().Blocks == int64(len(blocks)) })
	for _, b := range blocks {
		if !f.has(b.Hash(), false) {
			t.Fatalf("block %v missing", b.Hash())
		}
		if src, ok := n.BlockSource(b.Hash()); !ok || src != other.ID() {
			t.Fatalf("block %v from %v (%v), want the peer that served it", b.Hash(), src, ok)
		}
	}
	st := n.SyncStats()
	if st.Stalls < MaxStalls || st.Served[other.ID()] != int64(len(blocks)) || st.HelloSyncs != 1 {
		t.Fatalf("sync stats %+v, want %d stalls or more and every block from the other peer", st, MaxStalls)
	}
	if staller.invalidCountAt(n) != 0 {
		t.Fatal("the stalling peer was penalized")
	}
	noSyncStreams(t, n)
}

// TestSyncParallel: blocks are fetched from two peers at once, the sync
// peer first, MaxRequestsPerPeer requests each.
func TestSyncParallel(t *testing.T) {
	p := &chain.DevParams
	n, f := newSyncNode(t, p)
	blocks := testChain(t, p, 4, 4*MaxBlocksPerFetch, 1)
	a := newRawPeer(t, p, 1<<40, blocks)
	b := newRawPeer(t, p, 7, blocks)
	b.sayHello(t, n)
	a.sayHello(t, n)
	waitFor(t, "every block", func() bool { return n.SyncStats().Blocks == int64(len(blocks)) })
	st := n.SyncStats()
	half := int64(MaxRequestsPerPeer * MaxBlocksPerFetch)
	if st.Served[a.ID()] != half || st.Served[b.ID()] != half || st.Requests != 1+4 || st.Failed != 0 {
		t.Fatalf("sync stats %+v, want %d blocks from each peer in 4 requests", st, half)
	}
	if !f.has(blocks[len(blocks)-1].Hash(), false) {
		t.Fatal("the last block is missing")
	}
}

// TestSyncWrongAndNotFound: a peer that answers another block than the
// one asked for is penalized and leaves the sync; one that answers not
// found is not penalized; the blocks come from a third peer.
func TestSyncWrongAndNotFound(t *testing.T) {
	p := &chain.DevParams
	n, f := newSyncNode(t, p)
	blocks := testChain(t, p, 5, 3, 1)
	liar := newRawPeer(t, p, 1<<40, blocks)
	liar.mode.Store(wrong)
	lacking := newRawPeer(t, p, 7, blocks)
	lacking.mode.Store(notFound)
	good := newRawPeer(t, p, 7, blocks)

	// The liar alone: penalized once, no block.
	liar.sayHello(t, n)
	waitFor(t, "the wrong block counted", func() bool { return liar.invalidCountAt(n) == 1 })
	if st := n.SyncStats(); st.Blocks != 0 || st.Failed != 1 || st.Stalls != 0 {
		t.Fatalf("sync stats %+v after the wrong block", st)
	}

	// The peer that lacks them first, then the good one.
	lacking.sayHello(t, n)
	good.sayHello(t, n)
	liar.mode.Store(notFound)
	liar.sayHello(t, n)
	waitFor(t, "every block", func() bool { return n.SyncStats().Blocks == int64(len(blocks)) })
	for _, b := range blocks {
		if !f.has(b.Hash(), false) {
			t.Fatalf("block %v missing", b.Hash())
		}
	}
	st := n.SyncStats()
	if st.NotFound < int64(len(blocks)) || st.Served[good.ID()] != int64(len(blocks)) {
		t.Fatalf("sync stats %+v, want not-found answers and every block from the good peer", st)
	}
	if lacking.invalidCountAt(n) != 0 || liar.invalidCountAt(n) != 1 {
		t.Fatalf("penalties: lacking %d, liar %d; want 0 and 1", lacking.invalidCountAt(n), liar.invalidCountAt(n))
	}
	noSyncStreams(t, n)
}

// TestSyncForgetsUnservedHeaders: a peer with more work sends a header
// chain longer than the honest one the node holds the headers of, and
// answers not found for its blocks, as does the honest peer. The sync
// forgets those headers, counts a fault against the peer that sent
// them (not against the honest one, which never claimed them), and
// goes on in the same sync with the honest chain's blocks. Without the
// forgetting, MissingBlocks keeps returning the made-up blocks and the
// sync stalls.
func TestSyncForgetsUnservedHeaders(t *testing.T) {
	p := &chain.DevParams
	n, f := newSyncNode(t, p)
	f.tree = true
	honestChain := testChain(t, p, 6, 20, 1)
	fake := testChain(t, p, 7, 40, 1)
	// The honest headers came earlier (a sync cut short, say).
	if _, err := f.ProcessHeaders(headersOfBlocks(honestChain)); err != nil {
		t.Fatal(err)
	}
	honestPeer := newRawPeer(t, p, 7, honestChain) // no sync of its own
	liar := newRawPeer(t, p, 1<<40, fake)
	liar.mode.Store(notFound)
	honestPeer.sayHello(t, n)
	liar.sayHello(t, n)

	waitFor(t, "the honest chain's blocks", func() bool { return n.SyncStats().Blocks == int64(len(honestChain)) })
	for _, b := range honestChain {
		if !f.has(b.Hash(), false) {
			t.Fatalf("block %v missing", b.Hash())
		}
	}
	for _, b := range fake {
		if f.HaveHeader(b.Hash()) {
			t.Fatalf("made-up header %v kept; %+v", b.Hash(), n.SyncStats())
		}
	}
	if got := f.MissingBlocks(MaxBlocksInFlight); len(got) != 0 {
		t.Fatalf("still missing %v", got)
	}
	st := n.SyncStats()
	if st.Forgotten != 1 || st.ForgottenHeaders != int64(len(fake)) || st.HelloSyncs != 1 || st.Served[honestPeer.ID()] != int64(len(honestChain)) {
		t.Fatalf("sync stats %+v, want one branch of %d headers forgotten in one sync", st, len(fake))
	}
	if liar.invalidCountAt(n) != 1 || honestPeer.invalidCountAt(n) != 0 {
		t.Fatalf("faults: liar %d, honest %d; want 1 and 0", liar.invalidCountAt(n), honestPeer.invalidCountAt(n))
	}

	// The liar cannot loop: each made-up chain it sends again is
	// forgotten again and counted, and MaxInvalid (3) of them ban it.
	liar.sayHello(t, n)
	waitFor(t, "the second forgetting", func() bool { return n.SyncStats().Forgotten == 2 && liar.invalidCountAt(n) == 2 })
	liar.sayHello(t, n)
	waitFor(t, "the liar banned", func() bool { return n.Stats().InvalidBans == 1 })
	if honestPeer.invalidCountAt(n) != 0 {
		t.Fatal("the honest peer was penalized")
	}
	noSyncStreams(t, n)
}

// TestSyncStalledHeaderPeerForgetsNothing: when the header peer stalls
// instead of answering, and the other peer lacks the blocks, nothing
// proves the headers made up: they are kept, and nobody is penalized;
// the next sync, once the peer answers, brings their blocks.
func TestSyncStalledHeaderPeerForgetsNothing(t *testing.T) {
	p := &chain.DevParams
	n, f := newSyncNode(t, p)
	f.tree = true
	blocks := testChain(t, p, 8, MaxRequestsPerPeer*MaxBlocksPerFetch, 1) // MaxStalls requests
	staller := newRawPeer(t, p, 1<<40, blocks)
	staller.mode.Store(stall)
	lacking := newRawPeer(t, p, 7, nil)
	lacking.mode.Store(notFound)
	lacking.sayHello(t, n)
	staller.sayHello(t, n)
	waitFor(t, "the stall and the not-found answers", func() bool {
		st := n.SyncStats()
		return st.Stalls == MaxStalls && st.NotFound == int64(len(blocks))
	})
	staller.mode.Store(honest)
	staller.sayHello(t, n) // a second sync, after the first ended
	waitFor(t, "every block", func() bool { return n.SyncStats().Blocks == int64(len(blocks)) })
	if st := n.SyncStats(); st.Forgotten != 0 || st.HeaderRequests != 2 {
		t.Fatalf("sync stats %+v: headers forgotten", st)
	}
	if staller.invalidCountAt(n) != 0 || lacking.invalidCountAt(n) != 0 {
		t.Fatal("a peer was penalized")
	}
	noSyncStreams(t, n)
}

// headersOfBlocks returns the headers of blocks.
func headersOfBlocks(blocks []*chain.Block) []chain.Header {
	out := make([]chain.Header, len(blocks))
	for i, b := range blocks {
		out[i] = b.Header
	}
	return out
}

// TestSyncForgetNoFaultForOthersHeaders: the chain holds a made-up
// header chain from elsewhere (a sync cut short, say); an honest peer's
// sync finds its blocks nowhere and forgets it, without counting it
// against the honest peer, which never claimed it, and brings the
// honest chain in the same sync.
func TestSyncForgetNoFaultForOthersHeaders(t *testing.T) {
	p := &chain.DevParams
	n, f := newSyncNode(t, p)
	f.tree = true
	fake := testChain(t, p, 9, 30, 1)
	if _, err := f.ProcessHeaders(headersOfBlocks(fake)); err != nil {
		t.Fatal(err)
	}
	honestChain := testChain(t, p, 10, 10, 1)
	honestPeer := newRawPeer(t, p, 1<<40, honestChain)
	honestPeer.sayHello(t, n)
	waitFor(t, "the honest chain's blocks", func() bool { return n.SyncStats().Blocks == int64(len(honestChain)) })
	st := n.SyncStats()
	if st.Forgotten != 1 || st.ForgottenHeaders != int64(len(fake)) || st.HelloSyncs != 1 {
		t.Fatalf("sync stats %+v, want the made-up chain forgotten in one sync", st)
	}
	if honestPeer.invalidCountAt(n) != 0 {
		t.Fatal("the honest peer was penalized for headers it never sent")
	}
	noSyncStreams(t, n)
}
