package pos

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/internal/stats"
)

// sealNetwork is the genesis hash the seal tests sign for.
var sealNetwork = chain.Hash{0x5e, 0xa1}

// sealKey returns the i-th deterministic key of the seal tests.
func sealKey(i int) (chain.PublicKey, ed25519.PrivateKey) {
	var seed [ed25519.SeedSize]byte
	seed[0], seed[1], seed[31] = byte(i), byte(i>>8), 0x5e
	priv := ed25519.NewKeyFromSeed(seed[:])
	return chain.PublicKey(priv.Public().(ed25519.PublicKey)), priv
}

// sealCode returns the RuleError code of err, or -1.
func sealCode(err error) ErrorCode {
	var re RuleError
	if errors.As(err, &re) {
		return re.Code
	}
	return -1
}

var sealGenesis = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// sealRules returns the dev slot rules with the clock at slot now's
// start and the parent in slot parent.
func sealRules(now, parent uint64) SlotRules {
	return SlotRules{
		GenesisTime:   sealGenesis,
		SlotDuration:  DevSlotDuration,
		SlotsPerEpoch: DevSlotsPerEpoch,
		Now:           SlotStart(sealGenesis, DevSlotDuration, now),
		ParentSlot:    parent,
	}
}

// sealSetup is n validators (keys sealKey(0..n-1), stakes 1..n), their
// private keys by public key, and a beacon seed used for every epoch.
type sealSetup struct {
	privs     map[chain.PublicKey]ed25519.PrivateKey
	keys      []chain.PublicKey
	stakes    []uint64
	seed      chain.Hash
	schedules map[uint64]*Schedule
}

// schedule returns the schedule of slot's epoch.
func (s *sealSetup) schedule(t testing.TB, slot uint64) *Schedule {
	t.Helper()
	epoch := slot / DevSlotsPerEpoch
	if s.schedules[epoch] == nil {
		sched, err := NewSchedule(epoch, s.keys, s.stakes, s.seed)
		if err != nil {
			t.Fatal(err)
		}
		s.schedules[epoch] = sched
	}
	return s.schedules[epoch]
}

func newSealSetup(t testing.TB, n int, seed chain.Hash) *sealSetup {
	t.Helper()
	s := &sealSetup{privs: make(map[chain.PublicKey]ed25519.PrivateKey), seed: seed, schedules: make(map[uint64]*Schedule)}
	for i := range n {
		pub, priv := sealKey(i)
		s.keys = append(s.keys, pub)
		s.privs[pub] = priv
		s.stakes = append(s.stakes, uint64(i+1))
	}
	return s
}

// seal returns the elected proposer's seal of header in slot.
func (s *sealSetup) seal(t testing.TB, slot uint64, header chain.Hash) Seal {
	t.Helper()
	return s.sealBy(t, s.schedule(t, slot).Proposer(slot), slot, header)
}

// sealBy returns pub's seal of header in slot.
func (s *sealSetup) sealBy(t testing.TB, pub chain.PublicKey, slot uint64, header chain.Hash) Seal {
	t.Helper()
	priv := s.privs[pub]
	r, err := NewReveal(priv, sealNetwork, slot/DevSlotsPerEpoch)
	if err != nil {
		t.Fatal(err)
	}
	seal, err := NewSeal(priv, sealNetwork, slot, header, r)
	if err != nil {
		t.Fatal(err)
	}
	return seal
}

// notProposer returns a validator other than slot's proposer.
func (s *sealSetup) notProposer(t testing.TB, slot uint64) chain.PublicKey {
	for _, k := range s.keys {
		if k != s.schedule(t, slot).Proposer(slot) {
			return k
		}
	}
	panic("one validator")
}

func TestSlotClock(t *testing.T) {
	g := sealGenesis
	for _, c := range []struct {
		name string
		t    time.Time
		want uint64
	}{
		{"before genesis", g.Add(-time.Hour), 0},
		{"genesis", g, 0},
		{"last instant of slot 0", g.Add(DevSlotDuration - 1), 0},
		{"slot 1", g.Add(DevSlotDuration), 1},
		{"slot 1000", g.Add(1000*DevSlotDuration + time.Second), 1000},
	} {
		if got := Slot(g, DevSlotDuration, c.t); got != c.want {
			t.Errorf("%s: slot %d, want %d", c.name, got, c.want)
		}
	}
	for _, slot := range []uint64{0, 1, 77, 1 << 30} {
		if got := Slot(g, DevSlotDuration, SlotStart(g, DevSlotDuration, slot)); got != slot {
			t.Errorf("Slot(SlotStart(%d)) = %d", slot, got)
		}
	}
	if Slot(g, 0, g.Add(time.Hour)) != 0 || !SlotStart(g, -1, 5).Equal(g) {
		t.Error("a non-positive slot duration is not harmless")
	}
	if far := SlotStart(g, DevSlotDuration, math.MaxUint64); !far.After(g.Add(100 * 365 * 24 * time.Hour)) {
		t.Errorf("the last slot starts at %v", far)
	}
}

func TestCheckSlot(t *testing.T) {
	skewed := sealRules(10, 3)
	skewed.Now = SlotStart(sealGenesis, DevSlotDuration, 11).Add(-MaxClockSkew)
	for _, c := range []struct {
		name  string
		rules SlotRules
		slot  uint64
		want  ErrorCode
	}{
		{"current slot", sealRules(10, 3), 10, -1},
		{"missed slots are allowed", sealRules(10, 3), 4, -1},
		{"next slot within the skew allowance", skewed, 11, -1},
		{"next slot beyond the skew allowance", sealRules(10, 3), 11, ErrFutureSlot},
		{"far future", sealRules(10, 3), math.MaxUint64, ErrFutureSlot},
		{"parent's slot", sealRules(10, 3), 3, ErrSlotNotAfterParent},
		{"before the parent", sealRules(10, 3), 2, ErrSlotNotAfterParent},
		{"slot 0", sealRules(10, 0), 0, ErrSlotNotAfterParent},
	} {
		if got := sealCode(c.rules.CheckSlot(c.slot)); got != c.want {
			t.Errorf("%s: code %v, want %v", c.name, got, c.want)
		}
	}
	bad := sealRules(10, 3)
	bad.SlotsPerEpoch = 0
	if err := bad.CheckSlot(4); err == nil || sealCode(err) != -1 {
		t.Errorf("zero slots per epoch: %v, want a plain error", err)
	}
	if bad.Epoch(120) != 0 || sealRules(0, 0).Epoch(120) != 2 {
		t.Error("Epoch")
	}
}

func TestNewScheduleRejects(t *testing.T) {
	a, _ := sealKey(1)
	b, _ := sealKey(2)
	for _, c := range []struct {
		name   string
		keys   []chain.PublicKey
		stakes []uint64
	}{
		{"lengths", []chain.PublicKey{a, b}, []uint64{1}},
		{"duplicate", []chain.PublicKey{a, a}, []uint64{1, 1}},
		{"no stake", []chain.PublicKey{a, b}, []uint64{0, 0}},
	} {
		if _, err := NewSchedule(0, c.keys, c.stakes, chain.Hash{}); sealCode(err) != ErrBadValidatorSet {
			t.Errorf("%s: %v, want ErrBadValidatorSet", c.name, err)
		}
	}
}

func TestVerifySeal(t *testing.T) {
	s := newSealSetup(t, 8, chain.Hash{0xbe})
	// slot and replaySlot: two slots of epoch 2 with the same proposer
	// (44 slots, 8 validators: there is such a pair), so that a seal's
	// signature can be replayed in a slot where its key is elected.
	var slot, replaySlot uint64
	first := map[chain.PublicKey]uint64{}
	for sl := uint64(2*DevSlotsPerEpoch + 6); replaySlot == 0; sl++ {
		p := s.schedule(t, sl).Proposer(sl)
		if f, ok := first[p]; ok {
			slot, replaySlot = f, sl
		}
		first[p] = sl
	}
	if slot/DevSlotsPerEpoch != 2 || replaySlot/DevSlotsPerEpoch != 2 {
		t.Fatalf("slots %d and %d", slot, replaySlot)
	}
	sched := s.schedule(t, slot)
	header := chain.Hash{0x4e, 0xad}
	good := s.seal(t, slot, header)
	rules := sealRules(slot, slot-5)
	out, err := VerifySeal(sealNetwork, &good, header, sched, rules)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := good.Reveal.Verify(good.Proposer, sealNetwork, 2); out != want {
		t.Fatal("VerifySeal returned another output than the reveal's")
	}

	other := s.notProposer(t, slot)
	forgedReveal := good
	forgedReveal.Reveal[10] ^= 1
	otherEpochReveal := good
	otherEpochReveal.Reveal, _ = NewReveal(s.privs[good.Proposer], sealNetwork, 1)
	othersReveal := good
	othersReveal.Reveal, _ = NewReveal(s.privs[other], sealNetwork, 2)
	badSig := good
	badSig.Signature[3] ^= 1
	// The elected proposer's seal for another network: its reveal is
	// made for this one, so only the signature is wrong.
	otherNet, _ := NewSeal(s.privs[good.Proposer], chain.Hash{1}, slot, header, good.Reveal)
	// The signature replayed in replaySlot, where the same key is elected.
	replay := good
	replay.Slot = replaySlot

	for _, c := range []struct {
		name   string
		seal   Seal
		header chain.Hash
		rules  SlotRules
		want   ErrorCode
	}{
		{"wrong proposer", s.sealBy(t, other, slot, header), header, rules, ErrWrongProposer},
		{"forged reveal", forgedReveal, header, rules, ErrBadReveal},
		{"reveal for another epoch", otherEpochReveal, header, rules, ErrBadReveal},
		{"another validator's reveal", othersReveal, header, rules, ErrBadReveal},
		{"bad signature", badSig, header, rules, ErrBadSealSignature},
		{"another header", good, chain.Hash{0x99}, rules, ErrBadSealSignature},
		{"another network", otherNet, header, rules, ErrBadSealSignature},
		{"replay on another slot", replay, header, sealRules(replaySlot, slot), ErrBadSealSignature},
		{"future slot", good, header, sealRules(slot-1, slot-5), ErrFutureSlot},
		{"slot not after the parent", good, header, sealRules(slot, slot), ErrSlotNotAfterParent},
	} {
		if _, err := VerifySeal(sealNetwork, &c.seal, c.header, sched, c.rules); sealCode(err) != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := VerifySeal(sealNetwork, &good, header, sched, SlotRules{}); err == nil || sealCode(err) != -1 {
		t.Errorf("zero rules: %v, want a plain error", err)
	}
	if _, err := VerifySeal(sealNetwork, &good, header, s.schedule(t, slot+DevSlotsPerEpoch), rules); err == nil || sealCode(err) != -1 {
		t.Errorf("schedule of another epoch: %v, want a plain error", err)
	}
	if _, err := NewSeal(ed25519.PrivateKey{1}, sealNetwork, 1, header, Reveal{}); err == nil {
		t.Error("short key accepted")
	}
}

func TestSealEncoding(t *testing.T) {
	s := newSealSetup(t, 3, chain.Hash{1})
	seal := s.seal(t, 77, chain.Hash{2})
	b, err := seal.MarshalBinary()
	if err != nil || len(b) != SealSize || SealSize != 185 {
		t.Fatalf("%d bytes, %v", len(b), err)
	}
	var d Seal
	if err := d.UnmarshalBinary(b); err != nil || d != seal {
		t.Fatalf("round trip: %v", err)
	}
	if binary.LittleEndian.Uint64(b[1:9]) != 77 || !bytes.Equal(b[9:41], seal.Proposer[:]) {
		t.Fatal("layout")
	}
	zeroSlot := slices.Clone(b)
	clear(zeroSlot[1:9])
	badVersion := slices.Clone(b)
	badVersion[0] = 2
	for name, in := range map[string][]byte{
		"empty": nil, "short": b[:SealSize-1], "long": append(slices.Clone(b), 0),
		"version": badVersion, "slot 0": zeroSlot,
	} {
		before := d
		if err := d.UnmarshalBinary(in); sealCode(err) != ErrMalformed || d != before {
			t.Errorf("%s: %v, want ErrMalformed and no change", name, err)
		}
	}
}

// FuzzSeal decodes arbitrary bytes as a seal: no panic, a decoded seal
// re-encodes to the same bytes, and only the one real seal verifies.
func FuzzSeal(f *testing.F) {
	s := newSealSetup(f, 4, chain.Hash{0xf0})
	const slot = 60
	header := chain.Hash{0x77}
	good := s.seal(f, slot, header)
	b, _ := good.MarshalBinary()
	f.Add(b)
	rules := sealRules(slot, 0)
	sched := s.schedule(f, slot)
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Seal
		if err := d.UnmarshalBinary(data); err != nil {
			if sealCode(err) != ErrMalformed {
				t.Fatalf("decode error %v is not ErrMalformed", err)
			}
			return
		}
		again, _ := d.MarshalBinary()
		if !bytes.Equal(again, data) {
			t.Fatal("re-encoding differs")
		}
		_, err := VerifySeal(sealNetwork, &d, header, sched, rules)
		if err == nil && (d.Slot != good.Slot || d.Proposer != good.Proposer) {
			t.Fatal("a seal other than the real one verified")
		}
		if err != nil && sealCode(err) == -1 && rules.Epoch(d.Slot) == sched.Epoch() {
			t.Fatalf("untyped error %v", err)
		}
	})
}

// TestSealChain seals a short chain with missed slots as a node will:
// each block's seal verified against its epoch's schedule, its reveal
// folded into the beacon, the beacon at the end of epoch e−2 seeding the
// schedule of epoch e.
func TestSealChain(t *testing.T) {
	const slotsPerEpoch, epochs = 4, 5
	keys, privs, stakes := []chain.PublicKey{}, map[chain.PublicKey]ed25519.PrivateKey{}, []uint64{}
	for i := range 5 {
		pub, priv := sealKey(i)
		keys, stakes = append(keys, pub), append(stakes, uint64(10*(i+1)))
		privs[pub] = priv
	}
	mix := chain.Hash{0x1}
	endOf := map[uint64]chain.Hash{} // beacon at the end of each epoch
	rng := rand.New(rand.NewPCG(5, 5))
	parent, blocks := uint64(0), 0
	for slot := uint64(1); slot < slotsPerEpoch*epochs; slot++ {
		epoch := slot / slotsPerEpoch
		seed := chain.Hash{0x1}
		if epoch >= 2 {
			seed = endOf[epoch-2]
		}
		sched, err := NewSchedule(epoch, keys, stakes, seed)
		if err != nil {
			t.Fatal(err)
		}
		if rng.IntN(4) > 0 { // a quarter of the slots are missed
			p := sched.Proposer(slot)
			r, _ := NewReveal(privs[p], sealNetwork, epoch)
			header := chain.Hash{byte(slot), 0xb1}
			seal, _ := NewSeal(privs[p], sealNetwork, slot, header, r)
			rules := SlotRules{GenesisTime: sealGenesis, SlotDuration: DevSlotDuration, SlotsPerEpoch: slotsPerEpoch,
				Now: SlotStart(sealGenesis, DevSlotDuration, slot).Add(time.Second), ParentSlot: parent}
			out, err := VerifySeal(sealNetwork, &seal, header, sched, rules)
			if err != nil {
				t.Fatalf("slot %d: %v", slot, err)
			}
			mix = Mix(mix, out)
			parent, blocks = slot, blocks+1
		}
		if (slot+1)%slotsPerEpoch == 0 {
			endOf[epoch] = mix
		}
	}
	if blocks == 0 || endOf[0] == endOf[epochs-1] {
		t.Fatalf("%d blocks, beacon did not move", blocks)
	}
}

// simReveal stands in for a validator's ECVRF output in the long
// simulation (a real reveal costs about 0.1 ms to make and to check):
// like the VRF output it is a fixed, pseudorandom function of the key
// and the epoch.
func simReveal(key chain.PublicKey, epoch uint64) RevealOutput {
	return RevealOutput(sha512.Sum512(binary.LittleEndian.AppendUint64(key[:], epoch)))
}

// TestProposerSharesWithMissedSlots runs the beacon and the election over
// 100,000 slots (2,000 epochs of 50) for 50 validators of random stakes,
// with 20% of the slots missed: each epoch's schedule comes from the
// beacon at the end of epoch e−2, into which only the blocks actually
// proposed fold their reveals. A chi-square test checks that each
// validator's share of elected slots, and of blocks proposed, matches its
// share of stake (p ≥ minSealP, a false failure rate of 0.1% for each of
// the two tests and each seed; the seed is fixed, so CI is deterministic),
// and that the same test refuses the counts against a permutation of the
// stakes, so that it can fail.
func TestProposerSharesWithMissedSlots(t *testing.T) {
	const (
		validators = 50
		slots      = 100_000
		perEpoch   = 50
		minSealP   = 1e-3
	)
	stakes := randomSealStakes(7, validators)
	keys := make([]chain.PublicKey, validators)
	for i := range keys {
		keys[i], _ = sealKey(i)
	}
	rng := rand.New(rand.NewPCG(11, 13))
	elected := make([]uint64, validators)
	proposed := make([]uint64, validators)
	index := make(map[chain.PublicKey]int, validators)
	for i, k := range keys {
		index[k] = i
	}
	mix := chain.Hash{0xa5}
	endOf := make([]chain.Hash, slots/perEpoch)
	var sched *Schedule
	missed := 0
	for slot := uint64(0); slot < slots; slot++ {
		epoch := slot / perEpoch
		if slot%perEpoch == 0 {
			seed := chain.Hash{0xa5}
			if epoch >= 2 {
				seed = endOf[epoch-2]
			}
			var err error
			if sched, err = NewSchedule(epoch, keys, stakes, seed); err != nil {
				t.Fatal(err)
			}
		}
		p := index[sched.Proposer(slot)]
		elected[p]++
		if rng.IntN(5) == 0 {
			missed++
		} else {
			proposed[p]++
			mix = Mix(mix, simReveal(keys[p], epoch))
		}
		if (slot+1)%perEpoch == 0 {
			endOf[epoch] = mix
		}
	}
	if missed < slots/6 || missed > slots/4 {
		t.Fatalf("%d missed slots, want about 20%%", missed)
	}
	shuffled := slices.Clone(stakes)
	rand.New(rand.NewPCG(3, 3)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for name, counts := range map[string][]uint64{"elected": elected, "proposed": proposed} {
		stat, df := stats.ChiSquare(counts, stakes)
		if p := stats.ChiSquareP(stat, df); p < minSealP {
			t.Errorf("%s: chi-square p = %.3g < %g", name, p, minSealP)
		} else {
			t.Logf("%s: p = %.3f", name, p)
		}
		stat, df = stats.ChiSquare(counts, shuffled)
		if p := stats.ChiSquareP(stat, df); p >= minSealP {
			t.Errorf("%s: counts pass against permuted stakes, p = %.3g", name, p)
		}
	}
}

// randomSealStakes returns n stakes drawn from 1..1,000,000 by seed.
func randomSealStakes(seed uint64, n int) []uint64 {
	rng := rand.New(rand.NewPCG(seed, 0x5ea1))
	s := make([]uint64, n)
	for i := range s {
		s[i] = 1 + rng.Uint64N(1_000_000)
	}
	return s
}

// TestWriteSealCorpus rewrites the checked-in seed corpus of FuzzSeal
// when POS_WRITE_CORPUS=1; otherwise it checks that it exists
// (FuzzProposerEvidence and its corpus are chain's now).
func TestWriteSealCorpus(t *testing.T) {
	s := newSealSetup(t, 4, chain.Hash{0xf0})
	good := s.seal(t, 60, chain.Hash{0x77})
	sb, _ := good.MarshalBinary()
	corpora := map[string]map[string][]byte{
		"FuzzSeal": {
			"valid":     sb,
			"truncated": sb[:SealSize-1],
			"slot_zero": append(append([]byte{1}, make([]byte, 8)...), sb[9:]...),
		},
	}
	for fuzz, files := range corpora {
		for name, data := range files {
			path := filepath.Join("testdata", "fuzz", fuzz, name)
			if os.Getenv("POS_WRITE_CORPUS") == "1" {
				os.MkdirAll(filepath.Dir(path), 0o755)
				if err := os.WriteFile(path, []byte("go test fuzz v1\n[]byte("+quoteGo(data)+")\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			} else if _, err := os.Stat(path); err != nil {
				t.Errorf("seed corpus file missing: %v", err)
			}
		}
	}
}

// quoteGo returns data as a Go interpreted string literal.
func quoteGo(data []byte) string {
	var b bytes.Buffer
	b.WriteByte('"')
	for _, c := range data {
		b.WriteString(`\x`)
		b.WriteByte("0123456789abcdef"[c>>4])
		b.WriteByte("0123456789abcdef"[c&15])
	}
	b.WriteByte('"')
	return b.String()
}

// TestVerifySeals: the seals of a run of slots by several validators
// pass in one call; a bad signature or reveal is found at its index,
// the first of them when there are several; a reveal that repeats is
// taken only for the key, epoch and proof it was checked for.
func TestVerifySeals(t *testing.T) {
	s := newSealSetup(t, 4, chain.Hash{0x5b})
	const first, count = 3*DevSlotsPerEpoch - 10, 40 // across two epochs
	seals := make([]Seal, count)
	headers := make([]chain.Hash, count)
	for i := range seals {
		headers[i] = chain.Hash{0x4e, byte(i)}
		seals[i] = s.seal(t, first+uint64(i), headers[i])
	}
	if i, err := VerifySeals(sealNetwork, seals, headers, DevSlotsPerEpoch); i != -1 || err != nil {
		t.Fatalf("good seals: %d, %v", i, err)
	}
	if i, err := VerifySeals(sealNetwork, nil, nil, DevSlotsPerEpoch); i != -1 || err != nil {
		t.Fatalf("no seals: %d, %v", i, err)
	}
	// The last seal of epoch 2 (index 9) and the first of epoch 3 (10)
	// by one key: the first one's reveal in the second seal, checked
	// for epoch 2 already, is wrong for epoch 3.
	last2 := s.sealBy(t, s.keys[0], first+9, headers[9])
	first3 := s.sealBy(t, s.keys[0], first+10, headers[10])
	staleReveal := first3
	staleReveal.Reveal = last2.Reveal
	forgedReveal := s.sealBy(t, s.keys[0], first+11, headers[11])
	forgedReveal.Reveal[5] ^= 1
	badSig := seals[20]
	badSig.Signature[7] ^= 1
	for _, c := range []struct {
		name   string
		change map[int]Seal
		index  int
		code   ErrorCode
	}{
		{"bad signature", map[int]Seal{20: badSig}, 20, ErrBadSealSignature},
		{"reveal of the epoch before", map[int]Seal{9: last2, 10: staleReveal}, 10, ErrBadReveal},
		{"another proof after a good one", map[int]Seal{9: last2, 10: first3, 11: forgedReveal}, 11, ErrBadReveal},
		{"the first of two", map[int]Seal{9: last2, 10: staleReveal, 20: badSig}, 10, ErrBadReveal},
	} {
		mixed := slices.Clone(seals)
		for i, seal := range c.change {
			mixed[i] = seal
		}
		if i, err := VerifySeals(sealNetwork, mixed, headers, DevSlotsPerEpoch); i != c.index || sealCode(err) != c.code {
			t.Errorf("%s: %d, %v; want %d, %v", c.name, i, err, c.index, c.code)
		}
	}
	if i, err := VerifySeals(sealNetwork, seals, headers[1:], DevSlotsPerEpoch); i != -1 || err == nil || sealCode(err) != -1 {
		t.Errorf("lengths differ: %d, %v; want a plain error", i, err)
	}
	if i, err := VerifySeals(sealNetwork, seals, headers, 0); i != -1 || err == nil || sealCode(err) != -1 {
		t.Errorf("no slots per epoch: %d, %v; want a plain error", i, err)
	}
}
