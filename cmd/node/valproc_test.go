package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/wallet"
	"github.com/powmine/powmine/internal/jsonrpc"
	"github.com/powmine/powmine/miner"
	"github.com/powmine/powmine/miner/solo"
)

// valEpochLength is the --epoch-length of TestThreeValidatorProcesses:
// short epochs, so that finality moves every few blocks.
const valEpochLength = 5

// valStake is each validator's deposit in TestThreeValidatorProcesses:
// the dev chain's MinDeposit, the same for all three.
const valStake = 10 * chain.BaseUnitsPerCoin

// finalityReply is getfinality's answer.
type finalityReply struct {
	Epoch     uint64          `json:"epoch"`
	Justified checkpointReply `json:"justified"`
	Finalized checkpointReply `json:"finalized"`
	Voted     uint64          `json:"epoch_voted_stake"`
	Total     uint64          `json:"epoch_total_stake"`
}

// checkpointReply is a checkpoint in getfinality's answer.
type checkpointReply struct {
	Epoch  uint64 `json:"epoch"`
	Hash   string `json:"hash"`
	Height int64  `json:"height"`
}

// finality returns the node's getfinality answer; ok is false when the
// node does not answer.
func (n *procNode) finality() (f finalityReply, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return f, n.rpc.Call(ctx, "getfinality", &f) == nil
}

// finalizedAtLeast is a waitFor condition: the node's finalized epoch is
// e or above.
func (n *procNode) finalizedAtLeast(e uint64) func() bool {
	return func() bool { f, ok := n.finality(); return ok && f.Finalized.Epoch >= e }
}

// blockReply is the part of getblock's verbose answer (verbosity 2) that
// the tests read: who sealed a proof-of-stake block, and the votes.
type blockReply struct {
	Height int64 `json:"height"`
	Seal   *struct {
		Slot     uint64 `json:"slot"`
		Proposer string `json:"proposer"`
	} `json:"seal"`
	Tx []struct {
		Type string `json:"type"`
		Vote *struct {
			Validator string `json:"validator"`
			Target    struct {
				Epoch uint64 `json:"epoch"`
				Hash  string `json:"hash"`
			} `json:"target"`
		} `json:"vote"`
	} `json:"tx"`
}

// decodedBlockAt returns getblock's verbose answer for the block at
// height on the node's best chain; ok is false when the node does not
// have it (yet) or does not answer.
func (n *procNode) decodedBlockAt(height int64) (b blockReply, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var hash string
	if n.rpc.Call(ctx, "getblockhash", &hash, height) != nil || n.rpc.Call(ctx, "getblock", &b, hash, 2) != nil {
		return b, false
	}
	return b, b.Height == height
}

// blockAt returns the block at height on the best chain of the node that
// client reaches; ok is false when the node does not have it (yet) or
// does not answer.
func blockAt(client *jsonrpc.Client, height int64) (b chain.Block, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var hash, raw string
	if client.Call(ctx, "getblockhash", &hash, height) != nil || client.Call(ctx, "getblock", &raw, hash, 0) != nil {
		return b, false
	}
	data, err := hex.DecodeString(raw)
	if err != nil || b.UnmarshalBinary(data) != nil || b.Hash().String() != hash {
		return b, false
	}
	return b, true
}

// runCLI runs a node subcommand in process (the code of `node ARGS`) and
// returns what it printed on stdout.
func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatalf("node %q: %v\n%s", args, err, errOut.String())
	}
	return strings.TrimSpace(out.String())
}

// valKeys are the key files of a test's validator processes: one
// passphrase file for all, and per node name a validator key file (made
// by node validator keygen) and its public key.
type valKeys struct {
	pass string
	file map[string]string
	pub  map[string]chain.PublicKey
}

// newValKeys writes the passphrase file and a validator key per name
// into dir.
func newValKeys(t *testing.T, dir string, names ...string) *valKeys {
	t.Helper()
	k := &valKeys{pass: filepath.Join(dir, "pass"), file: map[string]string{}, pub: map[string]chain.PublicKey{}}
	if err := os.WriteFile(k.pass, []byte("test pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		k.file[name] = filepath.Join(dir, "validator-"+name+".json")
		runCLI(t, "validator", "keygen", "--out", k.file[name], "--key-passphrase-file", k.pass)
		pub, err := wallet.ReadPublicKey(k.file[name])
		if err != nil {
			t.Fatal(err)
		}
		k.pub[name] = pub
	}
	return k
}

// newWallet creates a wallet key file at path (node wallet new, under
// the shared passphrase) and returns its address.
func (k *valKeys) newWallet(t *testing.T, path string) chain.Address {
	t.Helper()
	addr, err := chain.ParseAddress(runCLI(t, "wallet", "new", "--wallet", path, "--passphrase-file", k.pass))
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// nodeArgs returns the flags of name's node: its data directory under
// dir, --epoch-length epochLength and its validator key, then args.
func (k *valKeys) nodeArgs(dir, name string, epochLength int64, args ...string) []string {
	return append([]string{"--datadir", filepath.Join(dir, name), "--epoch-length", fmt.Sprint(epochLength),
		"--validator-key", k.file[name], "--validator-key-passphrase-file", k.pass}, args...)
}

// deposit stakes units for name's key with `node validator deposit`
// through n, paid by the owner's wallet file.
func (k *valKeys) deposit(t *testing.T, n *procNode, name, wallet string, units uint64) {
	t.Helper()
	runCLI(t, append([]string{"validator", "deposit", "--amount", coinString(units), "--key", k.file[name],
		"--key-passphrase-file", k.pass, "--wallet", wallet, "--passphrase-file", k.pass}, n.cliRPC()...)...)
}

// coinString writes units in coins, as the CLI's --amount takes them.
func coinString(units uint64) string {
	return fmt.Sprintf("%d.%08d", units/chain.BaseUnitsPerCoin, units%chain.BaseUnitsPerCoin)
}

// cliRPC returns the CLI flags that reach n's RPC.
func (n *procNode) cliRPC() []string {
	return []string{"--rpc", n.rpcURL, "--rpcuser", "u", "--rpcpassword", "p"}
}

// balanceAtLeast is a waitFor condition: addr's balance at the node's
// tip is units or more.
func (n *procNode) balanceAtLeast(addr chain.Address, units uint64) func() bool {
	return func() bool {
		var acct struct {
			Balance json.Number `json:"balance"`
		}
		if n.rpc.Call(context.Background(), "getaccount", &acct, addr.String()) != nil {
			return false
		}
		have, err := parseCoins(acct.Balance.String())
		return err == nil && have >= units
	}
}

// stakesAre is a waitFor condition: getvalidators (the tip's epoch)
// lists every key of want, each with its stake, and no other.
func (n *procNode) stakesAre(want map[chain.PublicKey]uint64) func() bool {
	return func() bool {
		var set struct {
			Validators []struct {
				Key   string      `json:"key"`
				Stake json.Number `json:"stake"`
			} `json:"validators"`
		}
		if n.rpc.Call(context.Background(), "getvalidators", &set) != nil || len(set.Validators) != len(want) {
			return false
		}
		byKey := map[string]uint64{}
		for k, stake := range want {
			byKey[k.String()] = stake
		}
		for _, v := range set.Validators {
			units, err := parseCoins(v.Stake.String())
			if stake, ok := byKey[v.Key]; err != nil || !ok || units != stake {
				return false
			}
		}
		return true
	}
}

// walkBlocks is a waitFor condition that reads the node's best chain
// from height *next on, one block at a time (getblock at verbosity 2,
// advancing *next), until visit returns true for one. It does not notice
// a reorganization below *next.
func (n *procNode) walkBlocks(next *int64, visit func(b blockReply) bool) func() bool {
	return func() bool {
		for {
			b, ok := n.decodedBlockAt(*next)
			if !ok {
				return false
			}
			*next++
			if visit(b) {
				return true
			}
		}
	}
}

// waitVote waits until a block of the node's best chain at height from
// or above carries a vote of key whose target epoch is minTarget or
// above, and returns that epoch and the block's height.
func (n *procNode) waitVote(t *testing.T, key chain.PublicKey, from int64, minTarget uint64) (target uint64, height int64) {
	t.Helper()
	n.waitFor(t, fmt.Sprintf("a vote of %v for epoch %d or later from height %d on", key, minTarget, from),
		n.walkBlocks(&from, func(b blockReply) bool {
			for _, tx := range b.Tx {
				if v := tx.Vote; tx.Type == "vote" && v != nil && v.Validator == key.String() && v.Target.Epoch >= minTarget {
					target, height = v.Target.Epoch, b.Height
					return true
				}
			}
			return false
		}))
	return target, height
}

// TestThreeValidatorProcesses runs three `node --dev --epoch-length 5`
// processes on 127.0.0.1, each a validator with its own key (node
// validator keygen, --validator-key): a, b joined with --genesis a's
// genesis.bin and --peer a, and c with --peer a and --peer b. This is the
// hybrid mode: a solo miner (in the test) mines on a, first to the
// owner's wallet, which then registers the three keys with equal stakes
// by `node validator deposit`. The validators vote and all three nodes
// see the finalized epoch advance (getfinality). Then b is killed with
// SIGKILL: a and c hold 2 of the 3 equal stakes, exactly two thirds, and
// a checkpoint is justified when 3·voted ≥ 2·total, so finality goes on
// without b (over epochs whose checkpoints b never saw), while the total
// stake still counts b's. b is restarted on the same data directory and
// key: it catches up, and a vote signed by its key for an epoch after
// its kill is connected on a's best chain (votes of b's key from before
// the kill target earlier epochs, so this fails if b no longer votes, or
// if its votes are refused), and finality reaches that epoch. Once mining
// stops, all three have the same tip and the same justified and finalized
// checkpoints, and each stops cleanly on SIGINT.
func TestThreeValidatorProcesses(t *testing.T) {
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
	walletPath := filepath.Join(dir, "owner.json")
	owner := k.newWallet(t, walletPath)
	nodeArgs := func(name string, args ...string) []string {
		return k.nodeArgs(dir, name, valEpochLength, args...)
	}
	rpcA := freeAddr(t)
	a := startProc(t, "a", rpcA, nodeArgs("a", "--listen", "/ip4/127.0.0.1/tcp/0")...)
	genesis := filepath.Join(dir, "a", "genesis.bin")
	// b is restarted: a fixed p2p port, so that c's --peer still names it.
	argsB := nodeArgs("b", "--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", freePort(t)), "--genesis", genesis, "--peer", a.p2pAddr())
	rpcB := freeAddr(t)
	b := startProc(t, "b", rpcB, argsB...)
	c := startProc(t, "c", freeAddr(t), nodeArgs("c", "--listen", "/ip4/127.0.0.1/tcp/0",
		"--genesis", genesis, "--peer", a.p2pAddr(), "--peer", b.p2pAddr())...)
	phase("three validator nodes started")

	m, err := miner.New(miner.Config{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stopMining := context.WithCancel(context.Background())
	defer stopMining()
	minerDone := make(chan struct{}, 2)
	go func() { m.Run(ctx); minerDone <- struct{}{} }()
	go func() {
		solo.Run(ctx, solo.Config{Client: a.rpc, Payout: owner, Miner: m})
		minerDone <- struct{}{}
	}()

	// The owner pays the three deposits once a block paid it.
	a.waitFor(t, "a block paying the owner", a.balanceAtLeast(owner, 3*(valStake+chain.BaseUnitsPerCoin)))
	stakes := map[chain.PublicKey]uint64{}
	for _, name := range []string{"a", "b", "c"} {
		k.deposit(t, a, name, walletPath, valStake)
		stakes[k.pub[name]] = valStake
	}
	a.waitFor(t, "the three validators in getvalidators", a.stakesAre(stakes))
	phase("deposits registered")

	// Finality advances on all three.
	for _, e := range []uint64{1, 2} {
		for _, n := range []*procNode{a, b, c} {
			n.waitFor(t, fmt.Sprintf("finalized epoch %d", e), n.finalizedAtLeast(e))
		}
	}
	if f, _ := a.finality(); f.Total != 3*valStake {
		t.Fatalf("getfinality on a: epoch %d total stake %d, want the three deposits %d", f.Epoch, f.Total, 3*valStake)
	}
	phase("finalized epoch 2 on a, b and c")

	// b dies. Every epoch after the one of a's tip now has its checkpoint
	// after b's tip, so b has no vote for it.
	b.kill(t)
	killedAt, killHeight := a.best()
	killEpoch := uint64(killHeight / valEpochLength)
	phase(fmt.Sprintf("b killed; a at height %d, epoch %d", killHeight, killEpoch))
	// Finalizing killEpoch+1 justifies killEpoch+1 and killEpoch+2, with
	// the votes of a and c alone: exactly 2/3 of the stake.
	for _, n := range []*procNode{a, c} {
		n.waitFor(t, fmt.Sprintf("finalized epoch %d without b", killEpoch+1), n.finalizedAtLeast(killEpoch+1))
	}
	if f, _ := a.finality(); f.Total != 3*valStake {
		t.Fatalf("getfinality on a without b: total stake %d, want %d (b's stake still counts in the total)", f.Total, 3*valStake)
	}
	phase(fmt.Sprintf("finalized epoch %d without b", killEpoch+1))

	_, before := a.best()
	b = startProc(t, "b (restarted)", rpcB, argsB...)
	b.waitFor(t, "the blocks mined while it was down", func() bool {
		var hdr struct{ Hash string }
		return b.rpc.Call(context.Background(), "getblockheader", &hdr, killedAt) == nil
	})
	phase(fmt.Sprintf("b restarted and caught up (a was at height %d at the restart)", before))

	// b's votes count again: a block of a's best chain carries a vote of
	// b's key for an epoch after its kill.
	voteTarget, voteHeight := a.waitVote(t, k.pub["b"], killHeight+1, killEpoch+1)
	phase(fmt.Sprintf("b's vote for epoch %d in block %d", voteTarget, voteHeight))
	for _, n := range []*procNode{a, b, c} {
		n.waitFor(t, fmt.Sprintf("finalized epoch %d", voteTarget), n.finalizedAtLeast(voteTarget))
	}

	stopMining()
	<-minerDone
	<-minerDone
	tip, height := a.best()
	want, _ := a.finality()
	for _, n := range []*procNode{b, c} {
		n.waitFor(t, "a's tip "+tip, func() bool { got, _ := n.best(); return got == tip })
		if got, _ := n.finality(); got.Finalized != want.Finalized || got.Justified != want.Justified {
			t.Fatalf("node %s: justified %+v finalized %+v; a: justified %+v finalized %+v", n.name, got.Justified, got.Finalized, want.Justified, want.Finalized)
		}
	}
	phase(fmt.Sprintf("all three at height %d, justified epoch %d, finalized epoch %d (%s)",
		height, want.Justified.Epoch, want.Finalized.Epoch, want.Finalized.Hash))
	for _, n := range []*procNode{c, b, a} {
		n.stop(t)
	}
}

// TestEpochLengthFlag: --epoch-length must be a positive number (usage
// errors), and sets the blocks per epoch of the node: with 3, getfinality
// puts the block at height h in epoch h/3 (the dev chain's default of 50
// would keep the first blocks in epoch 0).
func TestEpochLengthFlag(t *testing.T) {
	dir := t.TempDir()
	for _, arg := range []string{"0", "-1", "x"} {
		code, stderr := runNode(t, "--dev", "--datadir", dir, "--listen", "", "--rpc", "", "--epoch-length", arg)
		if code != 2 || !strings.Contains(stderr, "epoch-length") {
			t.Errorf("--epoch-length %s: exit %d, want 2 with a message naming the flag:\n%s", arg, code, stderr)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rpcAddr := freeAddr(t)
	var stderr lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--dev", "--datadir", dir, "--listen", "", "--rpc", rpcAddr,
			"--rpcuser", "u", "--rpcpassword", "p", "--epoch-length", "3"}, strings.NewReader(""), io.Discard, &stderr)
	}()
	client := jsonrpc.NewClient("http://"+rpcAddr, "u", "p")
	waitRPC := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(procTimeout); !cond(); {
			select {
			case err := <-done:
				t.Fatalf("node stopped waiting for %s: %v\n%s", what, err, stderr.String())
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s:\n%s", what, stderr.String())
			}
		}
	}
	height := func() int64 {
		var h int64
		if client.Call(ctx, "getblockcount", &h) != nil {
			return -1
		}
		return h
	}
	waitRPC("the node's RPC", func() bool { return height() >= 0 })
	m, err := miner.New(miner.Config{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	mineCtx, stopMining := context.WithCancel(ctx)
	defer stopMining()
	minerDone := make(chan struct{}, 2)
	go func() { m.Run(mineCtx); minerDone <- struct{}{} }()
	go func() {
		solo.Run(mineCtx, solo.Config{Client: client, Payout: chain.Address{7}, Miner: m})
		minerDone <- struct{}{}
	}()
	waitRPC("height 4", func() bool { return height() >= 4 })
	stopMining()
	<-minerDone
	<-minerDone
	// A block submitted as mining stopped may still connect: read the
	// height on both sides of getfinality.
	var f finalityReply
	h := int64(-1)
	for h != height() {
		h = height()
		if err := client.Call(ctx, "getfinality", &f); err != nil {
			t.Fatal(err)
		}
	}
	if f.Epoch != uint64(h/3) {
		t.Fatalf("getfinality at height %d: epoch %d, want %d (epochs of 3 blocks)", h, f.Epoch, h/3)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
}
