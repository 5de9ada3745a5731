package chain

import (
	"crypto/rand"
	"runtime"
	"sync"
	"sync/atomic"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// minBatchPerWorker is the fewest transactions firstBadSignature gives one
// goroutine. A batch's cost per signature falls with its size (about
// 20 µs at 64 signatures, 16 µs at 1,000 on one core), so splitting a
// small block across CPUs would cost more CPU time than it saves.
const minBatchPerWorker = 128

// firstBadSignature verifies the signatures of the transfers, votes,
// slashes and proposer slashes in txs for network under sigRule and returns the index of the
// first transaction with an invalid one, or -1. Other transactions are
// skipped.
//
// The signatures are checked in one batch (curve25519-voi's
// BatchVerifier: one multiscalar multiplication with random 128-bit
// coefficients, under ZIP-215's cofactored equation, so it accepts
// exactly the signatures verifySignature accepts). When the batch fails,
// each of its signatures is checked alone to find the culprit. With
// runtime.GOMAXPROCS above 1 and at least 2·minBatchPerWorker transfers,
// txs is split into contiguous chunks, one batch per goroutine; the
// result is still the lowest bad index.
func firstBadSignature(txs []Transaction, network Hash) int {
	workers := min(runtime.GOMAXPROCS(0), len(txs)/minBatchPerWorker)
	if workers < 2 {
		return firstBadInBatch(txs, network)
	}
	var firstBad atomic.Int64
	firstBad.Store(int64(len(txs)))
	var wg sync.WaitGroup
	chunk := (len(txs) + workers - 1) / workers
	for start := 0; start < len(txs); start += chunk {
		end := min(start+chunk, len(txs))
		wg.Go(func() {
			i := firstBadInBatch(txs[start:end], network)
			if i < 0 {
				return
			}
			i += start
			// Lower the minimum; another worker may race us.
			for cur := firstBad.Load(); int64(i) < cur; cur = firstBad.Load() {
				if firstBad.CompareAndSwap(cur, int64(i)) {
					break
				}
			}
		})
	}
	wg.Wait()
	if bad := firstBad.Load(); bad < int64(len(txs)) {
		return int(bad)
	}
	return -1
}

// firstBadInBatch is firstBadSignature's work on one goroutine: one batch
// for the signatures of the transfers, votes and slashes of txs.
func firstBadInBatch(txs []Transaction, network Hash) int {
	n := 0
	for i := range txs {
		n += batchSigCount(&txs[i])
	}
	if n == 0 {
		return -1
	}
	// The signing messages live in one buffer for the batch's lifetime;
	// owner[j] is the index in txs of the batch's j-th signature.
	msgs := make([]byte, 0, n*max(signingMessageSize, voteMessageSize, SealMessageSize))
	owner := make([]int, 0, n)
	bv := voi.NewBatchVerifierWithCapacity(n)
	addVote := func(i int, v *Vote) {
		start := len(msgs)
		msgs = msgs[:start+voteMessageSize]
		m := msgs[start:len(msgs):len(msgs)]
		v.messageTo((*[voteMessageSize]byte)(m), network)
		bv.AddWithOptions(v.Validator[:], m, v.Signature[:], sigRule)
		owner = append(owner, i)
	}
	for i := range txs {
		switch tx := &txs[i]; {
		case tx.Transfer != nil:
			t := tx.Transfer
			start := len(msgs)
			msgs = msgs[:start+signingMessageSize]
			m := msgs[start:len(msgs):len(msgs)]
			*(*[signingMessageSize]byte)(m) = t.signingMessage(network)
			bv.AddWithOptions(t.From[:], m, t.Signature[:], sigRule)
			owner = append(owner, i)
		case tx.Vote != nil:
			addVote(i, tx.Vote)
		case tx.Slash != nil:
			addVote(i, &tx.Slash.Evidence.A)
			addVote(i, &tx.Slash.Evidence.B)
		case tx.ProposerSlash != nil:
			for _, h := range []*SignedHeader{&tx.ProposerSlash.Evidence.A, &tx.ProposerSlash.Evidence.B} {
				start := len(msgs)
				msgs = msgs[:start+SealMessageSize]
				m := msgs[start:len(msgs):len(msgs)]
				*(*[SealMessageSize]byte)(m) = SealMessage(network, h.Slot, h.HeaderHash)
				bv.AddWithOptions(h.Proposer[:], m, h.Signature[:], sigRule)
				owner = append(owner, i)
			}
		}
	}
	// valid is all true when the batch passed, and otherwise the
	// one-by-one verdicts (voi reuses the decoded points for them).
	if ok, valid := bv.Verify(rand.Reader); !ok {
		for j := range valid {
			if !valid[j] {
				return owner[j]
			}
		}
	}
	return -1
}

// batchSigCount returns how many signatures of tx the block's batch
// checks: one for a transfer or a vote, two for a slash (its evidence's
// votes) or a proposer slash (its evidence's seals), none otherwise (stake transactions are checked by
// checkStakeTxs).
func batchSigCount(tx *Transaction) int {
	switch {
	case tx.Transfer != nil, tx.Vote != nil:
		return 1
	case tx.Slash != nil, tx.ProposerSlash != nil:
		return 2
	}
	return 0
}
