package pos

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"testing"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"

	"github.com/powmine/powmine/chain"
)

// benchVotes returns n votes signed by n distinct keys.
func benchVotes(b *testing.B, n int) []chain.Vote {
	b.Helper()
	votes := make([]chain.Vote, n)
	for i := range votes {
		votes[i] = signedVote(b, i, 0, 0, 1, 1)
	}
	return votes
}

// reportVotes reports votes verified per second.
func reportVotes(b *testing.B, votes int) {
	b.ReportMetric(float64(votes)*float64(b.N)/b.Elapsed().Seconds(), "votes/s")
}

// zip215 is the chain's signature rule as voi options, for BenchmarkVerify's
// bare batches (chain.VerifySignatures wraps the same).
var zip215 = &voi.Options{Verify: voi.VerifyOptionsZIP_215}

// BenchmarkVerify compares the signature checks a vote could use, on
// vote signing messages: the standard library, curve25519-voi one at a
// time, and voi's batch verifier over batches of 64 and 1,000.
func BenchmarkVerify(b *testing.B) {
	votes := benchVotes(b, 1000)
	msgs := make([][]byte, len(votes))
	for i := range votes {
		msgs[i] = votes[i].SigningMessage(testNetwork)
	}
	b.Run("stdlib", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			v := &votes[i%len(votes)]
			if !ed25519.Verify(v.Validator[:], msgs[i%len(votes)], v.Signature[:]) {
				b.Fatal("refused")
			}
		}
		reportVotes(b, 1)
	})
	b.Run("voi", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			v := &votes[i%len(votes)]
			if !chain.VerifySignature(v.Validator, msgs[i%len(votes)], v.Signature) {
				b.Fatal("refused")
			}
		}
		reportVotes(b, 1)
	})
	for _, n := range []int{64, 1000} {
		b.Run(fmt.Sprintf("voi-batch-%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bv := voi.NewBatchVerifierWithCapacity(n)
				for i := range n {
					bv.AddWithOptions(votes[i].Validator[:], msgs[i], votes[i].Signature[:], zip215)
				}
				if !bv.VerifyBatchOnly(rand.Reader) {
					b.Fatal("refused")
				}
			}
			reportVotes(b, n)
		})
	}
	b.Run("VerifyVotes-1000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			chain.VerifyVotes(testNetwork, votes)
		}
		reportVotes(b, len(votes))
	})
	// One bad signature makes the batch fail and every vote be checked
	// alone: the price a bad vote imposes on its batch.
	bad := append([]chain.Vote(nil), votes...)
	bad[500].Signature[0] ^= 1
	b.Run("VerifyVotes-1000-one-bad", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			chain.VerifyVotes(testNetwork, bad)
		}
		reportVotes(b, len(votes))
	})
}

// BenchmarkEpoch processes one epoch of 10,000 votes (10,000 validators of
// equal stake, each voting 0→1) through Finality.AddVotes: batch
// verification and counting. The target is under one second.
// "replay" sends the same epoch again to a Finality that counted it: every
// vote is refused as a replay before any signature check.
func BenchmarkEpoch(b *testing.B) {
	const n = 10000
	votes := make([]chain.Vote, n)
	stakes := make([]uint64, n)
	for i := range votes {
		votes[i] = vote(b, i, 0, 1)
		stakes[i] = 32
	}
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			f := newTestFinality(b, stakes...)
			b.StartTimer()
			for _, err := range f.AddVotes(votes) {
				if err != nil {
					b.Fatal(err)
				}
			}
			if f.Justified() != cp(1) {
				b.Fatal("not justified")
			}
		}
		reportVotes(b, n)
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/epoch")
	})
	b.Run("replay", func(b *testing.B) {
		f := newTestFinality(b, stakes...)
		f.AddVotes(votes)
		b.ReportAllocs()
		for b.Loop() {
			for _, err := range f.AddVotes(votes) {
				if codeOf(err) != ErrDuplicateVote {
					b.Fatal(err)
				}
			}
		}
		reportVotes(b, n)
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/epoch")
	})
}

// BenchmarkProposer draws one slot's proposer among 10,000 validators of
// random stakes. The target is under 10 µs.
func BenchmarkProposer(b *testing.B) {
	e := mustElection(b, randomStakes(1, 10000))
	seed := chain.Hash{7}
	b.ReportAllocs()
	sum := 0
	for slot := uint64(0); b.Loop(); slot++ {
		sum += e.Proposer(seed, slot)
	}
	if sum < 0 {
		b.Fatal(sum)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "slots/s")
}

// BenchmarkReveal measures making and checking a RANDAO reveal (an ECVRF
// proof): one of each per block in pure PoS mode.
func BenchmarkReveal(b *testing.B) {
	pub, priv := testKey(1)
	b.Run("NewReveal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := NewReveal(priv, testNetwork, 3); err != nil {
				b.Fatal(err)
			}
		}
	})
	r, _ := NewReveal(priv, testNetwork, 3)
	b.Run("Verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := r.Verify(pub, testNetwork, 3); !ok {
				b.Fatal("refused")
			}
		}
	})
}
