package chain

import (
	"crypto/rand"
	"runtime"
	"sync"
	"sync/atomic"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// minBatchPerWorker is the fewest transfers firstBadSignature gives one
// goroutine. A batch's cost per signature falls with its size (about
// 20 µs at 64 signatures, 16 µs at 1,000 on one core), so splitting a
// small block across CPUs would cost more CPU time than it saves.
const minBatchPerWorker = 128

// firstBadSignature verifies the signatures of the transfers in txs for
// network under sigRule and returns the index of the first invalid one,
// or -1. Coinbases are skipped.
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
// for the transfers of txs.
func firstBadInBatch(txs []Transaction, network Hash) int {
	n := 0
	for i := range txs {
		if txs[i].Transfer != nil {
			n++
		}
	}
	if n == 0 {
		return -1
	}
	// The signing messages live in one buffer for the batch's lifetime.
	msgs := make([]byte, n*signingMessageSize)
	bv := voi.NewBatchVerifierWithCapacity(n)
	for i, j := 0, 0; i < len(txs); i++ {
		t := txs[i].Transfer
		if t == nil {
			continue
		}
		m := msgs[j*signingMessageSize : (j+1)*signingMessageSize : (j+1)*signingMessageSize]
		*(*[signingMessageSize]byte)(m) = t.signingMessage(network)
		bv.AddWithOptions(t.From[:], m, t.Signature[:], sigRule)
		j++
	}
	// valid is all true when the batch passed, and otherwise the
	// one-by-one verdicts (voi reuses the decoded points for them).
	if ok, valid := bv.Verify(rand.Reader); !ok {
		for i, j := 0, 0; i < len(txs); i++ {
			if txs[i].Transfer == nil {
				continue
			}
			if !valid[j] {
				return i
			}
			j++
		}
	}
	return -1
}
