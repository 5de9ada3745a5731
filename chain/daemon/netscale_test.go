package daemon

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/p2p"
)

// The knobs of TestNetworkPartitionHeal.
const (
	scaleNodes     = 12               // two halves of 6
	scaleSeed      = 12               // of the topology
	scaleDegree    = 3                // links per node within its half, about
	scaleCross     = 4                // links between the halves before the split
	scaleHealLinks = 2                // of those, dialed again to heal
	scaleLateChain = 1000             // blocks the late node syncs, at least
	scaleHeavy     = 7                // blocks the heavier half mines apart
	scaleLight     = 3                // the lighter half
	scaleWait      = 60 * time.Second // any one wait (CI runs -race and purego)
)

// scaleNet is the network of TestNetworkPartitionHeal: daemons, whose
// clocks never move (the test builds blocks without mineBlock, so no
// daemon reads a clock the test writes), and the links the test dialed.
type scaleNet struct {
	t     *testing.T
	p     *chain.Params
	clock time.Time
	tds   []*testDaemon
	links map[[2]int]bool // i < j: i dialed j and the link is up
}

// tcpLoopback is the listen address of the scale tests: TCP only, one
// socket per daemon.
func tcpLoopback(t testing.TB) []ma.Multiaddr {
	t.Helper()
	a, err := ma.NewMultiaddr("/ip4/127.0.0.1/tcp/0")
	if err != nil {
		t.Fatal(err)
	}
	return []ma.Multiaddr{a}
}

// waitLong is waitFor with scaleWait.
func waitLong(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(scaleWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", scaleWait, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// start starts one more daemon, not connected to any.
func (s *scaleNet) start() *testDaemon {
	td := startTestDaemon(s.t, s.clock, Config{Params: s.p, Network: &Network{Listen: tcpLoopback(s.t)}})
	td.miner[1] = byte(len(s.tds))
	s.tds = append(s.tds, td)
	return td
}

// link makes i dial j once; nothing redials it (no AddPeer), so Cut
// keeps it down.
func (s *scaleNet) link(i, j int) {
	s.t.Helper()
	dial(s.t, s.tds[i], s.tds[j])
	s.links[[2]int{min(i, j), max(i, j)}] = true
}

// cut closes the link between i and j, from both ends, and waits until
// neither lists the other.
func (s *scaleNet) cut(i, j int) {
	s.t.Helper()
	a, b := s.tds[i], s.tds[j]
	a.net.Disconnect(b.net.ID())
	b.net.Disconnect(a.net.ID())
	waitLong(s.t, fmt.Sprintf("link %d-%d down", i, j), func() bool { return !connected(a, b) && !connected(b, a) })
	delete(s.links, [2]int{min(i, j), max(i, j)})
}

// connected reports whether a lists b among its peers.
func connected(a, b *testDaemon) bool { return lists(a, b.net.ID()) }

// lists reports whether td lists id among its peers.
func lists(td *testDaemon, id peer.ID) bool {
	return slices.ContainsFunc(td.net.Peers(), func(p p2p.PeerInfo) bool { return p.ID == id })
}

// buildOn returns a block on td's tip, 5 s after it, paying td.miner,
// with a proof of work that meets its bits; it does not move td's clock
// (mineBlock would, racing with the daemon's own reads).
func (s *scaleNet) buildOn(td *testDaemon) *chain.Block {
	s.t.Helper()
	tip := td.Node().Tip()
	hctx := td.Node().NextHeaderContext()
	height := uint32(tip.Height + 1)
	b := &chain.Block{Transactions: []chain.Transaction{{Coinbase: &chain.Coinbase{
		Height:     height,
		Extranonce: []byte{5, 6, 7, 8},
		Outputs:    []chain.Output{{Address: td.miner, Amount: chain.CalcBlockSubsidy(int64(height), s.p)}},
	}}}}
	b.Header = chain.Header{Version: 1, PrevBlock: tip.Hash, Timestamp: tip.Header.Timestamp + 5, Bits: hctx.NextBits(s.p)}
	b.Header.MerkleRoot, _ = b.MerkleRoot()
	solve(s.t, &b.Header)
	return b
}

// mine submits n blocks built on td's tip and returns the last.
func (s *scaleNet) mine(td *testDaemon, n int) *chain.Block {
	s.t.Helper()
	var b *chain.Block
	for range n {
		b = s.buildOn(td)
		if _, err := td.SubmitBlock(b); err != nil {
			s.t.Fatal(err)
		}
	}
	return b
}

// waitTip waits until every daemon of idx has the given tip.
func (s *scaleNet) waitTip(what string, idx []int, tip chain.Hash) {
	s.t.Helper()
	for _, i := range idx {
		td := s.tds[i]
		deadline := time.Now().Add(scaleWait)
		for td.Node().Tip().Hash != tip {
			if time.Now().After(deadline) {
				s.t.Fatalf("timed out after %v waiting for %s: node %d on tip %v\n%s", scaleWait, what, i, tip, s.describe())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// describe returns each node's tip and peers, for failures.
func (s *scaleNet) describe() string {
	var out strings.Builder
	ids := make(map[peer.ID]int)
	for i, td := range s.tds {
		ids[td.net.ID()] = i
	}
	for i, td := range s.tds {
		tip := td.Node().Tip()
		fmt.Fprintf(&out, "node %d: height %d tip %v peers", i, tip.Height, tip.Hash)
		for _, pi := range td.net.Peers() {
			n, ok := ids[pi.ID]
			if !ok {
				n = -1
			}
			fmt.Fprintf(&out, " %d(mesh %d)", n, len(pi.Mesh))
		}
		out.WriteString("\n")
	}
	return out.String()
}

// checkLinks checks that every link the test keeps up is up at both ends
// and that no daemon banned another.
func (s *scaleNet) checkLinks() {
	s.t.Helper()
	for l := range s.links {
		a, b := s.tds[l[0]], s.tds[l[1]]
		if !connected(a, b) || !connected(b, a) {
			s.t.Errorf("link %d-%d is down", l[0], l[1])
		}
	}
	for i, a := range s.tds {
		for j, b := range s.tds {
			if i != j && a.net.Banned(b.net.ID()) {
				s.t.Errorf("node %d banned honest node %d", i, j)
			}
		}
	}
}

// scaleTopology returns the links of a seeded random network of two
// halves: in each half a random spanning tree plus random links up to
// about scaleDegree per node, and scaleCross random links between the
// halves (the first ones listed).
func scaleTopology(rng *rand.Rand) (inside, cross [][2]int) {
	half := scaleNodes / 2
	seen := make(map[[2]int]bool)
	add := func(list *[][2]int, i, j int) bool {
		k := [2]int{min(i, j), max(i, j)}
		if i == j || seen[k] {
			return false
		}
		seen[k] = true
		*list = append(*list, k)
		return true
	}
	for base := 0; base < scaleNodes; base += half {
		order := rng.Perm(half)
		for k := 1; k < half; k++ { // a random tree: each node links to an earlier one
			add(&inside, base+order[k], base+order[rng.IntN(k)])
		}
		for extra := half*scaleDegree/2 - (half - 1); extra > 0; {
			if add(&inside, base+rng.IntN(half), base+rng.IntN(half)) {
				extra--
			}
		}
	}
	for len(cross) < scaleCross {
		add(&cross, rng.IntN(half), half+rng.IntN(half))
	}
	return inside, cross
}

// TestNetworkPartitionHeal runs 12 daemons on loopback in a seeded random
// topology of two halves, 4 of them mining (two per half):
//
//   - one miner's chain of 1,000 blocks reaches every node by sync;
//   - the network splits (every link between the halves closed; links
//     are dialed once, so nothing redials them) and each half mines its
//     own branch, one with more work; each half agrees on its branch;
//   - two links between the halves are dialed again: every node ends on
//     the heavier branch, and on the next block mined in the other half;
//   - an attacker built with chain/p2p gossips blocks with a bad proof of
//     work and blocks that break a contextual rule to two nodes: both ban
//     and disconnect it, no node stores those blocks, and no honest node
//     bans another or loses a link;
//   - a node that joins late syncs the whole chain, over 1,000 blocks.
func TestNetworkPartitionHeal(t *testing.T) {
	start := time.Now()
	p := syncParams(t, start)
	// Every clock is an hour past genesis: the 1,000 blocks 5 s apart
	// stay within the two hours into the future a node accepts.
	s := &scaleNet{t: t, p: p, clock: start.Add(time.Hour), links: make(map[[2]int]bool)}
	for range scaleNodes {
		s.start()
	}
	half := scaleNodes / 2
	all := make([]int, scaleNodes)
	for i := range all {
		all[i] = i
	}
	sideA, sideB := all[:half], all[half:]
	minersA, minersB := []int{0, 3}, []int{half, half + 3}
	inside, cross := scaleTopology(rand.New(rand.NewPCG(scaleSeed, scaleSeed)))
	t.Logf("links inside the halves %v, across %v", inside, cross)

	// The first miner's 1,000 blocks, then the network forms and syncs.
	tip := s.mine(s.tds[minersA[0]], scaleLateChain).Hash()
	for _, l := range append(slices.Clone(inside), cross...) {
		s.link(l[0], l[1])
	}
	s.waitTip("initial sync", all, tip)
	t.Logf("%d nodes synced %d blocks after %v", scaleNodes, scaleLateChain, time.Since(start).Round(time.Millisecond))
	// The four miners take turns; each block reaches every node, by
	// gossip, or by a status where a mesh is not formed yet.
	for _, m := range []int{minersA[1], minersB[0], minersB[1], minersA[0]} {
		tip = s.mine(s.tds[m], 1).Hash()
		s.waitTip("shared block", all, tip)
	}

	// The split: each half mines its own branch.
	for _, l := range cross {
		s.cut(l[0], l[1])
	}
	var heavy, light chain.Hash
	for i := range scaleHeavy {
		heavy = s.mine(s.tds[minersA[i%2]], 1).Hash()
		s.waitTip("heavier half", sideA, heavy)
	}
	for i := range scaleLight {
		light = s.mine(s.tds[minersB[i%2]], 1).Hash()
		s.waitTip("lighter half", sideB, light)
	}
	wa, wb := s.tds[0].Node().Tip().Work, s.tds[half].Node().Tip().Work
	if wa.Cmp(wb) <= 0 {
		t.Fatalf("the half that mined %d blocks has work %v, the one that mined %d has %v", scaleHeavy, wa, scaleLight, wb)
	}

	// The heal: every node ends on the heavier branch, then on a block of
	// the lighter half's miner built on it.
	healed := time.Now()
	for _, l := range cross[:scaleHealLinks] {
		s.link(l[0], l[1])
	}
	s.waitTip("heal", all, heavy)
	t.Logf("healed after %v", time.Since(healed).Round(time.Millisecond))
	tip = s.mine(s.tds[minersB[1]], 1).Hash()
	s.waitTip("block after the heal", all, tip)
	s.checkLinks()

	s.attack(minersA[1], minersB[0])
	if got := s.tds[0].Node().Tip().Hash; got != tip {
		t.Fatalf("the attack moved the tip to %v", got)
	}
	s.checkLinks()

	// A node that joins late, linked to one node of each half.
	late := s.start()
	s.link(scaleNodes, 1)
	s.link(scaleNodes, half+1)
	s.waitTip("late node", []int{scaleNodes}, tip)
	if h := late.Node().Tip().Height; h <= scaleLateChain {
		t.Fatalf("the late node is at height %d, want over %d", h, scaleLateChain)
	}
	s.checkLinks()
	t.Logf("done after %v", time.Since(start).Round(time.Millisecond))
}

// attack connects an attacker, a bare chain/p2p node, to the honest
// nodes i and j; it gossips blocks on their tip whose proof of work does
// not meet their bits and blocks whose timestamp is not after the median
// time past. Both nodes ban it and close its connections; no node stores
// one of its blocks.
func (s *scaleNet) attack(i, j int) {
	t := s.t
	t.Helper()
	attacker, err := p2p.New(p2p.Config{Params: s.p, Chain: idleChain{}, Mempool: idleChain{}, Listen: tcpLoopback(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { attacker.Close() })
	targets := []*testDaemon{s.tds[i], s.tds[j]}
	for _, td := range targets {
		ctx, cancel := context.WithTimeout(context.Background(), peerDialTimeout)
		err := attacker.Connect(ctx, td.NetworkAddrs()[0])
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Flood publishing reaches the peers known to be on the topic; the
	// mesh shows they are.
	waitLong(t, "the attacker's mesh", func() bool {
		n := 0
		for _, pi := range attacker.Peers() {
			if slices.Contains(pi.Mesh, p2p.BlocksTopic(s.p.GenesisHash)) {
				n++
			}
		}
		return n == len(targets)
	})
	tip := s.tds[i].Node().Tip()
	var bad []*chain.Block
	for k := range 4 {
		b := s.buildOn(s.tds[i])
		b.Transactions[0].Coinbase.Extranonce = []byte{0xba, 0xd, byte(k)}
		if k%2 == 0 {
			b.Header.Timestamp = uint32(s.p.GenesisBlock.Header.Timestamp) // before the median time past
		}
		b.Header.MerkleRoot, _ = b.MerkleRoot()
		for b.Header.Nonce = 0; ; b.Header.Nonce++ {
			if pow := chain.CheckHeaderSanity(&b.Header, s.p) == nil; pow == (k%2 == 0) {
				break
			}
		}
		bad = append(bad, b)
		attacker.PublishBlock(b)
	}
	for k, td := range targets {
		waitLong(t, fmt.Sprintf("node %d bans the attacker", []int{i, j}[k]), func() bool {
			return td.net.Banned(attacker.ID()) && !lists(td, attacker.ID())
		})
	}
	waitLong(t, "the attacker disconnected", func() bool { return len(attacker.Peers()) == 0 })
	for n, td := range s.tds {
		if got := td.Node().Tip().Hash; got != tip.Hash {
			t.Errorf("node %d moved to %v during the attack", n, got)
		}
		for _, b := range bad {
			if _, ok := td.Node().BlockInfo(b.Hash()); ok {
				t.Errorf("node %d stored the attacker's block %v", n, b.Hash())
			}
		}
	}
}

// idleChain is the attacker's chain: it has every block and takes
// nothing, so the attacker never syncs and serves no blocks.
type idleChain struct{}

var errNoBlocks = errors.New("the attacker serves no blocks")

var (
	_ p2p.Chain   = idleChain{}
	_ p2p.Mempool = idleChain{}
)

func (idleChain) Status() p2p.Status                                { return p2p.Status{} }
func (idleChain) HaveBlock(chain.Hash) bool                         { return true }
func (idleChain) ProcessBlock(*chain.Block) error                   { return p2p.ErrKnown }
func (idleChain) ProcessHeaders([]chain.Header) (int, error)        { return 0, p2p.ErrKnown }
func (idleChain) HeaderLocator() []chain.Hash                       { return nil }
func (idleChain) MissingBlocks(int) []chain.Hash                    { return nil }
func (idleChain) MissingBlocksTo(chain.Hash, int) []chain.Hash      { return nil }
func (idleChain) HaveHeader(chain.Hash) bool                        { return true }
func (idleChain) ForgetHeaders(chain.Hash) (int, error)             { return 0, nil }
func (idleChain) MainChainHeaders([]chain.Hash, int) []chain.Header { return nil }
func (idleChain) Block(chain.Hash) (*chain.Block, error)            { return nil, errNoBlocks }
func (idleChain) AcceptTransfer(*chain.Transaction) error           { return p2p.ErrKnown }
