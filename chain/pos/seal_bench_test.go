package pos

import (
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
