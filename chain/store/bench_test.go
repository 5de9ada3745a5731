package store

import (
	"testing"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/storage"
)

// BenchmarkCommit measures one Commit, fsync included, of the batches a
// block of 1,000 transfers (a ring: account i pays account i+1) causes:
// "accept" stores the block and its index entry, "connect" writes its
// index entry, an undo record and the 1,001 touched accounts, and the tip.
func BenchmarkCommit(b *testing.B) {
	const transfers = 1000
	c := newTestChain(b, "bench", 1)
	txs := make([]chain.Transaction, transfers)
	for i := range txs {
		txs[i] = transfer(b, i, (i+1)%transfers, 1, 1, 0)
	}
	blk := c.next(c.genesis, transfers, 0, txs...)
	touched := make([]chain.Address, 0, transfers+1)
	for i := range transfers + 1 {
		touched = append(touched, addr(i))
	}

	// entry returns the index entry of a variant of blk (nonce n), so that
	// every iteration writes new keys.
	entry := func(n int) storage.IndexEntry {
		h := blk.Header
		h.Nonce = uint32(n)
		return storage.IndexEntry{Hash: h.Hash(), Height: int64(n) + 1, Header: h, Status: storage.StatusDataStored, Seq: uint64(n)}
	}
	run := func(b *testing.B, batch func(n int) *storage.Batch) {
		db, _ := openTemp(b, c)
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			if err := db.Commit(batch(n)); err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/commit")
	}

	b.Run("connect", func(b *testing.B) {
		run(b, func(n int) *storage.Batch {
			e := entry(n)
			e.Status |= storage.StatusValid
			undo := &storage.Undo{Accounts: make([]storage.AccountEntry, len(touched))}
			accounts := make([]storage.AccountEntry, len(touched))
			for i, a := range touched {
				undo.Accounts[i] = storage.AccountEntry{Address: a, Account: chain.Account{Balance: 1000e8 - uint64(n), Sequence: uint64(n)}}
				accounts[i] = storage.AccountEntry{Address: a, Account: chain.Account{Balance: 1000e8 - uint64(n) - 1, Sequence: uint64(n) + 1}}
			}
			return &storage.Batch{Index: []storage.IndexEntry{e}, PutUndo: []storage.UndoEntry{{Hash: e.Hash, Undo: undo}},
				Accounts: accounts, Tip: &e.Hash}
		})
	})
	b.Run("accept", func(b *testing.B) {
		run(b, func(n int) *storage.Batch {
			v := *blk
			v.Header = entry(n).Header
			return &storage.Batch{Blocks: []*chain.Block{&v}, Index: []storage.IndexEntry{entry(n)}}
		})
	})
}
