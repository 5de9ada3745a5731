package p2p

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/big"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/powmine/powmine/chain"
)

func TestBlocksRequestRoundTrip(t *testing.T) {
	long := make([]chain.Hash, MaxLocatorHashes)
	for i := range long {
		long[i][0] = byte(i)
	}
	for _, r := range []blocksRequest{
		{Locator: []chain.Hash{{1}}, Count: 1},
		{Locator: long, Count: 0xffff},
	} {
		raw, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) > MaxBlocksRequestSize {
			t.Fatalf("%d bytes, above MaxBlocksRequestSize", len(raw))
		}
		var got blocksRequest
		if err := got.UnmarshalBinary(raw); err != nil {
			t.Fatal(err)
		}
		if got.Count != r.Count || len(got.Locator) != len(r.Locator) || got.Locator[len(got.Locator)-1] != r.Locator[len(r.Locator)-1] {
			t.Fatalf("round trip of %+v gave %+v", r, got)
		}
	}
	for _, bad := range []blocksRequest{
		{Count: 1},
		{Locator: []chain.Hash{{}}, Count: 0},
		{Locator: []chain.Hash{{}}, Count: 0x10000},
		{Locator: append(long, chain.Hash{}), Count: 1},
	} {
		if _, err := bad.MarshalBinary(); !errors.Is(err, ErrBadSync) {
			t.Errorf("MarshalBinary(%d hashes, count %d) = %v, want ErrBadSync", len(bad.Locator), bad.Count, err)
		}
	}
	good, _ := (&blocksRequest{Locator: []chain.Hash{{1}, {2}}, Count: 3}).MarshalBinary()
	for name, data := range map[string][]byte{
		"empty":         nil,
		"short":         good[:2],
		"missing hash":  good[:len(good)-1],
		"trailing byte": append(bytes.Clone(good), 0),
		"zero count":    append([]byte{0, 0}, good[2:]...),
		"zero hashes":   {0, 1, 0},
		"too many":      append([]byte{0, 1, MaxLocatorHashes + 1}, make([]byte, (MaxLocatorHashes+1)*chain.HashSize)...),
	} {
		var r blocksRequest
		if err := r.UnmarshalBinary(data); !errors.Is(err, ErrBadSync) {
			t.Errorf("%s: UnmarshalBinary = %v, want ErrBadSync", name, err)
		}
	}
}

// FuzzBlocksRequest: what decodes encodes back to the same bytes.
func FuzzBlocksRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var r blocksRequest
		if err := r.UnmarshalBinary(data); err != nil {
			return
		}
		raw, err := r.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %x but cannot encode it: %v", data, err)
		}
		if !bytes.Equal(raw, data) {
			t.Fatalf("decoded %x, encodes as %x", data, raw)
		}
	})
}

// FuzzBlockFrames: the answer's framing reads frames of 1 to
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
			if len(frame) == 0 || len(frame) > chain.MaxBlockSize {
				t.Fatalf("frame of %d bytes", len(frame))
			}
			again = appendFrame(again, frame)
		}
	})
}

func TestReadFrameErrors(t *testing.T) {
	buf := make([]byte, chain.MaxBlockSize)
	for name, data := range map[string][]byte{
		"zero size":      {0, 0, 0, 0},
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
}

// Behaviours of rawPeer's block handler.
const (
	stall   = iota // read the request, never answer
	invalid        // answer a block that breaks a rule
	honest         // answer a good block
)

// rawPeer is a bare libp2p host that says hello with more work than the
// fake chain's and answers block requests as mode says.
type rawPeer struct {
	host.Host
	mode  atomic.Int32
	good  *chain.Block
	bad   *chain.Block
	hello Status
	done  chan struct{} // closed at the end of the test: stalls end
}

func newRawPeer(t *testing.T, p *chain.Params) *rawPeer {
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
		good:  testBlock(t, p, 1, 1, true),
		bad:   testBlock(t, p, 2, badVersion, true),
		hello: Status{Genesis: p.GenesisHash, Height: 1000, Work: big.NewInt(1 << 40)},
	}
	h.SetStreamHandler(BlocksProtocol, r.serve)
	t.Cleanup(func() { close(r.done) }) // before h.Close
	return r
}

func (r *rawPeer) serve(s network.Stream) {
	defer s.Reset()
	if _, err := io.ReadAll(io.LimitReader(s, MaxBlocksRequestSize)); err != nil {
		return
	}
	var b *chain.Block
	switch r.mode.Load() {
	case stall:
		<-r.done
		return
	case invalid:
		b = r.bad
	default:
		b = r.good
	}
	raw, err := b.MarshalBinary()
	if err != nil {
		return
	}
	if _, err := s.Write(appendFrame(nil, raw)); err == nil {
		s.Close()
	}
}

// sayHello sends r's hello to n as the dialer, which makes n sync with r.
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
}

func (n *Node) invalidCount(p peer.ID) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.invalid[p]
}

// TestSyncBadPeers: a peer with more work is asked for blocks after its
// hello; one that never answers is given up after SyncTimeout, one that
// answers an invalid block is counted against, and the next sync, with
// an honest answer, brings the block. A malformed request is counted
// against its sender. No stream is left open.
func TestSyncBadPeers(t *testing.T) {
	p := &chain.DevParams
	f := newFakeChain()
	n, err := New(Config{Params: p, Chain: f, Mempool: f, Listen: loopback(t), MaxInvalid: 3, SyncTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	r := newRawPeer(t, p)

	r.mode.Store(stall)
	start := time.Now()
	r.sayHello(t, n)
	waitFor(t, "the stalled sync to fail", func() bool { return n.SyncStats().Failed == 1 })
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("stalled sync given up after %v, before SyncTimeout", d)
	}

	r.mode.Store(invalid)
	r.sayHello(t, n)
	waitFor(t, "the invalid answer counted", func() bool { return n.invalidCount(r.ID()) == 1 })
	if st := n.SyncStats(); st.Failed != 2 || st.Blocks != 0 {
		t.Fatalf("sync stats %+v after the invalid answer", st)
	}

	r.mode.Store(honest)
	r.sayHello(t, n)
	waitFor(t, "the honest block", func() bool { return f.has(r.good.Hash(), false) })
	if st := n.SyncStats(); st.Requests != 3 || st.Blocks != 1 {
		t.Fatalf("sync stats %+v, want 3 requests and 1 block", st)
	}

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	s, err := r.NewStream(ctx, n.ID(), BlocksProtocol)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte{0, 0, 1}); err != nil {
		t.Fatal(err)
	}
	s.CloseWrite()
	if _, err := io.ReadAll(s); err == nil {
		t.Error("a malformed request was answered")
	}
	s.Close()
	waitFor(t, "the malformed request counted", func() bool { return n.invalidCount(r.ID()) == 2 })

	// Every block stream was closed or reset, and its memory released.
	waitFor(t, "no block streams left", func() bool {
		var st network.ScopeStat
		err := n.host.Network().ResourceManager().ViewProtocol(BlocksProtocol, func(s network.ProtocolScope) error {
			st = s.Stat()
			return nil
		})
		return err == nil && st.NumStreamsInbound == 0 && st.NumStreamsOutbound == 0 && st.Memory == 0
	})
}
