package daemon

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
)

// orphanBlock returns a block on a made-up parent (seed), with a valid
// proof of work at the chain's limit and a timestamp at td's tip.
func orphanBlock(t *testing.T, td *testDaemon, seed int) *chain.Block {
	t.Helper()
	tip := td.Node().Tip()
	b := &chain.Block{Transactions: []chain.Transaction{{Coinbase: &chain.Coinbase{
		Height:     2,
		Extranonce: []byte{byte(seed), byte(seed >> 8)},
		Outputs:    []chain.Output{{Address: chain.Address{7}, Amount: 1}},
	}}}}
	b.Header = chain.Header{Version: 1, PrevBlock: chain.Hash{0xfe, byte(seed), byte(seed >> 8)}, Timestamp: tip.Header.Timestamp + 1, Bits: td.params.PowLimitBits}
	b.Header.MerkleRoot, _ = b.MerkleRoot()
	solve(t, &b.Header)
	return b
}

// TestOrphanFlood: a peer gossips hundreds of well-formed blocks whose
// parents are unknown (valid proof of work). The node ignores them
// without banning the sender, keeps at most node.MaxOrphans of them, and
// still follows an honest peer.
func TestOrphanFlood(t *testing.T) {
	const flood, batch = 300, 20
	tds := netDaemons(t, 3)
	attacker, v, honest := tds[0], tds[1], tds[2]
	dial(t, attacker, v)
	dial(t, honest, v)
	waitFor(t, "mesh", func() bool { return meshed(v, attacker) && meshed(v, honest) })

	// In batches that fit pubsub's outbound queue to a peer (32
	// messages), so that every orphan reaches the validator.
	for sent := 0; sent < flood; sent += batch {
		for i := range batch {
			attacker.net.PublishBlock(orphanBlock(t, v, sent+i))
		}
		waitFor(t, "orphans ignored", func() bool { return v.net.Stats().Blocks.Ignored >= int64(sent+batch) })
		if got := v.Node().OrphanCount(); got > node.MaxOrphans {
			t.Fatalf("%d orphans kept after %d sent, bound %d", got, sent+batch, node.MaxOrphans)
		}
	}
	if got := v.Node().OrphanCount(); got != node.MaxOrphans {
		t.Errorf("orphan pool holds %d, want it full at %d", got, node.MaxOrphans)
	}
	st := v.net.Stats()
	if st.Blocks.Ignored != flood || st.Blocks.Rejected != 0 || st.Blocks.Accepted != 0 || st.InvalidBans != 0 || v.net.Banned(attacker.net.ID()) {
		t.Fatalf("stats after the flood %+v: want %d ignored, nothing rejected, no ban", st, flood)
	}
	// Each orphan asks for a sync with its sender; the sync queue drops
	// what does not fit, so there are no more requests than orphans.
	if ss := v.net.SyncStats(); ss.OrphanSyncs != flood || ss.Requests > flood {
		t.Fatalf("sync stats %+v: want %d orphan syncs asked for and at most as many requests", ss, flood)
	}

	tip := mineOn(t, honest, 3).Hash()
	waitFor(t, "the honest tip", func() bool { return v.Node().Tip().Hash == tip })
}

// TestTransferFlood: a peer gossips transfers from accounts with no
// funds (ignored, the mempool stays empty), more funded transfers than
// the mempool holds (it stays within its bound), then badly signed ones
// (rejected, and the sender banned after three).
func TestTransferFlood(t *testing.T) {
	const maxPool = 4 << 10
	now := time.Now()
	p := syncParams(t, now)
	attacker := startTestDaemon(t, now, Config{Params: p, Network: &Network{Listen: loopback(t)}})
	v := startTestDaemon(t, now, Config{Params: p, MaxMempoolBytes: maxPool, Network: &Network{Listen: loopback(t)}})
	pub, priv, err := chain.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	attacker.miner = pub.Address()
	tip := mineOn(t, attacker, 1).Hash()
	dial(t, attacker, v)
	waitFor(t, "sync", func() bool { return v.Node().Tip().Hash == tip })
	waitFor(t, "mesh", func() bool { return meshed(v, attacker) && meshed(attacker, v) })

	transfer := func(key ed25519.PrivateKey, seq uint64) *chain.Transaction {
		tx := &chain.Transaction{Transfer: &chain.Transfer{To: chain.Address{9}, Amount: 1000, Fee: 10_000, Sequence: seq}}
		if err := tx.Transfer.Sign(key, p.GenesisHash); err != nil {
			t.Fatal(err)
		}
		return tx
	}
	received := func() int64 {
		s := v.net.Stats().Transfers
		return s.Accepted + s.Rejected + s.Ignored
	}

	// No funds: ignored, nothing kept.
	const unfunded = 200
	for i := range unfunded {
		_, k, err := chain.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		attacker.net.PublishTransfer(transfer(k, uint64(i%3)))
		if (i+1)%20 == 0 {
			waitFor(t, "transfers validated", func() bool { return received() == int64(i+1) })
		}
	}
	if s := v.net.Stats().Transfers; s.Ignored != unfunded || v.pool.Info().Count != 0 {
		t.Fatalf("after the unfunded flood: %+v, mempool %+v", s, v.pool.Info())
	}

	// Funded, more than the pool holds.
	const funded = 100
	for seq := range uint64(funded) {
		attacker.net.PublishTransfer(transfer(priv, seq))
		if (seq+1)%20 == 0 {
			waitFor(t, "transfers validated", func() bool { return received() == unfunded+int64(seq+1) })
		}
	}
	info := v.pool.Info()
	if info.Bytes > maxPool || info.Count == 0 || info.Count >= funded {
		t.Fatalf("mempool %+v after %d funded transfers, bound %d bytes", info, funded, maxPool)
	}
	if s := v.net.Stats().Transfers; s.Accepted == 0 || s.Rejected != 0 {
		t.Fatalf("after the funded flood: %+v", s)
	}

	// Badly signed: rejected, then a ban.
	for seq := range uint64(3) {
		tx := transfer(priv, funded+seq)
		tx.Transfer.Amount++ // the signature no longer verifies
		attacker.net.PublishTransfer(tx)
	}
	waitFor(t, "ban", func() bool { return v.net.Banned(attacker.net.ID()) })
	if s := v.net.Stats(); s.Transfers.Rejected != 3 || s.InvalidBans != 1 {
		t.Fatalf("after the badly signed transfers: %+v", s)
	}
	if info := v.pool.Info(); info.Bytes > maxPool {
		t.Fatalf("mempool %+v over its bound", info)
	}
}
