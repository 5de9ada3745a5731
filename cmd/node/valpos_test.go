package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/pos"
	"github.com/powmine/powmine/internal/jsonrpc"
)

// The chain of TestThreeValidatorProcessesPoS: epochs of 4 slots of
// 500 ms, so that an epoch lasts 2 s when every slot is filled, and
// stakes of 10, 20 and 10 coins for a, b and c.
const (
	posEpochLength = 4
	posSlot        = 500 * time.Millisecond
	posStakeA      = 10 * chain.BaseUnitsPerCoin // the genesis stake: the dev chain's MinDeposit
	posStakeB      = 20 * chain.BaseUnitsPerCoin
	posStakeC      = 10 * chain.BaseUnitsPerCoin
)

// waitSealers waits until blocks of the node's best chain from height
// from on have been sealed by every key of want, as getblock's seal
// field says.
func (n *procNode) waitSealers(t *testing.T, what string, from int64, want ...chain.PublicKey) {
	t.Helper()
	seen := map[string]bool{}
	n.waitFor(t, what, n.walkBlocks(&from, func(b blockReply) bool {
		if b.Seal != nil {
			seen[b.Seal.Proposer] = true
		}
		for _, k := range want {
			if !seen[k.String()] {
				return false
			}
		}
		return true
	}))
}

// waitSameFinalized waits until every node reports the same finalized
// checkpoint, of epoch min or later, and returns it.
func waitSameFinalized(t *testing.T, min uint64, nodes ...*procNode) checkpointReply {
	t.Helper()
	var cp checkpointReply
	nodes[0].waitFor(t, fmt.Sprintf("one finalized checkpoint of epoch %d or later on every node", min), func() bool {
		for i, n := range nodes {
			f, ok := n.finality()
			if !ok || f.Finalized.Epoch < min || i > 0 && f.Finalized != cp {
				return false
			}
			cp = f.Finalized
		}
		return true
	})
	return cp
}

// TestThreeValidatorProcessesPoS runs three `node --dev --consensus pos`
// processes on 127.0.0.1 (epochs of 4 slots of 500 ms, set by the dev
// knobs --epoch-length and --slot-duration), each a validator with its
// own key: a creates the chain, its key holding the genesis stake (10
// coins) and the genesis coinbase; b and c join with --genesis a's
// genesis.bin and --peer (c names a and b). The other stakes come the
// way real operators would bring them: a's operator pays b's and c's
// operators from a's key (node send --wallet validator-a.json: a
// proposer's rewards go to its key's address), and each of them stakes
// its own validator key from its own wallet (node validator deposit):
// 20 coins for b, 10 for c.
//
// With the three active, epochs are finalized on all three with one
// finalized checkpoint, and blocks are sealed by all three keys (the
// seal getblock shows; votes are read from its decoded transactions). Then b
// is killed with SIGKILL: a and c hold 20 of the 40 coins of stake, less
// than the two thirds a link needs, so they keep proposing (both seal
// blocks) but finality stops: three epochs later neither has finalized
// beyond the epoch of the kill, nor counted more than their own stake
// for the current checkpoint. b is restarted on the same data directory
// and key: it reaches a's tip, seals a block of a's best chain again, a
// vote of its key for an epoch of its new life is in a block of a's best
// chain, and finality resumes on all three up to that epoch: with a and
// c alone below two thirds, that finality counts b's votes. Each node
// then stops cleanly on SIGINT.
func TestThreeValidatorProcessesPoS(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skipf("no SIGKILL on %s", runtime.GOOS)
	}
	if testing.Short() {
		t.Skip("starts three node processes; skipped in -short mode")
	}
	start := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(start).Seconds(), what) }
	dir := t.TempDir()
	k := newValKeys(t, dir, "a", "b", "c")
	t.Cleanup(func() {
		// A validator that stops voting says why in its signing record.
		for _, name := range []string{"a", "b", "c"} {
			if rec, err := os.ReadFile(filepath.Join(dir, name, "validator-votes.json")); t.Failed() {
				t.Logf("node %s's signing record: %s %v", name, rec, err)
			}
		}
	})
	ownerB, ownerC := filepath.Join(dir, "owner-b.json"), filepath.Join(dir, "owner-c.json")
	addrB, addrC := k.newWallet(t, ownerB), k.newWallet(t, ownerC)
	nodeArgs := func(name string, args ...string) []string {
		return k.nodeArgs(dir, name, posEpochLength, append([]string{"--consensus", "pos", "--slot-duration", posSlot.String()}, args...)...)
	}
	a := startProc(t, "a", freeAddr(t), nodeArgs("a", "--listen", "/ip4/127.0.0.1/tcp/0")...)
	genesis := filepath.Join(dir, "a", "genesis.bin")
	// b is restarted: a fixed p2p port, so that c's --peer still names it.
	argsB := nodeArgs("b", "--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", freePort(t)), "--genesis", genesis, "--peer", a.p2pAddr())
	rpcB := freeAddr(t)
	b := startProc(t, "b", rpcB, argsB...)
	c := startProc(t, "c", freeAddr(t), nodeArgs("c", "--listen", "/ip4/127.0.0.1/tcp/0",
		"--genesis", genesis, "--peer", a.p2pAddr(), "--peer", b.p2pAddr())...)
	all := []*procNode{a, b, c}
	phase("three validator nodes started")

	// The stakes: a pays b's and c's operators (a coin more than the
	// stake, for the fee), then they deposit.
	const fee = chain.BaseUnitsPerCoin
	for _, pay := range []struct {
		to    chain.Address
		units uint64
	}{{addrB, posStakeB + fee}, {addrC, posStakeC + fee}} {
		runCLI(t, append([]string{"send", "--wallet", k.file["a"], "--passphrase-file", k.pass,
			"--to", pay.to.String(), "--amount", coinString(pay.units)}, a.cliRPC()...)...)
	}
	a.waitFor(t, "b's operator paid", a.balanceAtLeast(addrB, posStakeB+fee))
	a.waitFor(t, "c's operator paid", a.balanceAtLeast(addrC, posStakeC+fee))
	k.deposit(t, a, "b", ownerB, posStakeB)
	k.deposit(t, a, "c", ownerC, posStakeC)
	const total = posStakeA + posStakeB + posStakeC
	a.waitFor(t, "the three validators in getvalidators", a.stakesAre(map[chain.PublicKey]uint64{
		k.pub["a"]: posStakeA, k.pub["b"]: posStakeB, k.pub["c"]: posStakeC}))
	_, h := a.best()
	active := uint64(h / posEpochLength)
	phase(fmt.Sprintf("the three validators active in epoch %d", active))

	// Finalizing epoch `active` takes a supermajority link from it to
	// its child, voted in an epoch where all three are validators.
	cp := waitSameFinalized(t, active, all...)
	if f, _ := a.finality(); f.Total != total {
		t.Fatalf("getfinality on a: epoch %d total stake %d, want the three stakes %d", f.Epoch, f.Total, total)
	}
	a.waitSealers(t, "blocks sealed by a, b and c", 1, k.pub["a"], k.pub["b"], k.pub["c"])
	phase(fmt.Sprintf("epoch %d finalized on a, b and c (%s); all three keys sealed blocks", cp.Epoch, cp.Hash))

	// b dies. Votes it signed before target at most the epoch after a's
	// tip's (its tip may be a block ahead of a's), so they can justify at
	// most that epoch and finalize at most killEpoch.
	b.kill(t)
	_, killHeight := a.best()
	killEpoch := uint64(killHeight / posEpochLength)
	phase(fmt.Sprintf("b killed; a at height %d, epoch %d", killHeight, killEpoch))
	a.waitSealers(t, "blocks sealed by a and c without b", killHeight+1, k.pub["a"], k.pub["c"])
	stalled := int64(killEpoch+3) * posEpochLength
	for _, n := range []*procNode{a, c} {
		n.waitFor(t, fmt.Sprintf("height %d (epoch %d) without b", stalled, killEpoch+3), func() bool { _, h := n.best(); return h >= stalled })
	}
	for _, n := range []*procNode{a, c} {
		f, ok := n.finality()
		if !ok {
			t.Fatalf("node %s: no getfinality answer", n.name)
		}
		if f.Finalized.Epoch > killEpoch || f.Justified.Epoch > killEpoch+1 || f.Voted > posStakeA+posStakeC || f.Total != total {
			t.Fatalf("node %s without b, in epoch %d: justified epoch %d, finalized %d, voted stake %d of %d; "+
				"want at most epochs %d and %d and a's and c's %d of %d: their stake is below two thirds",
				n.name, f.Epoch, f.Justified.Epoch, f.Finalized.Epoch, f.Voted, f.Total, killEpoch+1, killEpoch, posStakeA+posStakeC, total)
		}
	}
	phase(fmt.Sprintf("a and c proposed to epoch %d without b; finality stopped", killEpoch+3))

	restartTip, restartHeight := a.best()
	restartEpoch := uint64(restartHeight / posEpochLength)
	b = startProc(t, "b (restarted)", rpcB, argsB...)
	b.waitFor(t, "a's tip at the restart", func() bool {
		var hdr struct{ Hash string }
		return b.rpc.Call(t.Context(), "getblockheader", &hdr, restartTip) == nil
	})
	phase(fmt.Sprintf("b restarted and caught up to height %d (epoch %d)", restartHeight, restartEpoch))
	a.waitSealers(t, "a block sealed by b after its restart", restartHeight+1, k.pub["b"])
	voteTarget, voteHeight := a.waitVote(t, k.pub["b"], restartHeight+1, restartEpoch)
	phase(fmt.Sprintf("b sealed a block again; its vote for epoch %d is in block %d", voteTarget, voteHeight))
	cp = waitSameFinalized(t, voteTarget, a, b, c)
	phase(fmt.Sprintf("epoch %d finalized on a, b and c (%s)", cp.Epoch, cp.Hash))
	for _, n := range []*procNode{c, b, a} {
		n.stop(t)
	}
}

// TestSlotDurationFlag: --slot-duration must be a duration from 100 ms
// to an hour, and only with --consensus pos (usage errors); with 200 ms
// it sets the slots of the node's chain: each proposed block's time is
// its seal's slot's start, genesis time + slot · 200 ms, rounded down to
// the second (with the default 2 s slots it would be genesis time + 2 s
// per slot).
func TestSlotDurationFlag(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ args, want string }{
		{"0", "between 100ms and 1h0m0s"},
		{"-1s", "between 100ms and 1h0m0s"},
		{"99ms", "between 100ms and 1h0m0s"},
		{"1h0m1s", "between 100ms and 1h0m0s"},
		{"x", "slot-duration"},
	} {
		code, stderr := runNode(t, "--dev", "--consensus", "pos", "--datadir", dir, "--listen", "", "--rpc", "", "--slot-duration", c.args)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("--slot-duration %s: exit %d, want 2 with %q:\n%s", c.args, code, c.want, stderr)
		}
	}
	code, stderr := runNode(t, "--dev", "--datadir", dir, "--listen", "", "--rpc", "", "--slot-duration", "1s")
	if code != 2 || !strings.Contains(stderr, "--slot-duration needs --consensus pos") {
		t.Errorf("--slot-duration without --consensus pos: exit %d, want 2:\n%s", code, stderr)
	}

	const slot = 200 * time.Millisecond
	k := newValKeys(t, dir, "v")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rpcAddr := freeAddr(t)
	var log lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, k.nodeArgs(dir, "v", 50, "--dev", "--consensus", "pos", "--slot-duration", slot.String(), "--listen", "",
			"--rpc", rpcAddr, "--rpcuser", "u", "--rpcpassword", "p"), strings.NewReader(""), io.Discard, &log)
	}()
	client := jsonrpc.NewClient("http://"+rpcAddr, "u", "p")
	var blocks [4]chain.Block
	for h := range blocks {
		for deadline := time.Now().Add(procTimeout); ; {
			var ok bool
			if blocks[h], ok = blockAt(client, int64(h)); ok {
				break
			}
			select {
			case err := <-done:
				t.Fatalf("node stopped waiting for block %d: %v\n%s", h, err, log.String())
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for block %d:\n%s", h, log.String())
			}
		}
	}
	genesis := time.Unix(int64(blocks[0].Header.Timestamp), 0)
	for h, b := range blocks[1:] {
		var s pos.Seal
		if b.Seal == nil || s.UnmarshalBinary(b.Seal[:]) != nil {
			t.Fatalf("block %d has no seal", h+1)
		}
		if want := pos.SlotStart(genesis, slot, s.Slot).Unix(); int64(b.Header.Timestamp) != want {
			t.Errorf("block %d of slot %d has time %d, want genesis time %d + slot · %v = %d", h+1, s.Slot, b.Header.Timestamp, genesis.Unix(), slot, want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("node: %v\n%s", err, log.String())
	}
}
