package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/chain/storage"
	bolt "go.etcd.io/bbolt"
)

// sealedVariants returns n variants of b (other nonces: other hashes),
// each with its own seal.
func sealedVariants(b *chain.Block, n int) []*chain.Block {
	out := make([]*chain.Block, n)
	for i := range out {
		v := *b
		v.Header.Nonce = uint32(i)
		v.Seal = &chain.BlockSeal{byte(i), byte(i >> 8), 0x5e}
		v.Seal[chain.SealSize-1] = byte(i)
		out[i] = &v
	}
	return out
}

// TestBlockSeals: BlockSeals reads the seals of stored blocks, as
// MemStore does from the blocks themselves; a block not stored, and one
// too short to hold a seal, are errors.
func TestBlockSeals(t *testing.T) {
	c := newTestChain(t, "seals", 2)
	blocks := sealedVariants(c.next(c.genesis, 1, 0, transfer(t, 0, 1, 5, 1, 0)), 5)
	db, _ := openTemp(t, c)
	mem := node.NewMemStore()
	hashes := make([]chain.Hash, len(blocks))
	for i, b := range blocks {
		hashes[i] = b.Hash()
	}
	for _, st := range []node.Store{db, mem} {
		if err := st.Commit(&storage.Batch{Blocks: blocks}); err != nil {
			t.Fatal(err)
		}
		seals := make([]chain.BlockSeal, len(blocks))
		if err := st.BlockSeals(hashes, seals); err != nil {
			t.Fatalf("%T: %v", st, err)
		}
		for i, b := range blocks {
			if seals[i] != *b.Seal {
				t.Fatalf("%T: seal %d is %x, want %x", st, i, seals[i][:4], b.Seal[:4])
			}
		}
		if err := st.BlockSeals(append(hashes[:1:1], chain.Hash{9}), seals[:2]); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("%T: a block not stored: %v, want ErrNotFound", st, err)
		}
		if err := st.BlockSeals(hashes, seals[:1]); err == nil {
			t.Fatalf("%T: slices of different lengths taken", st)
		}
	}
	rawUpdate(t, db, func(tx *bolt.Tx) error { return tx.Bucket(bucketBlocks).Put(hashes[0][:], []byte("garbage")) })
	var cerr *CorruptError
	if err := db.BlockSeals(hashes[:1], make([]chain.BlockSeal, 1)); !errors.As(err, &cerr) || cerr.Bucket != string(bucketBlocks) {
		t.Fatalf("a block too short for a seal: %v, want a CorruptError", err)
	}
}

// BenchmarkBlockSeals measures reading the seals of the 2,000 blocks of
// a sealed-headers answer from the store: "tail" is BlockSeals (one
// read transaction, the last bytes of each block), "decode" reads and
// decodes each block whole (Block), for blocks of a coinbase alone and
// of 1,000 transfers.
func BenchmarkBlockSeals(b *testing.B) {
	const count = 2000
	c := newTestChain(b, "bench", 1)
	for _, transfers := range []int{0, 1000} {
		txs := make([]chain.Transaction, transfers)
		for i := range txs {
			txs[i] = transfer(b, i, (i+1)%transfers, 1, 1, 0)
		}
		blocks := sealedVariants(c.next(c.genesis, transfers, 0, txs...), count)
		db, _ := openTemp(b, c)
		for i := 0; i < count; i += 100 {
			if err := db.Commit(&storage.Batch{Blocks: blocks[i : i+100]}); err != nil {
				b.Fatal(err)
			}
		}
		hashes := make([]chain.Hash, count)
		for i, blk := range blocks {
			hashes[i] = blk.Hash()
		}
		seals := make([]chain.BlockSeal, count)
		report := func(b *testing.B) {
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/answer")
		}
		b.Run(fmt.Sprintf("tail/%d-transfers", transfers), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := db.BlockSeals(hashes, seals); err != nil {
					b.Fatal(err)
				}
			}
			report(b)
		})
		b.Run(fmt.Sprintf("decode/%d-transfers", transfers), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for i, h := range hashes {
					blk, err := db.Block(h)
					if err != nil {
						b.Fatal(err)
					}
					seals[i] = *blk.Seal
				}
			}
			report(b)
		})
	}
}
