package chain

import (
	"bytes"
	"math/big"
	"testing"
	"time"
)

// TestMainnetRun checks every header of the consecutive mainnet run
// 822528..830592: encoding, linkage, proof of work, difficulty, median time
// and chainwork.
func TestMainnetRun(t *testing.T) {
	d := loadRun(t)
	p := &MainNetParams
	interval := int(p.RetargetInterval)

	hashes := make([]Hash, len(d.headers))
	retargets, backwards := 0, 0
	for i := range d.headers {
		h := &d.headers[i]
		height := runFirstHeight + i
		if got := h.Serialize(); !bytes.Equal(got[:], d.raw[i]) {
			t.Fatalf("height %d: re-encoding differs\n got %x\nwant %x", height, got, d.raw[i])
		}
		hashes[i] = h.Hash()
		if err := CheckProofOfWork(hashes[i], h.Bits, p.PowLimit); err != nil {
			t.Errorf("height %d: %v", height, err)
		}
		if i == 0 {
			continue
		}
		prev := &d.headers[i-1]
		if h.PrevBlock != hashes[i-1] {
			t.Errorf("height %d: PrevBlock %v, parent hash %v", height, h.PrevBlock, hashes[i-1])
		}
		if h.Timestamp < prev.Timestamp {
			backwards++
		}
		switch {
		case height%interval != 0:
			if h.Bits != prev.Bits {
				t.Errorf("height %d: bits %08x changed inside a period (parent %08x)", height, h.Bits, prev.Bits)
			}
		case i >= interval:
			retargets++
			got := RetargetBits(p, prev.Bits, int64(d.headers[i-interval].Timestamp), int64(prev.Timestamp))
			if got != h.Bits {
				t.Errorf("height %d: RetargetBits = %08x, header has %08x", height, got, h.Bits)
			}
		}
		if i >= p.MedianTimeBlocks {
			c := d.contextAt(i, hashes[i-1])
			if int64(h.Timestamp) <= c.MedianTime {
				t.Errorf("height %d: time %d not after MTP %d", height, h.Timestamp, c.MedianTime)
			}
			now := time.Unix(int64(h.Timestamp), 0)
			if err := CheckHeaderContext(h, p, &c, now); err != nil {
				t.Errorf("height %d: %v", height, err)
			}
		}
	}
	if retargets != 4 {
		t.Errorf("checked %d retargets inside the run, want 4 (824544, 826560, 828576, 830592)", retargets)
	}
	// Real timestamps are not monotonic and must still be accepted.
	if backwards != 21 {
		t.Errorf("%d headers are earlier than their parent, the data README says 21", backwards)
	}
}

// TestMainnetRunChainwork accumulates CalcWork from the checkpoint at 822528
// and compares with the boundary file's chainwork wherever it has a row
// inside the run.
func TestMainnetRunChainwork(t *testing.T) {
	d := loadRun(t)
	rows := loadBoundaries(t)
	byHeight := make(map[int64]*boundaryRow, len(rows))
	for i := range rows {
		byHeight[rows[i].height] = &rows[i]
	}
	start, ok := byHeight[runFirstHeight]
	if !ok {
		t.Fatalf("boundary file has no row for the checkpoint %d", runFirstHeight)
	}
	if !bytes.Equal(start.raw, d.raw[0]) {
		t.Fatalf("boundary file's header %d differs from the run's first header", runFirstHeight)
	}
	cw := new(big.Int).Set(start.chainwork)
	matched := 0
	for i := 1; i < len(d.headers); i++ {
		height := int64(runFirstHeight + i)
		cw.Add(cw, CalcWork(d.headers[i].Bits))
		r, ok := byHeight[height]
		if !ok {
			continue
		}
		matched++
		if !bytes.Equal(r.raw, d.raw[i]) {
			t.Errorf("height %d: boundary file's header differs from the run's", height)
		}
		if cw.Cmp(r.chainwork) != 0 {
			t.Errorf("height %d: accumulated chainwork %064x, file has %064x", height, cw, r.chainwork)
		}
	}
	// 824543/824544, 826559/826560, 828575/828576, 830591/830592.
	if matched != 8 {
		t.Errorf("compared chainwork at %d heights, want 8", matched)
	}
}

// TestMainnetRetargetBoundaries replays every retarget up to 832608 from
// the boundary file and checks the chainwork values it carries.
func TestMainnetRetargetBoundaries(t *testing.T) {
	rows := loadBoundaries(t)
	p := &MainNetParams
	interval := p.RetargetInterval
	if len(rows) != 827 {
		t.Fatalf("boundary file has %d rows, want 827", len(rows))
	}
	byHeight := make(map[int64]*boundaryRow, len(rows))
	for i := range rows {
		r := &rows[i]
		byHeight[r.height] = r
		if got := r.header.Serialize(); !bytes.Equal(got[:], r.raw) {
			t.Errorf("height %d: re-encoding differs", r.height)
		}
		if err := CheckProofOfWork(r.header.Hash(), r.header.Bits, p.PowLimit); err != nil {
			t.Errorf("height %d: %v", r.height, err)
		}
		// Every nBits on the chain is canonical: decoding and
		// re-encoding gives it back.
		if got := BigToCompact(CompactToBig(r.header.Bits)); got != r.header.Bits {
			t.Errorf("height %d: bits %08x re-encode as %08x", r.height, r.header.Bits, got)
		}
	}

	genesis := byHeight[0]
	if genesis == nil {
		t.Fatal("boundary file has no genesis row")
	}
	if genesis.header != p.GenesisHeader {
		t.Errorf("genesis header %+v, MainNetParams has %+v", genesis.header, p.GenesisHeader)
	}
	if got := genesis.header.Hash(); got != p.GenesisHash {
		t.Errorf("genesis hash %v, want %v", got, p.GenesisHash)
	}
	if w := CalcWork(genesis.header.Bits); genesis.chainwork.Cmp(w) != 0 {
		t.Errorf("genesis chainwork %x, CalcWork gives %x", genesis.chainwork, w)
	}

	timespan := p.targetTimespanSeconds()
	retargets, capped, clamped := 0, 0, 0
	for k := int64(1); ; k++ {
		h := k * interval
		first, last, next := byHeight[h-interval], byHeight[h-1], byHeight[h]
		if next == nil {
			break
		}
		if first == nil || last == nil {
			t.Fatalf("boundary file lacks height %d or %d", h-interval, h-1)
		}
		if next.header.PrevBlock != last.header.Hash() {
			t.Errorf("height %d does not link to %d", h, h-1)
		}
		if last.header.Bits != first.header.Bits {
			t.Errorf("bits changed inside the period %d..%d", h-interval, h-1)
		}
		firstTime, lastTime := int64(first.header.Timestamp), int64(last.header.Timestamp)
		got := RetargetBits(p, last.header.Bits, firstTime, lastTime)
		if got != next.header.Bits {
			t.Errorf("height %d: RetargetBits(%08x, %d, %d) = %08x, chain has %08x",
				h, last.header.Bits, firstTime, lastTime, got, next.header.Bits)
		}
		retargets++

		actual := lastTime - firstTime
		if actual < timespan/4 || actual > timespan*4 {
			clamped++
			if h != 68544 || last.header.Bits != 0x1c05a3f4 || got != 0x1c0168fd {
				t.Errorf("unexpected clamp at %d: %08x -> %08x", h, last.header.Bits, got)
			}
		}
		uncapped := CompactToBig(last.header.Bits)
		uncapped.Mul(uncapped, big.NewInt(min(max(actual, timespan/4), timespan*4)))
		uncapped.Quo(uncapped, big.NewInt(timespan))
		if uncapped.Cmp(p.PowLimit) > 0 {
			capped++
			if got != p.PowLimitBits {
				t.Errorf("height %d: capped retarget gave %08x, want %08x", h, got, p.PowLimitBits)
			}
		}

		// Chainwork across the boundary pair, and across the period.
		if diff := new(big.Int).Sub(next.chainwork, last.chainwork); diff.Cmp(CalcWork(next.header.Bits)) != 0 {
			t.Errorf("height %d: cw(h)-cw(h-1) = %x, want work %x", h, diff, CalcWork(next.header.Bits))
		}
		want := new(big.Int).Mul(big.NewInt(interval-1), CalcWork(first.header.Bits))
		want.Add(want, first.chainwork)
		want.Add(want, CalcWork(next.header.Bits))
		if want.Cmp(next.chainwork) != 0 {
			t.Errorf("height %d: cw = %064x, cw(%d)+2015*work+work gives %064x",
				h, next.chainwork, h-interval, want)
		}
	}
	if retargets != 413 {
		t.Errorf("checked %d retargets, want 413", retargets)
	}
	if clamped != 1 {
		t.Errorf("%d retargets hit the 4x clamp, want 1 (68544)", clamped)
	}
	if capped != 15 {
		t.Errorf("%d retargets were capped at the proof-of-work limit, want 15", capped)
	}
}

// BenchmarkHeaderChainCheck validates the real run the way a headers-first
// sync would: hash, proof of work, then the contextual checks against the
// parent (linkage, difficulty, median time, future limit).
func BenchmarkHeaderChainCheck(b *testing.B) {
	d := loadRun(b)
	p := &MainNetParams
	first := p.MedianTimeBlocks
	now := time.Unix(int64(d.headers[len(d.headers)-1].Timestamp), 0)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		prevHash := d.headers[first-1].Hash()
		for i := first; i < len(d.headers); i++ {
			h := &d.headers[i]
			hash := h.Hash()
			if err := CheckProofOfWork(hash, h.Bits, p.PowLimit); err != nil {
				b.Fatal(err)
			}
			c := d.contextAt(i, prevHash)
			if err := CheckHeaderContext(h, p, &c, now); err != nil {
				b.Fatal(err)
			}
			prevHash = hash
		}
	}
	n := float64(len(d.headers)-first) * float64(b.N)
	b.ReportMetric(n/b.Elapsed().Seconds(), "headers/s")
}
