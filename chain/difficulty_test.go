package chain

import (
	"math/big"
	"testing"
	"time"
)

// coreCompactTests is bignum_SetCompact from Bitcoin Core's
// src/test/arith_uint256_tests.cpp: the decoded value (as GetHex prints
// it, without leading zeros), its re-encoding (GetCompact(fNegative)) and
// the two flags.
var coreCompactTests = []struct {
	bits     uint32
	value    string // hex, big-endian; "" when Core does not check it
	compact  uint32
	negative bool
	overflow bool
}{
	{0, "0", 0, false, false},
	{0x00123456, "0", 0, false, false},
	{0x01003456, "0", 0, false, false},
	{0x02000056, "0", 0, false, false},
	{0x03000000, "0", 0, false, false},
	{0x04000000, "0", 0, false, false},
	// The sign bit with a mantissa that shifts down to zero is not
	// negative.
	{0x00923456, "0", 0, false, false},
	{0x01803456, "0", 0, false, false},
	{0x02800056, "0", 0, false, false},
	{0x03800000, "0", 0, false, false},
	{0x04800000, "0", 0, false, false},
	{0x01123456, "12", 0x01120000, false, false},
	{0x01fedcba, "7e", 0x01fe0000, true, false},
	{0x02123456, "1234", 0x02123400, false, false},
	{0x03123456, "123456", 0x03123456, false, false},
	{0x04123456, "12345600", 0x04123456, false, false},
	{0x04923456, "12345600", 0x04923456, true, false},
	{0x05009234, "92340000", 0x05009234, false, false},
	{0x20123456, "1234560000000000000000000000000000000000000000000000000000000000", 0x20123456, false, false},
	{0xff123456, "", 0, false, true},
}

func TestCompactCore(t *testing.T) {
	for _, tt := range coreCompactTests {
		target, negative, overflow := DecodeCompact(tt.bits)
		if negative != tt.negative || overflow != tt.overflow {
			t.Errorf("DecodeCompact(%08x) flags = %v, %v; want %v, %v",
				tt.bits, negative, overflow, tt.negative, tt.overflow)
		}
		if target.Sign() < 0 || target.BitLen() > 256 {
			t.Errorf("DecodeCompact(%08x) target %x is outside [0, 2^256)", tt.bits, target)
		}
		if tt.value == "" {
			continue
		}
		want := mustBig(t, tt.value)
		if target.Cmp(want) != 0 {
			t.Errorf("DecodeCompact(%08x) = %x, want %x", tt.bits, target, want)
		}
		// btcd's shape: the sign applied to the same magnitude.
		signed := CompactToBig(tt.bits)
		if tt.negative {
			want = new(big.Int).Neg(want)
		}
		if signed.Cmp(want) != 0 {
			t.Errorf("CompactToBig(%08x) = %x, want %x", tt.bits, signed, want)
		}
		if got := BigToCompact(signed); got != tt.compact {
			t.Errorf("BigToCompact(%x) = %08x, want %08x", signed, got, tt.compact)
		}
	}
}

func TestCompactOverflowBoundaries(t *testing.T) {
	tests := []struct {
		bits     uint32
		overflow bool
	}{
		{0x220000ff, false}, // 0xff << 248 fits
		{0x22000100, true},
		{0x2100ffff, false}, // 0xffff << 240 fits
		{0x21010000, true},
		{0x207fffff, false},
		{0x23000001, true},
		{0xff000000, false}, // zero mantissa never overflows
		{0xff7fffff, true},
	}
	for _, tt := range tests {
		target, _, overflow := DecodeCompact(tt.bits)
		if overflow != tt.overflow {
			t.Errorf("DecodeCompact(%08x) overflow = %v, want %v", tt.bits, overflow, tt.overflow)
		}
		if full := CompactToBig(tt.bits); (full.BitLen() > 256) != tt.overflow {
			t.Errorf("CompactToBig(%08x) has %d bits, overflow flag %v", tt.bits, full.BitLen(), tt.overflow)
		}
		if target.BitLen() > 256 {
			t.Errorf("DecodeCompact(%08x) target not reduced: %d bits", tt.bits, target.BitLen())
		}
	}
}

func TestBigToCompact(t *testing.T) {
	tests := []struct {
		name string
		n    *big.Int
		want uint32
	}{
		{"zero", new(big.Int), 0},
		{"minus one (btcd)", big.NewInt(-1), 0x01810000},
		{"0x80 moves into the size (Core)", big.NewInt(0x80), 0x02008000},
		{"0x7f", big.NewInt(0x7f), 0x017f0000},
		{"pow limit loses its low bits", MainNetParams.PowLimit, 0x1d00ffff},
		{"low bits dropped", big.NewInt(0x12345678), 0x04123456},
		{"2^255", new(big.Int).Lsh(big.NewInt(1), 255), 0x21008000},
	}
	for _, tt := range tests {
		if got := BigToCompact(tt.n); got != tt.want {
			t.Errorf("%s: BigToCompact(%x) = %08x, want %08x", tt.name, tt.n, got, tt.want)
		}
	}
	// Every canonical real-world value round-trips.
	for _, bits := range []uint32{0x1d00ffff, 0x1c05a3f4, 0x1c0168fd, 0x1703e8b3, 0x170371b1, 0x207fffff} {
		if got := BigToCompact(CompactToBig(bits)); got != bits {
			t.Errorf("round trip of %08x gave %08x", bits, got)
		}
	}
}

func TestCalcWork(t *testing.T) {
	tests := []struct {
		name string
		bits uint32
		want string // hex
	}{
		{"genesis", 0x1d00ffff, "100010001"},
		{"target 1", 0x01010000, "8000000000000000000000000000000000000000000000000000000000000000"},
		{"regtest", 0x207fffff, "2"},
		{"zero", 0, "0"},
		{"zero mantissa", 0x1d000000, "0"},
		{"negative", 0x04923456, "0"},
		{"overflow", 0xff123456, "0"},
		{"sign bit, zero word", 0x01803456, "0"},
	}
	for _, tt := range tests {
		if got := CalcWork(tt.bits); got.Cmp(mustBig(t, tt.want)) != 0 {
			t.Errorf("%s: CalcWork(%08x) = %x, want %s", tt.name, tt.bits, got, tt.want)
		}
	}
}

// TestRetargetBitsCore holds the four cases of Bitcoin Core's
// src/test/pow_tests.cpp.
func TestRetargetBitsCore(t *testing.T) {
	tests := []struct {
		name                string
		bits                uint32
		firstTime, lastTime int64
		want                uint32
	}{
		{"get_next_work", 0x1d00ffff, 1261130161, 1262152739, 0x1d00d86a},
		{"pow limit", 0x1d00ffff, 1231006505, 1233061996, 0x1d00ffff},
		{"lower limit actual (4x harder)", 0x1c05a3f4, 1279008237, 1279297671, 0x1c0168fd},
		{"upper limit actual (4x easier)", 0x1c387f6f, 1263163443, 1269211443, 0x1d00e1fd},
	}
	for _, tt := range tests {
		if got := RetargetBits(&MainNetParams, tt.bits, tt.firstTime, tt.lastTime); got != tt.want {
			t.Errorf("%s: RetargetBits = %08x, want %08x", tt.name, got, tt.want)
		}
	}
}

func TestRetargetBitsClamp(t *testing.T) {
	p := &MainNetParams
	span := p.targetTimespanSeconds() // 1,209,600
	const bits = 0x1703e8b3           // a real mid-difficulty value
	const t0 = 1700000000
	tests := []struct {
		name        string
		actual      int64
		sameAsSpan  int64 // the result must equal the one for this span
		wantChanged bool
	}{
		{"on time keeps bits", span, span, false},
		{"quarter is the floor", span / 4, span / 4, true},
		{"faster than a quarter clamps up", span/4 - 1, span / 4, true},
		{"one second clamps up", 1, span / 4, true},
		{"backwards clamps up", -span, span / 4, true},
		{"four times is the ceiling", span * 4, span * 4, true},
		{"slower than four times clamps down", span*4 + 1, span * 4, true},
		{"far slower clamps down", span * 100, span * 4, true},
	}
	for _, tt := range tests {
		got := RetargetBits(p, bits, t0, t0+tt.actual)
		if want := RetargetBits(p, bits, t0, t0+tt.sameAsSpan); got != want {
			t.Errorf("%s: %08x, want %08x", tt.name, got, want)
		}
		if (got != bits) != tt.wantChanged {
			t.Errorf("%s: bits %08x -> %08x", tt.name, bits, got)
		}
	}
	// The clamped extremes are a factor of 4 up to compact rounding:
	// 0x03e8b3 * 4 = 0x0fa2cc; 0x03e8b3 / 4 = 0xfa2c.cc, whose top byte has
	// the sign bit, so it is stored as mantissa 0x00fa2c at the same size.
	if got := RetargetBits(p, bits, t0, t0+1); got != 0x1700fa2c {
		t.Errorf("harder clamp gave %08x, want 1700fa2c", got)
	}
	if got := RetargetBits(p, bits, t0, t0+span*100); got != 0x170fa2cc {
		t.Errorf("easier clamp gave %08x, want 170fa2cc", got)
	}
	// Near the limit, the easier clamp is capped at powLimit.
	if got := RetargetBits(p, 0x1c7fffff, t0, t0+span*4); got != p.PowLimitBits {
		t.Errorf("capped retarget gave %08x, want %08x", got, p.PowLimitBits)
	}
}

func TestRetargetBitsNoRetargeting(t *testing.T) {
	p := MainNetParams
	p.NoRetargeting = true
	if got := RetargetBits(&p, 0x1c05a3f4, 0, 1); got != 0x1c05a3f4 {
		t.Errorf("NoRetargeting changed bits to %08x", got)
	}
}

func TestParamsMainNet(t *testing.T) {
	p := &MainNetParams
	if got := BigToCompact(p.PowLimit); got != p.PowLimitBits {
		t.Errorf("PowLimitBits %08x, BigToCompact(PowLimit) = %08x", p.PowLimitBits, got)
	}
	if got := p.PowLimit.String(); got != mustBig(t, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffff").String() {
		t.Errorf("PowLimit = %s", got)
	}
	if n := int64(p.TargetTimespan / p.TargetSpacing); n != p.RetargetInterval || n != 2016 {
		t.Errorf("TargetTimespan/TargetSpacing = %d, RetargetInterval = %d", n, p.RetargetInterval)
	}
	if p.TargetTimespan%time.Second != 0 || p.MaxFutureBlockTime != 2*time.Hour {
		t.Errorf("TargetTimespan %v, MaxFutureBlockTime %v", p.TargetTimespan, p.MaxFutureBlockTime)
	}
	if got := p.GenesisHeader.Hash(); got != p.GenesisHash || got.String() != genesisHashStr {
		t.Errorf("genesis hashes to %v, GenesisHash %v", got, p.GenesisHash)
	}
	if err := CheckHeaderSanity(&p.GenesisHeader, p); err != nil {
		t.Errorf("genesis fails sanity: %v", err)
	}
}

func FuzzCompact(f *testing.F) {
	for _, tt := range coreCompactTests {
		f.Add(tt.bits)
	}
	for _, bits := range []uint32{0x1d00ffff, 0x1703e8b3, 0x220000ff, 0x22000100, 0x2100ffff, 0x21010000, 0xff7fffff, 0xffffffff, 0x00800000} {
		f.Add(bits)
	}
	f.Fuzz(func(t *testing.T, bits uint32) {
		target, negative, overflow := DecodeCompact(bits)
		full := CompactToBig(bits)
		abs := new(big.Int).Abs(full)

		if target.Sign() < 0 || target.BitLen() > 256 {
			t.Fatalf("%08x: target %x outside [0, 2^256)", bits, target)
		}
		if negative != (full.Sign() < 0) {
			t.Fatalf("%08x: negative flag %v, CompactToBig %x", bits, negative, full)
		}
		if overflow != (abs.BitLen() > 256) {
			t.Fatalf("%08x: overflow flag %v, magnitude has %d bits", bits, overflow, abs.BitLen())
		}
		if reduced := new(big.Int).And(abs, mask256); target.Cmp(reduced) != 0 {
			t.Fatalf("%08x: target %x, CompactToBig mod 2^256 %x", bits, target, reduced)
		}

		// Re-encoding keeps the value and is canonical.
		c := BigToCompact(full)
		if back := CompactToBig(c); back.Cmp(full) != 0 {
			t.Fatalf("%08x: re-encoded as %08x which decodes to %x, want %x", bits, c, back, full)
		}
		if again := BigToCompact(CompactToBig(c)); again != c {
			t.Fatalf("%08x: canonical form %08x re-encodes as %08x", bits, c, again)
		}
		if c&compactSignBit != 0 && !negative {
			t.Fatalf("%08x: positive value re-encoded with the sign bit: %08x", bits, c)
		}

		work := CalcWork(bits)
		if bad := negative || overflow || target.Sign() == 0; bad != (work.Sign() == 0) {
			t.Fatalf("%08x: CalcWork %x for negative=%v overflow=%v target=%x", bits, work, negative, overflow, target)
		}
	})
}
