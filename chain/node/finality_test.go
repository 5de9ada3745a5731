package node

import (
	"bytes"
	"io"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/powmine/powmine/chain"
)

// vote returns validator v's vote from source to target, signed for h's
// network.
func (h *harness) vote(v int, source, target chain.Checkpoint) chain.Transaction {
	h.tb.Helper()
	_, priv := testKey(100 + v)
	vt := chain.Vote{Source: source, Target: target}
	if err := vt.Sign(priv, h.p.GenesisHash); err != nil {
		h.tb.Fatal(err)
	}
	return chain.Transaction{Vote: &vt}
}

// slash returns a slash of validator v's double vote for target epoch 1
// (two sources that need not be justified: evidence is about signatures),
// reported by account reporter.
func (h *harness) slash(v, reporter int) chain.Transaction {
	h.tb.Helper()
	a := h.vote(v, chain.Checkpoint{Epoch: 0, Hash: chain.Hash{1}}, chain.Checkpoint{Epoch: 2, Hash: chain.Hash{2}})
	b := h.vote(v, chain.Checkpoint{Epoch: 1, Hash: chain.Hash{3}}, chain.Checkpoint{Epoch: 2, Hash: chain.Hash{4}})
	return chain.Transaction{Slash: &chain.Slash{Evidence: chain.NewEvidence(*a.Vote, *b.Vote), Reporter: addr(reporter)}}
}

// cpOf returns the checkpoint of block b, which must open an epoch.
func (h *harness) cpOf(b *chain.Block) chain.Checkpoint {
	h.tb.Helper()
	height := int64(b.Transactions[0].Coinbase.Height)
	if !h.p.IsEpochBoundary(height) {
		h.tb.Fatalf("block at height %d opens no epoch", height)
	}
	return chain.Checkpoint{Epoch: h.p.Epoch(height), Hash: b.Hash()}
}

// finalityState copies the node's finality records.
func (h *harness) finalityState() map[string][]byte {
	h.node.mu.RLock()
	defer h.node.mu.RUnlock()
	return maps.Clone(h.node.finality)
}

// stakedChain builds and processes, on h, deposits of 10 coins for
// validators 0, 1 and 2 (owners 0, 1, 2) at height 1 and empty blocks up
// to height 5, which opens epoch 1, where the three are active. It
// returns the blocks by height (blocks[0] is genesis).
func stakedChain(h *harness) []*chain.Block {
	h.tb.Helper()
	blocks := []*chain.Block{h.genesis}
	b1 := h.next(h.genesis, 3, deposit(h.tb, 0, 0, 10*coin, 0, 0), deposit(h.tb, 1, 1, 10*coin, 0, 0), deposit(h.tb, 2, 2, 10*coin, 0, 0))
	blocks = append(blocks, b1)
	blocks = append(blocks, h.branch(b1, 4, 3, 1)...)
	h.mustProcess(blocks[1:]...)
	return blocks
}

// genesisCP is h's genesis checkpoint.
func (h *harness) genesisCP() chain.Checkpoint {
	return chain.Checkpoint{Epoch: 0, Hash: h.p.GenesisHash}
}

// TestFinalityJustifyFinalize: two thirds of the stake justify epoch 1
// from genesis, then epoch 2 from epoch 1, which finalizes epoch 1; the
// voters of the justifying links are paid VoteReward, the absent one is
// not until its late vote lands on the justified link.
func TestFinalityJustifyFinalize(t *testing.T) {
	h := newHarness(t, false, Config{})
	blocks := stakedChain(h)
	g, cp1 := h.genesisCP(), h.cpOf(blocks[5])
	if info := h.node.Finality(); info.Epoch != 1 || info.Justified != g || info.Finalized != g || info.EpochStake != 30*coin || info.EpochVoted != 0 {
		t.Fatalf("before votes: %+v", info)
	}
	owner := func(i int) uint64 { return h.node.Account(addr(i)).Balance }
	before := []uint64{owner(0), owner(1), owner(2)}

	// One vote: a third of the stake, nothing justified.
	b6 := h.next(blocks[5], 3, h.vote(0, g, cp1))
	h.mustProcess(b6)
	if info := h.node.Finality(); info.Justified != g || info.EpochVoted != 10*coin {
		t.Fatalf("one vote: %+v", info)
	}
	// The second reaches 3·20 ≥ 2·30: epoch 1 is justified, both paid.
	b7 := h.next(b6, 3, h.vote(1, g, cp1))
	h.mustProcess(b7)
	info := h.node.Finality()
	if info.Justified != cp1 || info.Finalized != g || info.JustifiedHeight != 5 || info.EpochVoted != 20*coin {
		t.Fatalf("two votes: %+v", info)
	}
	if owner(0) != before[0]+h.p.VoteReward || owner(1) != before[1]+h.p.VoteReward || owner(2) != before[2] {
		t.Fatalf("rewards: %d %d %d, before %v", owner(0), owner(1), owner(2), before)
	}
	// The late third vote counts on the justified link and is paid at once.
	b8 := h.next(b7, 3, h.vote(2, g, cp1))
	h.mustProcess(b8)
	if owner(2) != before[2]+h.p.VoteReward {
		t.Fatal("late vote on a justifying link not paid")
	}
	rest := h.branch(b8, 2, 3, 1) // heights 9, 10: 10 opens epoch 2
	h.mustProcess(rest...)
	cp2 := h.cpOf(rest[1])
	b11 := h.next(rest[1], 3, h.vote(0, cp1, cp2), h.vote(2, cp1, cp2))
	h.mustProcess(b11)
	info = h.node.Finality()
	if info.Justified != cp2 || info.Finalized != cp1 || info.FinalizedHeight != 5 || info.Epoch != 2 {
		t.Fatalf("epoch 2: %+v", info)
	}
	// Validator 1 did not vote in epoch 2: it earned only epoch 1's reward.
	if owner(1) != before[1]+h.p.VoteReward || owner(0) != before[0]+2*h.p.VoteReward {
		t.Fatalf("rewards after epoch 2: %d %d", owner(0), owner(1))
	}
}

// TestFinalityRewardsJustifyingVotesOnly: a vote counted on a link that
// has not reached two thirds is not paid, and one on a link that never
// justifies its target is never paid; a validator that does not vote
// earns nothing. Validator 0 votes for epoch 1 alone; validators 1 and 2
// justify epoch 2 from genesis and are paid; validator 0's late vote on
// that justified link is paid once, its epoch-1 vote never.
func TestFinalityRewardsJustifyingVotesOnly(t *testing.T) {
	h := newHarness(t, false, Config{})
	blocks := stakedChain(h)
	g, cp1 := h.genesisCP(), h.cpOf(blocks[5])
	owner := func(i int) uint64 { return h.node.Account(addr(i)).Balance }
	before := []uint64{owner(0), owner(1), owner(2)}
	paid := func(when string, want ...uint64) {
		t.Helper()
		for i, w := range want {
			if got := owner(i) - before[i]; got != w*h.p.VoteReward {
				t.Fatalf("%s: owner %d got %d base units, want %d rewards of %d", when, i, got, w, h.p.VoteReward)
			}
		}
	}
	b6 := h.next(blocks[5], 3, h.vote(0, g, cp1))
	h.mustProcess(b6)
	if info := h.node.Finality(); info.Justified != g || info.EpochVoted != 10*coin {
		t.Fatalf("one vote: %+v", info)
	}
	paid("a third of the stake on g→1", 0, 0, 0)
	rest := h.branch(b6, 4, 3, 1) // heights 7..10: 10 opens epoch 2
	h.mustProcess(rest...)
	cp2 := h.cpOf(rest[3])
	paid("epoch 1 never justified", 0, 0, 0)
	b11 := h.next(rest[3], 3, h.vote(1, g, cp2), h.vote(2, g, cp2))
	h.mustProcess(b11)
	if info := h.node.Finality(); info.Justified != cp2 {
		t.Fatalf("epoch 2: %+v", info)
	}
	paid("g→2 justified by 1 and 2", 0, 1, 1)
	b12 := h.next(b11, 3, h.vote(0, g, cp2))
	h.mustProcess(b12)
	paid("0's late vote on the justified link", 1, 1, 1)
}

// TestFinalityBadVotes: every vote rule makes the block invalid with its
// code, and nothing changes.
func TestFinalityBadVotes(t *testing.T) {
	h := newHarness(t, false, Config{})
	blocks := stakedChain(h)
	g, cp1 := h.genesisCP(), h.cpOf(blocks[5])
	b6 := h.next(blocks[5], 3, h.vote(0, g, cp1))
	h.mustProcess(b6)
	tip := b6
	wrongHash := cp1
	wrongHash.Hash[0] ^= 1
	for _, tc := range []struct {
		name string
		tx   chain.Transaction
		code chain.ErrorCode
	}{
		{"unknown validator", h.vote(9, g, cp1), chain.ErrUnknownValidator},
		{"target epoch in the future", h.vote(1, g, chain.Checkpoint{Epoch: 2, Hash: cp1.Hash}), chain.ErrUnknownCheckpoint},
		{"target not this branch's checkpoint", h.vote(1, g, wrongHash), chain.ErrUnknownCheckpoint},
		{"source not justified", h.vote(1, chain.Checkpoint{Epoch: 0, Hash: chain.Hash{7}}, cp1), chain.ErrSourceNotJustified},
		{"duplicate across blocks", h.vote(0, g, cp1), chain.ErrDuplicateVote},
	} {
		before := h.finalityState()
		_, err := h.process(h.next(tip, 3, tc.tx))
		wantCode(t, err, tc.code)
		h.wantTip(tip)
		if !maps.EqualFunc(before, h.finalityState(), bytes.Equal) {
			t.Fatalf("%s: finality state changed", tc.name)
		}
	}
	// Inactive: validator 0 withdraws in epoch 1 and leaves at 2; its
	// vote for epoch 2 is refused.
	b7 := h.next(tip, 3, withdraw(t, 0, 0, 0, 1))
	h.mustProcess(b7)
	rest := h.branch(b7, 3, 3, 1) // heights 8..10: 10 opens epoch 2
	h.mustProcess(rest...)
	_, err := h.process(h.next(rest[2], 3, h.vote(0, cp1, h.cpOf(rest[2]))))
	wantCode(t, err, chain.ErrInactiveValidator)

	// Too old: in epoch 3, a vote for epoch 1 is refused.
	more := h.branch(rest[2], 5, 3, 1) // heights 11..15: 15 opens epoch 3
	h.mustProcess(more...)
	_, err = h.process(h.next(more[4], 3, h.vote(1, g, cp1)))
	wantCode(t, err, chain.ErrUnknownCheckpoint)
}

// TestFinalityUndo: a reorganization disconnects a block whose votes
// justified a checkpoint and connects a heavier branch that justifies it
// with other votes: the undone votes no longer count (the invariants
// compare the records with a replay of the best chain after every block).
func TestFinalityUndo(t *testing.T) {
	h := newHarness(t, false, Config{})
	blocks := stakedChain(h)
	g, cp1 := h.genesisCP(), h.cpOf(blocks[5])
	b6 := h.next(blocks[5], 3, h.vote(0, g, cp1), h.vote(1, g, cp1))
	h.mustProcess(b6)
	if h.node.Finality().Justified != cp1 {
		t.Fatal("not justified")
	}
	// A heavier branch from height 5 whose votes justify cp1 too.
	a1 := h.next(blocks[5], 2, h.vote(1, g, cp1), h.vote(2, g, cp1))
	a2 := h.next(a1, 2)
	h.mustProcess(a1, a2)
	h.wantTip(a2)
	if info := h.node.Finality(); info.Justified != cp1 || info.EpochVoted != 20*coin {
		t.Fatalf("after the reorganization: %+v", info)
	}
	// Validator 0's vote was undone: it counts again here.
	a3 := h.next(a2, 2, h.vote(0, g, cp1))
	h.mustProcess(a3)
	if info := h.node.Finality(); info.EpochVoted != 30*coin {
		t.Fatalf("validator 0's vote on the new branch: %+v", info)
	}
	// And back: a heavier branch on b6 disconnects a1..a3.
	back := h.branch(b6, 3, 3, 1)
	h.mustProcess(back...)
	h.wantTip(back[2])
	if info := h.node.Finality(); info.EpochVoted != 20*coin {
		t.Fatalf("back on b6: %+v", info)
	}
}

// TestFinalityForkChoice: a branch with a higher justified checkpoint
// wins over one with more work; a heavier branch that would revert a
// finalized block is refused, whatever its work and even if it were known
// to hold a higher justified checkpoint, and getchaintips' view marks it;
// MissingBlocksTo asks for no block of such a branch.
func TestFinalityForkChoice(t *testing.T) {
	var logs bytes.Buffer
	h := newHarness(t, false, Config{Logger: slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))})
	blocks := stakedChain(h)
	g, cp1 := h.genesisCP(), h.cpOf(blocks[5])
	b6 := h.next(blocks[5], 3, h.vote(0, g, cp1), h.vote(1, g, cp1))
	h.mustProcess(b6)
	// A branch from height 5 with two more blocks (more work), no votes.
	heavy := h.branch(blocks[5], 2, 2, 1)
	h.mustProcess(heavy...)
	h.wantTip(b6)
	h.node.mu.RLock()
	j, known := justifiedOf(h.node.index[heavy[1].Hash()])
	h.node.mu.RUnlock()
	if j != 0 || !known {
		t.Fatalf("the heavier branch was not tried: justified %d, known %v", j, known)
	}
	// Without the justification, the heavier branch wins: check on a
	// node that sees the same blocks without b6's votes.
	h2 := newHarness(t, false, Config{})
	h2.blocks = h.blocks
	for _, b := range append(blocks[1:], h.next(blocks[5], 3), heavy[0], heavy[1]) {
		h2.mustProcess(b)
	}
	h2.wantTip(heavy[1])

	// Finalize epoch 1: justify epoch 2 from cp1.
	rest := h.branch(b6, 4, 3, 1) // heights 7..10
	h.mustProcess(rest...)
	cp2 := h.cpOf(rest[3])
	b11 := h.next(rest[3], 3, h.vote(0, cp1, cp2), h.vote(2, cp1, cp2))
	h.mustProcess(b11)
	if info := h.node.Finality(); info.Finalized != cp1 || info.Justified != cp2 {
		t.Fatalf("%+v", info)
	}
	// Sync fetches no block towards a header chain that forks below the
	// finalized block, and does towards one forking at it.
	below, at := h.branch(blocks[4], 2, 4, 1), h.branch(blocks[5], 1, 4, 7)
	h.mustHeaders(below, 2)
	h.mustHeaders(at, 1)
	if got := h.node.MissingBlocksTo(below[1].Hash(), 10); got != nil {
		t.Fatalf("MissingBlocksTo a branch below the finalized block = %v", got)
	}
	if got := h.node.MissingBlocksTo(at[0].Hash(), 10); len(got) != 1 || got[0] != at[0].Hash() {
		t.Fatalf("MissingBlocksTo a branch at the finalized block = %v", got)
	}
	// A much heavier branch forking at height 4, below the finalized
	// block at height 5.
	fork := h.branch(blocks[4], 12, 2, 1)
	h.mustProcess(fork...)
	h.wantTip(b11)
	if !strings.Contains(logs.String(), "refused a reorganization that reverts a finalized block") {
		t.Fatalf("no log of the refusal:\n%s", logs.String())
	}
	// Even a recorded higher justified epoch does not let it through: the
	// finality rule alone refuses it.
	h.node.mu.Lock()
	n := h.node.index[fork[11].Hash()]
	n.justified, n.justifiedKnown = 99, true
	best := h.node.bestCandidate()
	h.node.mu.Unlock()
	if best.hash != b11.Hash() {
		t.Fatalf("fork choice follows %v, which reverts the finalized block", best.hash)
	}
	var flagged bool
	for _, tip := range h.node.ChainTips() {
		if tip.Hash == fork[11].Hash() {
			flagged = tip.RevertsFinalized
		}
		if tip.Hash == heavy[1].Hash() && tip.RevertsFinalized {
			t.Fatal("a branch forking at the finalized block is not a revert")
		}
	}
	if !flagged {
		t.Fatal("ChainTips does not mark the branch that reverts finality")
	}
	// A branch forking at the finalized block itself (height 5) does not
	// revert it; with the higher justified epoch recorded it would win.
	h.node.mu.Lock()
	n = h.node.index[heavy[1].Hash()]
	n.justified, n.justifiedKnown = 99, true
	best = h.node.bestCandidate()
	n.justified, n.justifiedKnown = 0, false
	h.node.mu.Unlock()
	if best.hash != heavy[1].Hash() {
		t.Fatalf("fork choice follows %v, want the branch with the higher justified epoch", best.hash)
	}
}

// TestFinalitySlash: evidence slashes once, pays the reporter, refuses
// the validator's later votes, takes it out of the next epoch's weights
// and burns its stake at the unlock.
func TestFinalitySlash(t *testing.T) {
	h := newHarness(t, false, Config{})
	blocks := stakedChain(h)
	g, cp1 := h.genesisCP(), h.cpOf(blocks[5])
	ownerBefore := h.node.Account(addr(2)).Balance
	b6 := h.next(blocks[5], 3, h.slash(2, 5))
	h.mustProcess(b6)
	if got := h.node.Account(addr(5)).Balance; got != 10*coin/16 {
		t.Fatalf("reporter has %d, want %d", got, 10*coin/16)
	}
	if v := h.node.Validator(valKey(2)); v.ExitEpoch != 2 {
		t.Fatalf("slashed validator %+v, want exit at epoch 2", v)
	}
	_, err := h.process(h.next(b6, 3, h.slash(2, 1)))
	wantCode(t, err, chain.ErrSlashedValidator)
	_, err = h.process(h.next(b6, 3, h.vote(2, g, cp1)))
	wantCode(t, err, chain.ErrSlashedValidator)
	_, err = h.process(h.next(b6, 3, h.slash(7, 1)))
	wantCode(t, err, chain.ErrUnknownValidator)
	// Epoch 1's total still holds the slashed stake (30); the others'
	// 20 reach two thirds.
	b7 := h.next(b6, 3, h.vote(0, g, cp1), h.vote(1, g, cp1))
	h.mustProcess(b7)
	if info := h.node.Finality(); info.Justified != cp1 {
		t.Fatalf("%+v", info)
	}
	rest := h.branch(b7, 8, 3, 1) // heights 8..15: epoch 2 at 10, 3 at 15
	h.mustProcess(rest...)
	if info := h.node.Finality(); info.EpochStake != 20*coin {
		t.Fatalf("epoch 3 stake %d, want 20 coins without the slashed validator", info.EpochStake)
	}
	if v := h.node.Validator(valKey(2)); v != (chain.Validator{}) {
		t.Fatalf("slashed validator not unlocked: %+v", v)
	}
	if got := h.node.Account(addr(2)).Balance; got != ownerBefore {
		t.Fatalf("slashed owner got %d back", got-ownerBefore)
	}
}

// syncWriter serializes writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestCheckFinalityTx: the check a mempool and templates use answers as
// connecting the next block would, and changes nothing.
func TestCheckFinalityTx(t *testing.T) {
	h := newHarness(t, false, Config{})
	blocks := stakedChain(h)
	g, cp1 := h.genesisCP(), h.cpOf(blocks[5])
	v0 := h.vote(0, g, cp1)
	before := h.finalityState()
	if err := h.node.CheckFinalityTx(&v0); err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(before, h.finalityState(), bytes.Equal) {
		t.Fatal("CheckFinalityTx changed the state")
	}
	h.mustProcess(h.next(blocks[5], 3, v0))
	wantCode(t, h.node.CheckFinalityTx(&v0), chain.ErrDuplicateVote)
	sl := h.slash(1, 5)
	if err := h.node.CheckFinalityTx(&sl); err != nil {
		t.Fatal(err)
	}
	transfer := transfer(t, 0, 1, 1, 1, 0)
	if err := h.node.CheckFinalityTx(&transfer); err == nil {
		t.Fatal("a transfer passed")
	}
	// At height 9 the next block opens epoch 2: a vote for its checkpoint
	// cannot be checked before it exists.
	rest := h.branch(h.blocks[h.node.Tip().Hash], 3, 3, 1)
	h.mustProcess(rest...)
	future := h.vote(1, cp1, chain.Checkpoint{Epoch: 2, Hash: chain.Hash{1}})
	wantCode(t, h.node.CheckFinalityTx(&future), chain.ErrUnknownCheckpoint)
}

// TestFinalityLighterJustifiedArrivesLater: the node follows a heavier
// branch without votes when a lighter branch whose votes justify epoch 1
// arrives (as a sync towards a peer's tip brings it). It tries that
// branch, learns its justified epoch and stays on it.
func TestFinalityLighterJustifiedArrivesLater(t *testing.T) {
	h := newHarness(t, false, Config{})
	blocks := stakedChain(h)
	g, cp1 := h.genesisCP(), h.cpOf(blocks[5])
	heavy := h.branch(blocks[5], 3, 2, 1)
	h.mustProcess(heavy...)
	h.wantTip(heavy[2])
	b6 := h.next(blocks[5], 3, h.vote(0, g, cp1), h.vote(1, g, cp1))
	h.mustProcess(b6)
	h.wantTip(b6)
	if info := h.node.Finality(); info.Justified != cp1 {
		t.Fatalf("finality on the justified branch: %+v", info)
	}
}

// TestFinalityInfoStalled: finality counts as stalled only with stake in
// the tip's epoch and a lag above FinalityStallLag.
func TestFinalityInfoStalled(t *testing.T) {
	for _, c := range []struct {
		epoch, finalized, stake uint64
		lag                     uint64
		stalled                 bool
	}{
		{0, 0, 10, 0, false},
		{5, 2, 10, 3, false},
		{6, 2, 10, 4, true},
		{6, 2, 0, 4, false}, // nobody stakes: no finality to stall
		{100, 99, 10, 1, false},
	} {
		f := FinalityInfo{Epoch: c.epoch, Finalized: chain.Checkpoint{Epoch: c.finalized}, EpochStake: c.stake}
		if f.Lag() != c.lag || f.Stalled() != c.stalled {
			t.Errorf("epoch %d, finalized %d, stake %d: lag %d stalled %v, want %d %v", c.epoch, c.finalized, c.stake, f.Lag(), f.Stalled(), c.lag, c.stalled)
		}
	}
}
