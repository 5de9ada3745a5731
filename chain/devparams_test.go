package chain

import (
	"math"
	"math/big"
	"testing"
	"time"
)

const devGenesisHashStr = "000001329322049fc03dd621b79b02f40c1b064b19b65286193c501c2aae7419"

func TestDevParams(t *testing.T) {
	p := &DevParams
	g := &p.GenesisHeader
	if p.Name != "dev" || p.DifficultyAlgorithm != DifficultyASERT || p.NoRetargeting {
		t.Errorf("Name %q, algorithm %v, NoRetargeting %v", p.Name, p.DifficultyAlgorithm, p.NoRetargeting)
	}
	if p.TargetSpacing != 5*time.Second || p.ASERTHalfLife != 2*time.Minute ||
		p.MedianTimeBlocks != 11 || p.MaxFutureBlockTime != 2*time.Hour {
		t.Errorf("spacing %v, half-life %v, median blocks %d, future limit %v",
			p.TargetSpacing, p.ASERTHalfLife, p.MedianTimeBlocks, p.MaxFutureBlockTime)
	}
	if p.InitialSubsidy != MainNetParams.InitialSubsidy || p.SubsidyHalvingInterval != MainNetParams.SubsidyHalvingInterval {
		t.Errorf("subsidy %d every %d blocks", p.InitialSubsidy, p.SubsidyHalvingInterval)
	}
	if want := new(big.Int).Sub(new(big.Int).Lsh(bigOne, 255), bigOne); p.PowLimit.Cmp(want) != 0 {
		t.Errorf("PowLimit = %x", p.PowLimit)
	}
	if got := BigToCompact(p.PowLimit); got != p.PowLimitBits {
		t.Errorf("PowLimitBits %08x, BigToCompact(PowLimit) = %08x", p.PowLimitBits, got)
	}
	want := ASERTAnchor{Height: 0, Bits: g.Bits, ParentTime: int64(g.Timestamp) - 5}
	if p.ASERTAnchor != want {
		t.Errorf("ASERTAnchor = %+v, want %+v", p.ASERTAnchor, want)
	}

	// The genesis header.
	if got := g.Hash(); got != p.GenesisHash || got.String() != devGenesisHashStr {
		t.Errorf("genesis hashes to %v, GenesisHash %v", got, p.GenesisHash)
	}
	if err := CheckHeaderSanity(g, p); err != nil {
		t.Errorf("genesis fails sanity: %v", err)
	}
	if g.PrevBlock != (Hash{}) || g.Version != 1 {
		t.Errorf("genesis PrevBlock %v, Version %d", g.PrevBlock, g.Version)
	}
	// About 2^22 hashes per block at the genesis target.
	if w := CalcWork(g.Bits); w.Cmp(big.NewInt(4_100_000)) < 0 || w.Cmp(big.NewInt(4_300_000)) > 0 {
		t.Errorf("genesis work %v, want about 2^22", w)
	}

	// The genesis block.
	b := p.GenesisBlock
	if b == nil || b.Header != *g {
		t.Fatalf("GenesisBlock header differs from GenesisHeader")
	}
	if err := CheckBlockSanity(b, p, BFNone); err != nil {
		t.Errorf("genesis block fails sanity: %v", err)
	}
	if err := CheckCoinbaseHeight(b, 0); err != nil {
		t.Error(err)
	}
	if len(b.Transactions) != 1 {
		t.Fatalf("genesis block has %d transactions", len(b.Transactions))
	}
	cb := b.Transactions[0].Coinbase
	if len(cb.Outputs) != 1 || cb.Outputs[0].Address != (Address{}) || cb.Outputs[0].Amount != CalcBlockSubsidy(0, p) {
		t.Errorf("genesis coinbase pays %+v, want the subsidy %d to the zero address", cb.Outputs, CalcBlockSubsidy(0, p))
	}
	enc, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back Block
	if err := back.UnmarshalBinary(enc); err != nil || back.Hash() != p.GenesisHash {
		t.Errorf("genesis block round trip: %v, hash %v", err, back.Hash())
	}

	// Mainnet is unaffected.
	if MainNetParams.DifficultyAlgorithm != DifficultyRetarget || MainNetParams.GenesisBlock != nil {
		t.Errorf("MainNetParams algorithm %v, GenesisBlock %v", MainNetParams.DifficultyAlgorithm, MainNetParams.GenesisBlock)
	}
}

// devChain builds headers (without proof of work) on DevParams' genesis,
// checking each with CheckHeaderContext.
type devChain struct {
	t       *testing.T
	p       *Params
	headers []Header
}

func newDevChain(t *testing.T) *devChain {
	return &devChain{t: t, p: &DevParams, headers: []Header{DevParams.GenesisHeader}}
}

// context returns the HeaderContext of the chain's tip.
func (d *devChain) context() HeaderContext {
	n := len(d.headers)
	tip := &d.headers[n-1]
	var times []int64
	for i := max(0, n-d.p.MedianTimeBlocks); i < n; i++ {
		times = append(times, int64(d.headers[i].Timestamp))
	}
	return HeaderContext{
		PrevHash:   tip.Hash(),
		PrevHeight: int64(n - 1),
		PrevBits:   tip.Bits,
		PrevTime:   int64(tip.Timestamp),
		MedianTime: MedianTimePast(times),
	}
}

// add appends a block with timestamp ts (raised above the median time past
// if needed) and the bits NextBits gives, after checking that
// CheckHeaderContext accepts them and rejects a neighbour.
func (d *devChain) add(ts int64) *Header {
	d.t.Helper()
	c := d.context()
	ts = max(ts, c.MedianTime+1)
	h := Header{
		Version:    1,
		PrevBlock:  c.PrevHash,
		MerkleRoot: Hash{byte(len(d.headers)), byte(len(d.headers) >> 8)},
		Timestamp:  uint32(ts),
		Bits:       c.NextBits(d.p),
	}
	now := time.Unix(ts, 0)
	if err := CheckHeaderContext(&h, d.p, &c, now); err != nil {
		d.t.Fatalf("height %d: %v", c.PrevHeight+1, err)
	}
	bad := h
	bad.Bits = BigToCompact(new(big.Int).Add(CompactToBig(h.Bits), new(big.Int).Lsh(bigOne, 240)))
	wantRuleError(d.t, CheckHeaderContext(&bad, d.p, &c, now), ErrUnexpectedDifficulty)
	d.headers = append(d.headers, h)
	return &d.headers[len(d.headers)-1]
}

func TestDevChainBlockOne(t *testing.T) {
	d := newDevChain(t)
	g := DevParams.GenesisHeader
	h := d.add(int64(g.Timestamp) + 5)
	if h.Bits != g.Bits {
		t.Errorf("block 1 after an on-time genesis has bits %08x, want the genesis bits %08x", h.Bits, g.Bits)
	}
	// Block 2's bits depend on block 1's time: 5 s later keeps them, a
	// half-life later doubles the target.
	c := d.context()
	if got := c.NextBits(&DevParams); got != g.Bits {
		t.Errorf("block 2 on schedule: %08x, want %08x", got, g.Bits)
	}
	c.PrevTime += 120
	if got, want := c.NextBits(&DevParams), BigToCompact(new(big.Int).Lsh(CompactToBig(g.Bits), 1)); got != want {
		t.Errorf("block 2 a half-life late: %08x, want %08x", got, want)
	}
}

// TestDevChainTooFast feeds blocks whose timestamps come every 0.5 s, ten
// times too fast: block i at genesis + 9 s + i/2 (integer seconds; the 9 s
// keep the first blocks above the median time past and make the
// checkpoints below whole half-lives). Each block's target must be the
// genesis target times 2^((parent time - schedule) / halfLife). Block 243's
// parent, at 130 s, is 1,080 s (nine half-lives) ahead of schedule, so its
// target is exactly the genesis target / 512; block 483's, at 250 s, is 18
// half-lives ahead.
func TestDevChainTooFast(t *testing.T) {
	d := newDevChain(t)
	g := DevParams.GenesisHeader
	g0 := int64(g.Timestamp)
	genesisTarget := CompactToBig(g.Bits)
	timeOf := func(i int64) int64 {
		if i == 0 {
			return g0
		}
		return g0 + 9 + i/2
	}
	for i := int64(1); i <= 483; i++ {
		h := d.add(timeOf(i))
		if int64(h.Timestamp) != timeOf(i) {
			t.Fatalf("block %d: timestamp raised to %d", i, h.Timestamp)
		}
		// Block i's bits come from its parent, block i-1.
		lead := float64((timeOf(i-1)-(g0-5))-5*i) / 120 // half-lives
		exact := new(big.Float).SetInt(genesisTarget)
		exact.SetMantExp(exact, int(math.Floor(lead)))
		exact.Mul(exact, big.NewFloat(math.Exp2(lead-math.Floor(lead))))
		ratio, _ := new(big.Float).Quo(new(big.Float).SetInt(CompactToBig(h.Bits)), exact).Float64()
		// Cubic (1.3e-4), exponent truncation (1.1e-5) and compact
		// rounding (at most 2^-15).
		if math.Abs(ratio-1) > 1.8e-4 {
			t.Fatalf("block %d: bits %08x are %.6f of the exact target", i, h.Bits, ratio)
		}
	}
	for _, cp := range []struct {
		height int
		shift  uint
	}{{83, 3}, {163, 6}, {243, 9}, {483, 18}} {
		want := BigToCompact(new(big.Int).Rsh(genesisTarget, cp.shift))
		if got := d.headers[cp.height].Bits; got != want {
			t.Errorf("block %d: bits %08x, want genesis / 2^%d = %08x", cp.height, got, cp.shift, want)
		}
	}
}

// TestDevChainConverges mines with a constant hash rate ten times what
// the genesis target needs for 5 s blocks, each block taking exactly its
// expected time (work / hash rate). ASERT must settle at a tenth of the
// genesis target and 5 s blocks within minutes.
func TestDevChainConverges(t *testing.T) {
	d := newDevChain(t)
	g := DevParams.GenesisHeader
	work0, _ := new(big.Float).SetInt(CalcWork(g.Bits)).Float64()
	hashRate := work0 / 0.5 // a genesis-target block takes 0.5 s
	now := float64(g.Timestamp)
	var settledAt float64 = -1
	for len(d.headers) < 1500 {
		c := d.context()
		w, _ := new(big.Float).SetInt(CalcWork(c.NextBits(&DevParams))).Float64()
		solve := w / hashRate
		now += solve
		d.add(int64(now))
		elapsed := now - float64(g.Timestamp)
		if settledAt < 0 && math.Abs(solve-5) < 0.5 {
			settledAt = elapsed
		}
	}
	if settledAt < 0 || settledAt > 10*60 {
		t.Errorf("block time first within 10%% of 5 s after %.0f s, want under 10 minutes", settledAt)
	}
	// Over the last 500 blocks: mean interval 5 s, target genesis/10.
	n := len(d.headers)
	span := float64(d.headers[n-1].Timestamp - d.headers[n-501].Timestamp)
	if mean := span / 500; math.Abs(mean-5) > 0.1 {
		t.Errorf("mean interval over the last 500 blocks %.3f s, want 5", mean)
	}
	final, _ := new(big.Float).Quo(
		new(big.Float).SetInt(CompactToBig(d.headers[n-1].Bits)),
		new(big.Float).SetInt(CompactToBig(g.Bits))).Float64()
	if math.Abs(final*10-1) > 0.05 {
		t.Errorf("final target is %.4f of the genesis target, want 0.1", final)
	}
	t.Logf("settled (within 10%% of 5 s) after %.0f s; final target ratio %.4f", settledAt, final)
}
