package pos

import (
	"crypto/ed25519"
	"testing"

	"github.com/powmine/powmine/chain"
)

// BenchmarkVerifySeal measures what a node spends on a pure-PoS block's
// seal: the slot rules, the election, one signature and one ECVRF check.
func BenchmarkVerifySeal(b *testing.B) {
	s := newSealSetup(b, 100, chain.Hash{0xbe})
	const slot = 1000
	header := chain.Hash{0x4e}
	seal := s.seal(b, slot, header)
	rules := sealRules(slot, slot-1)
	sched := s.schedule(b, slot)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifySeal(sealNetwork, &seal, header, sched, rules); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "blocks/s")
}

// BenchmarkScheduleProposer measures the proposer of a slot among 10,000
// validators of random stakes (target: under 10 µs).
func BenchmarkScheduleProposer(b *testing.B) {
	const n = 10000
	keys := make([]chain.PublicKey, n)
	for i := range keys {
		keys[i] = chain.PublicKey{byte(i), byte(i >> 8), 0x5c}
	}
	sched, err := NewSchedule(0, keys, randomSealStakes(1, n), chain.Hash{7})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var x byte
	for slot := uint64(0); b.Loop(); slot++ {
		k := sched.Proposer(slot)
		x ^= k[0]
	}
	_ = x
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "slots/s")
}

// BenchmarkVerifySeals measures the seal checks of a sealed-headers
// answer of 2,000 headers (what a node checks of a header's seal without
// its branch's state: the signature and the reveal). "batch" is one
// VerifySeals call (signatures in one batch, each distinct reveal once);
// "one-by-one" checks each seal alone, as a node would header by header.
// "dev" seals consecutive slots of 4 validators with the dev epoch (50
// slots: 40 epochs, at most 160 distinct reveals); "distinct" gives
// every seal its own reveal (one slot per epoch), the worst case.
func BenchmarkVerifySeals(b *testing.B) {
	const count = 2000
	for _, sc := range []struct {
		name          string
		slotsPerEpoch uint64
	}{{"dev", DevSlotsPerEpoch}, {"distinct", 1}} {
		seals := make([]Seal, count)
		headers := make([]chain.Hash, count)
		reveals := make(map[[2]uint64]Reveal)
		for i := range seals {
			slot := uint64(1000 + i)
			k := i % 4
			pub, priv := sealKey(k)
			epoch := slot / sc.slotsPerEpoch
			r, ok := reveals[[2]uint64{uint64(k), epoch}]
			if !ok {
				var err error
				if r, err = NewReveal(priv, sealNetwork, epoch); err != nil {
					b.Fatal(err)
				}
				reveals[[2]uint64{uint64(k), epoch}] = r
			}
			headers[i] = chain.Hash{byte(i), byte(i >> 8), 0x4e}
			m := chain.SealMessage(sealNetwork, slot, headers[i])
			seals[i] = Seal{Slot: slot, Proposer: pub, Reveal: r, Signature: chain.Signature(ed25519.Sign(priv, m[:]))}
		}
		report := func(b *testing.B) {
			perHeader := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / count
			b.ReportMetric(perHeader/1e3, "µs/header")
			b.ReportMetric(perHeader*count/1e6, "ms/answer")
		}
		b.Run(sc.name+"/batch", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if i, err := VerifySeals(sealNetwork, seals, headers, sc.slotsPerEpoch); err != nil {
					b.Fatal(i, err)
				}
			}
			report(b)
		})
		b.Run(sc.name+"/one-by-one", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for i := range seals {
					if _, err := VerifySeals(sealNetwork, seals[i:i+1], headers[i:i+1], sc.slotsPerEpoch); err != nil {
						b.Fatal(i, err)
					}
				}
			}
			report(b)
		})
	}
}
