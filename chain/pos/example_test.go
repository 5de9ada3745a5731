package pos_test

import (
	"crypto/ed25519"
	"fmt"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/chain/pos"
)

// The node's Finalizer hook refuses a reorganization that would
// disconnect the finalized checkpoint: here, after validators holding all
// the stake justified epochs 1 and 2, which finalizes epoch 1 (height 50).
func ExampleFinality_AllowReorg() {
	genesis := chain.Hash{0x01}
	checkpoint := func(e uint64) chain.Checkpoint { return chain.Checkpoint{Epoch: e, Hash: chain.Hash{byte(e), 0xc}} }
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	key := chain.PublicKey(priv.Public().(ed25519.PublicKey))
	f, err := pos.New(pos.Config{
		Network:     genesis,
		EpochLength: 50,
		Validators:  []pos.Validator{{Key: key, Stake: 100}},
		Root:        checkpoint(0),
		Lookup:      func(c chain.Checkpoint) bool { return c == checkpoint(c.Epoch) },
	})
	if err != nil {
		panic(err)
	}
	for target := uint64(1); target <= 2; target++ {
		v := chain.Vote{Source: checkpoint(target - 1), Target: checkpoint(target)}
		if err := v.Sign(priv, genesis); err != nil {
			panic(err)
		}
		if err := f.AddVote(v); err != nil {
			panic(err)
		}
	}
	var finalizer node.Finalizer = node.FinalizerFunc(func(fork, _, _ node.BlockInfo) bool {
		return f.AllowReorg(fork.Height)
	})
	fmt.Println("finalized epoch", f.Finalized().Epoch, "at height", f.FinalizedHeight())
	fmt.Println("fork at 49:", finalizer.AllowReorg(node.BlockInfo{Height: 49}, node.BlockInfo{}, node.BlockInfo{}))
	fmt.Println("fork at 50:", finalizer.AllowReorg(node.BlockInfo{Height: 50}, node.BlockInfo{}, node.BlockInfo{}))
	// Output:
	// finalized epoch 1 at height 50
	// fork at 49: false
	// fork at 50: true
}
