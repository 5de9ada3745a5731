package daemon

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/pos"
	"github.com/powmine/powmine/chain/template"
)

// startPoSDaemon runs a networked daemon of the proof-of-stake chain p,
// in memory, on the real clock (slots need one), with validator key.
func startPoSDaemon(t *testing.T, p *chain.Params, key ed25519.PrivateKey) *testDaemon {
	t.Helper()
	return startPoSDaemonConfig(t, Config{Params: p, ValidatorKey: key})
}

// startPoSDaemonConfig is startPoSDaemon with cfg, to which it adds a
// loopback network and the test logger.
func startPoSDaemonConfig(t *testing.T, cfg Config) *testDaemon {
	t.Helper()
	cfg.Network, cfg.Logger = &Network{Listen: loopback(t)}, posTestLogger
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	td := &testDaemon{Daemon: d}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	td.stop = func() {
		cancel()
		<-done
		d.Close()
	}
	t.Cleanup(td.stop)
	return td
}

// posTestChain returns n validator keys and a new proof-of-stake dev
// chain whose genesis stakes keys[0], with slots of 200 ms and epochs of
// 4 slots.
func posTestChain(t *testing.T, n int) ([]ed25519.PrivateKey, []chain.PublicKey, chain.Params) {
	t.Helper()
	keys, pubs := make([]ed25519.PrivateKey, n), make([]chain.PublicKey, n)
	for i := range keys {
		seed := make([]byte, ed25519.SeedSize)
		seed[0] = byte(i + 1)
		keys[i] = ed25519.NewKeyFromSeed(seed)
		pubs[i] = chain.PublicKey(keys[i].Public().(ed25519.PublicKey))
	}
	p, err := chain.DevPoSParamsFor(chain.DevPoSGenesisTemplate(uint32(time.Now().Unix()), pubs[0]))
	if err != nil {
		t.Fatal(err)
	}
	p.SlotDuration = 200 * time.Millisecond
	p.EpochLength = 4
	return keys, pubs, p
}

var posTestLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// waitSlots is waitFor with a deadline for slot-paced conditions.
func waitSlots(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sealBlock returns a block on td's tip for slot, stamped with the
// slot's start and sealed by key with its reveal for the slot's epoch.
func sealBlock(t *testing.T, td *testDaemon, slot uint64, key ed25519.PrivateKey) *chain.Block {
	t.Helper()
	p := td.params
	tmpl, err := td.Template([]template.Payout{{Address: chain.Address{0x42}, Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	start := pos.SlotStart(time.Unix(int64(p.GenesisHeader.Timestamp), 0), p.SlotDuration, slot)
	b, err := tmpl.Block(make([]byte, tmpl.ExtranonceSize), uint32(start.Unix()), 0)
	if err != nil {
		t.Fatal(err)
	}
	reveal, err := pos.NewReveal(key, p.GenesisHash, slot/uint64(p.EpochLength))
	if err != nil {
		t.Fatal(err)
	}
	s, err := pos.NewSeal(key, p.GenesisHash, slot, b.Hash(), reveal)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := s.MarshalBinary()
	b.Seal = (*chain.BlockSeal)(enc)
	return b
}

// TestPoSNetwork: three daemons of a proof-of-stake chain with 200 ms
// slots and epochs of four; daemon 0's key is the genesis validator and
// deposits the stake of the other two. Blocks come from the elected
// proposers (every node checks each seal; the test sees all three keys
// propose), every node ends on one tip, finality advances, and getblock
// shows the tip's seal (slot and proposer). Then,
// with the proposers stopped, a block for a future slot, one sealed by a
// key that is not the slot's elected proposer and one with a bad seal
// signature are refused with their chain/pos codes, and the elected
// proposer's own block is accepted.
func TestPoSNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("three networked daemons for several seconds")
	}
	keys, pubs, p := posTestChain(t, 3)
	var tds [3]*testDaemon
	for i := range tds {
		tds[i] = startPoSDaemon(t, &p, keys[i])
		if i > 0 {
			dial(t, tds[i], tds[0])
			waitFor(t, "mesh", func() bool { return meshed(tds[0], tds[i]) && meshed(tds[i], tds[0]) })
		}
	}
	for i := 1; i < 3; i++ {
		d := &chain.Deposit{Amount: p.MinDeposit, Fee: 1000, Sequence: uint64(i - 1)}
		if err := d.Sign(keys[0], keys[i], p.GenesisHash); err != nil {
			t.Fatal(err)
		}
		if err := tds[0].SendTransaction(&chain.Transaction{Deposit: d}); err != nil {
			t.Fatal(err)
		}
	}

	n0 := tds[0].Node()
	const finalTarget = 3
	waitSlots(t, "finality and all three proposers", 90*time.Second, func() bool {
		return n0.Finality().Finalized.Epoch >= finalTarget && len(proposers(t, tds[0])) == 3
	})
	for _, td := range tds {
		td.proposer.stop()
	}
	waitSlots(t, "one tip", 20*time.Second, func() bool {
		tip := n0.Tip().Hash
		return tds[1].Node().Tip().Hash == tip && tds[2].Node().Tip().Hash == tip
	})
	tip := n0.Tip()
	counts := proposers(t, tds[0])
	// getblock shows the tip's seal.
	reply, err := tds[0].getBlock(context.Background(), json.RawMessage(fmt.Sprintf(`["%v", 1]`, tip.Hash)))
	if err != nil {
		t.Fatal(err)
	}
	tipBlock, err := n0.Block(tip.Hash)
	if err != nil {
		t.Fatal(err)
	}
	var seal pos.Seal
	if err := seal.UnmarshalBinary(tipBlock.Seal[:]); err != nil {
		t.Fatal(err)
	}
	if got := reply.(blockJSON).Seal; got == nil || *got != (sealJSON{Slot: seal.Slot, Proposer: seal.Proposer.String()}) {
		t.Fatalf("getblock of the tip shows seal %+v, want slot %d proposer %v", got, seal.Slot, seal.Proposer)
	}
	t.Logf("height %d, finalized epoch %d, blocks by proposer %v", tip.Height, n0.Finality().Finalized.Epoch, counts)
	for i := 1; i < 3; i++ {
		if f := tds[i].Node().Finality().Finalized; f.Epoch < finalTarget {
			t.Errorf("daemon %d finalized only %+v", i, f)
		}
	}

	// Refusals, on daemon 1 (the proposers are stopped: the tip stays).
	genesis := time.Unix(int64(p.GenesisHeader.Timestamp), 0)
	keyOf := func(pub chain.PublicKey) (ed25519.PrivateKey, ed25519.PrivateKey) {
		for i := range pubs {
			if pubs[i] == pub {
				return keys[i], keys[(i+1)%3]
			}
		}
		t.Fatalf("elected proposer %v is none of the test's keys", pub)
		return nil, nil
	}
	wantCode := func(err error, code pos.ErrorCode) {
		t.Helper()
		var rerr chain.RuleError
		var perr pos.RuleError
		if !errors.As(err, &rerr) || rerr.Code != chain.ErrBadSeal || !errors.As(err, &perr) || perr.Code != code {
			t.Fatalf("error %v, want ErrBadSeal wrapping %v", err, code)
		}
	}
	d1 := tds[1]
	future := pos.Slot(genesis, p.SlotDuration, time.Now()) + 20 // 4 s ahead, beyond the 0.5 s skew
	info, err := d1.Node().Proposer(future)
	if err != nil {
		t.Fatal(err)
	}
	elected, _ := keyOf(info.Proposer)
	_, err = d1.SubmitBlock(sealBlock(t, d1, future, elected))
	wantCode(err, pos.ErrFutureSlot)

	// The next slot: its block may come within the clock skew allowance,
	// and the tip cannot hold it (the tip's slot has started).
	now := pos.Slot(genesis, p.SlotDuration, time.Now()) + 1
	info, err = d1.Node().Proposer(now)
	if err != nil {
		t.Fatal(err)
	}
	elected, other := keyOf(info.Proposer)
	_, err = d1.SubmitBlock(sealBlock(t, d1, now, other))
	wantCode(err, pos.ErrWrongProposer)
	bad := sealBlock(t, d1, now, elected)
	bad.Seal[chain.SealSize-1] ^= 1
	_, err = d1.SubmitBlock(bad)
	wantCode(err, pos.ErrBadSealSignature)
	good := sealBlock(t, d1, now, elected)
	if good.Hash() != bad.Hash() {
		t.Fatal("test bug: the good block differs from the bad one")
	}
	if _, err := d1.SubmitBlock(good); err != nil {
		t.Fatalf("the elected proposer's block: %v", err)
	}
	if d1.Node().Tip().Hash != good.Hash() {
		t.Fatal("the elected proposer's block is not the tip")
	}
}

// proposers returns how many blocks of td's best chain each key sealed.
func proposers(t *testing.T, td *testDaemon) map[chain.PublicKey]int {
	t.Helper()
	n := td.Node()
	out := map[chain.PublicKey]int{}
	for h := n.Tip().Height; h > 0; h-- {
		info, ok := n.BlockByHeight(h)
		if !ok {
			continue // the tip moved under the walk
		}
		b, err := n.Block(info.Hash)
		if err != nil || b.Seal == nil {
			t.Fatalf("block at height %d: %v, seal %v", h, err, b.Seal != nil)
		}
		var s pos.Seal
		if err := s.UnmarshalBinary(b.Seal[:]); err != nil {
			t.Fatal(err)
		}
		out[s.Proposer]++
	}
	return out
}

// TestPoSLateJoin: a daemon that joins a proof-of-stake chain after a
// second validator was deposited and proposed syncs it through sealed
// headers: the first headers round stops, without a fault, at the first
// header sealed by the new validator, the blocks before it are connected
// (registering it), and a second round brings the rest.
func TestPoSLateJoin(t *testing.T) {
	if testing.Short() {
		t.Skip("networked daemons for several seconds")
	}
	keys, pubs, p := posTestChain(t, 2)
	a, b := startPoSDaemon(t, &p, keys[0]), startPoSDaemon(t, &p, keys[1])
	dial(t, b, a)
	waitFor(t, "mesh", func() bool { return meshed(a, b) && meshed(b, a) })
	d := &chain.Deposit{Amount: p.MinDeposit, Fee: 1000}
	if err := d.Sign(keys[0], keys[1], p.GenesisHash); err != nil {
		t.Fatal(err)
	}
	if err := a.SendTransaction(&chain.Transaction{Deposit: d}); err != nil {
		t.Fatal(err)
	}
	waitSlots(t, "blocks by the deposited validator", 60*time.Second, func() bool { return proposers(t, a)[pubs[1]] >= 2 })
	a.proposer.stop()
	b.proposer.stop()
	waitSlots(t, "one tip", 20*time.Second, func() bool { return a.Node().Tip().Hash == b.Node().Tip().Hash })
	tip := a.Node().Tip()

	c := startPoSDaemonConfig(t, Config{Params: &p})
	dial(t, c, a)
	waitSlots(t, "the late joiner on the tip", 30*time.Second, func() bool { return c.Node().Tip().Hash == tip.Hash })
	st := c.net.SyncStats()
	t.Logf("height %d, blocks by proposer %v, sync stats %+v", tip.Height, proposers(t, a), st)
	if st.HeaderRequests < 2 || st.Failed != 0 || st.Forgotten != 0 || st.Headers != tip.Height {
		t.Fatalf("sync stats %+v: want %d headers in two rounds at least, nothing failed or forgotten", st, tip.Height)
	}
}
