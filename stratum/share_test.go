package stratum

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"testing"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/hash/sha256d"
)

// TestShareHeaderRealMainnet rebuilds real mainnet headers from their
// Stratum encodings: a notify line carrying prevhash word-swapped and
// version, nbits and ntime as hex, and a submit line carrying ntime and
// nonce as hex; only the merkle root is taken as is (the coinbases are not
// in the data).
func TestShareHeaderRealMainnet(t *testing.T) {
	f, err := os.Open("testdata/mainnet-headers-822528-822530.hex")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	i := 0
	for ; sc.Scan(); i++ {
		raw, err := hex.DecodeString(sc.Text())
		if err != nil {
			t.Fatal(err)
		}
		var want chain.Header
		if err := want.UnmarshalBinary(raw); err != nil {
			t.Fatal(err)
		}
		notify := fmt.Sprintf(`{"id":null,"method":"mining.notify","params":["j","%s","00","00",[],"%08x","%08x","%08x",true]}`,
			EncodePrevHash(want.PrevBlock), uint32(want.Version), want.Bits, want.Timestamp)
		submit := fmt.Sprintf(`{"id":4,"method":"mining.submit","params":["w","j","00000000","%08x","%08x"]}`,
			want.Timestamp, want.Nonce)
		var n NotifyParams
		var s SubmitParams
		decodeLine(t, notify, &n)
		decodeLine(t, submit, &s)
		got := n.BuildHeader(want.MerkleRoot, n.Version, s.NTime, s.Nonce)
		if b := got.Serialize(); hex.EncodeToString(b[:]) != sc.Text() {
			t.Fatalf("header %d:\n got %x\nwant %s", i, b, sc.Text())
		}
		if got.Hash() != sha256d.DoubleSum(raw) {
			t.Fatalf("header %d: hash differs", i)
		}
		// ckpool's flip_80 cross-check: every word byte-swapped gives
		// version hex || prevhash wire hex || root || ntime || nbits || nonce.
		var flipped [80]byte
		for w := 0; w < 80; w += 4 {
			binary.BigEndian.PutUint32(flipped[w:], binary.LittleEndian.Uint32(raw[w:]))
		}
		wantPrefix := fmt.Sprintf("%08x%s", uint32(want.Version), EncodePrevHash(want.PrevBlock))
		if hex.EncodeToString(flipped[:36]) != wantPrefix {
			t.Fatalf("flip_80 prefix %x, want %s", flipped[:36], wantPrefix)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if i != 3 {
		t.Fatalf("read %d headers, want 3", i)
	}
}

func decodeLine(t *testing.T, line string, p decodable) {
	t.Helper()
	m, err := ParseMessage([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Decode(m.Params); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
}

// TestBlock286819 checks the notes' public example (Ken Shirriff's block
// 286819): prevhash wire form, header bytes and hash.
func TestBlock286819(t *testing.T) {
	prev, _ := chain.NewHashFromStr("000000000000000117c80378b8da0e33559b5997f2ad55e2f7d18ec1975b9717")
	root, _ := chain.NewHashFromStr("871714dcbae6c8193a2bb9b2a69fe1c0440399f38d94b3a0f1b447275a29978a")
	const wire = "975b9717f7d18ec1f2ad55e2559b5997b8da0e3317c803780000000100000000"
	if got := EncodePrevHash(prev); got != wire {
		t.Fatalf("EncodePrevHash = %s, want %s", got, wire)
	}
	if back, err := DecodePrevHash(wire); err != nil || back != prev {
		t.Fatalf("DecodePrevHash = %v, %v", back, err)
	}
	n := NotifyParams{PrevHash: prev, Version: 2, Bits: 0x19015f53, Time: 0x53058b35}
	h := n.BuildHeader(root, n.Version, 0x53058b35, 0x33087548)
	b := h.Serialize()
	if got := hex.EncodeToString(b[:]); got != "0200000017975b97c18ed1f7e255adf297599b55330edab87803c81701000000000000008a97295a2747b4f1a0b3948df3990344c0e19fa6b2b92b3a19c8e6badc141787358b0553535f011948750833" {
		t.Fatalf("header %s", got)
	}
	hash := h.Hash()
	if hash.String() != "0000000000000000e067a478024addfecdc93628978aa52d91fabd4292982a50" {
		t.Fatalf("hash %s", hash)
	}
	if d := HashDifficulty(hash); d < 4.8995e9 || d > 4.8997e9 {
		t.Fatalf("share difficulty %g, want 4.8996e9", d)
	}
}

// TestShareHeaderSynthetic builds a block of 7 transactions whose
// coinbase is coinb1 || e1 || e2 || coinb2, sends its branch through a
// notify line, and checks ShareHeader's root against chain.MerkleRoot
// over all txids; then checks that a changed extranonce2 byte or ignored
// version bits change the header hash.
func TestShareHeaderSynthetic(t *testing.T) {
	coinb1, _ := hex.DecodeString("01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff2003a0d20c")
	coinb2, _ := hex.DecodeString("ffffffff0100f2052a010000001976a914000000000000000000000000000000000000000088ac00000000")
	e1 := []byte{0x08, 0x00, 0x00, 0x02}
	e2 := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	coinbase := append(append(append(append([]byte(nil), coinb1...), e1...), e2...), coinb2...)
	ids := make([]chain.Hash, 7)
	ids[0] = sha256d.DoubleSum(coinbase)
	for i := 1; i < len(ids); i++ {
		ids[i] = sha256d.DoubleSum([]byte{byte(i)})
	}
	wantRoot, _ := chain.MerkleRoot(ids)
	job := NotifyParams{JobID: "7", PrevHash: ids[3], Coinb1: coinb1, Coinb2: coinb2,
		MerkleBranch: chain.CoinbaseMerkleBranch(ids), Version: 0x20000000, Bits: 0x1d00ffff, Time: 1700000000}
	var n NotifyParams
	decodeLine(t, string(AppendNotification(nil, &job)), &n)
	sub := SubmitParams{Worker: "w", JobID: "7", Extranonce2: e2, NTime: 1700000001, Nonce: 42,
		VersionBits: 0x00006000, HasVersionBits: true}
	var s SubmitParams
	decodeLine(t, string(AppendRequest(nil, []byte("4"), &sub)), &s)

	h, err := n.ShareHeader(e1, &s, DefaultVersionRollingMask)
	if err != nil {
		t.Fatal(err)
	}
	want := chain.Header{Version: 0x20006000, PrevBlock: ids[3], MerkleRoot: wantRoot, Timestamp: 1700000001,
		Bits: 0x1d00ffff, Nonce: 42}
	if h != want {
		t.Fatalf("ShareHeader:\n got %+v\nwant %+v", h, want)
	}
	// Negative cases: one extranonce2 byte changed, version bits ignored.
	s2 := s
	s2.Extranonce2 = []byte{2, 0, 0, 0, 0, 0, 0, 0}
	if h2, _ := n.ShareHeader(e1, &s2, DefaultVersionRollingMask); h2.Hash() == h.Hash() {
		t.Fatal("changed extranonce2 gives the same hash")
	}
	s3 := s
	s3.HasVersionBits = false
	if h3, _ := n.ShareHeader(e1, &s3, DefaultVersionRollingMask); h3.Hash() == h.Hash() {
		t.Fatal("ignoring version bits gives the same hash")
	}
	// Bits outside the mask are refused with code 33.
	s4 := s
	s4.VersionBits = 0x40000000
	_, err = n.ShareHeader(e1, &s4, DefaultVersionRollingMask)
	if se, ok := err.(*Error); !ok || se.Code != CodeInvalidVersionMask {
		t.Fatalf("bits outside mask: %v", err)
	}
}

func TestRollVersion(t *testing.T) {
	tests := []struct{ job, bits, mask, want uint32 }{
		{0x20000000, 0x1fffe000, 0x1fffe000, 0x3fffe000},
		{0x20000000, 0, 0x1fffe000, 0x20000000},
		{0x3fffffff, 0x00002000, 0x1fffe000, 0x20003fff}, // job bits under the mask are replaced
		{0x20000000, 0x00c00000, 0x00c00000, 0x20c00000},
	}
	for _, tc := range tests {
		if got, err := RollVersion(tc.job, tc.bits, tc.mask); err != nil || got != tc.want {
			t.Errorf("RollVersion(%08x, %08x, %08x) = %08x, %v; want %08x", tc.job, tc.bits, tc.mask, got, err, tc.want)
		}
	}
	if _, err := RollVersion(0x20000000, 1, 0); err == nil {
		t.Error("bits with a zero mask accepted")
	}
}

func TestDecodePrevHashErrors(t *testing.T) {
	for _, s := range []string{"", "00", "975b9717f7d18ec1f2ad55e2559b5997b8da0e3317c80378000000010000000", "975b9717f7d18ec1f2ad55e2559b5997b8da0e3317c80378000000010000000g"} {
		if _, err := DecodePrevHash(s); err == nil {
			t.Errorf("DecodePrevHash(%q) accepted", s)
		}
	}
}

// TestShareHasher: ShareHasher.ShareHeader from a CoinbasePrefix gives
// NotifyParams.ShareHeader's header for coinb1 of every length around
// the SHA-256 block boundaries, and the synthetic vector above.
func TestShareHasher(t *testing.T) {
	sh := NewShareHasher()
	e1 := []byte{8, 0, 0, 2}
	branch := []chain.Hash{sha256d.DoubleSum([]byte{1}), sha256d.DoubleSum([]byte{2})}
	for n := range 3*64 + 2 {
		coinb1 := make([]byte, n)
		for i := range coinb1 {
			coinb1[i] = byte(i*7 + n)
		}
		job := NotifyParams{Coinb1: coinb1, Coinb2: []byte{byte(n), 0, 0, 0}, MerkleBranch: branch, Version: 0x20000000, Bits: 0x1d00ffff}
		prefix := NewCoinbasePrefix(coinb1)
		for e2n := range 3 {
			s := SubmitParams{Extranonce2: []byte{byte(e2n), 1, 2, 3}, NTime: 5, Nonce: uint32(n), VersionBits: 0x2000, HasVersionBits: e2n == 1}
			want, err := job.ShareHeader(e1, &s, DefaultVersionRollingMask)
			if err != nil {
				t.Fatal(err)
			}
			got, err := sh.ShareHeader(&job, prefix, e1, &s, DefaultVersionRollingMask)
			if err != nil || got != want {
				t.Fatalf("coinb1 of %d bytes, extranonce2 %x: %+v, %v\nwant %+v", n, s.Extranonce2, got, err, want)
			}
		}
	}
	s := SubmitParams{Extranonce2: []byte{1, 2, 3, 4}, VersionBits: 0x40000000, HasVersionBits: true}
	job := NotifyParams{Coinb1: []byte{1}}
	if _, err := sh.ShareHeader(&job, NewCoinbasePrefix(job.Coinb1), e1, &s, DefaultVersionRollingMask); err == nil {
		t.Error("version bits outside the mask accepted")
	}
}

func TestShareHasherNoAllocs(t *testing.T) {
	coinb1 := make([]byte, 200*29+3) // a coinbase of 200 payouts
	job := NotifyParams{Coinb1: coinb1, Coinb2: make([]byte, 4)}
	prefix := NewCoinbasePrefix(coinb1)
	sh := NewShareHasher()
	s := SubmitParams{Extranonce2: []byte{1, 2, 3, 4}}
	e1 := []byte{1, 2, 3, 4}
	if n := testing.AllocsPerRun(100, func() { sh.ShareHeader(&job, prefix, e1, &s, 0) }); n != 0 {
		t.Fatalf("ShareHeader allocates %v times", n)
	}
}

// FuzzShareHasher compares ShareHasher.ShareHeader with
// NotifyParams.ShareHeader on arbitrary coinbase parts.
func FuzzShareHasher(f *testing.F) {
	f.Add(make([]byte, 63), []byte{1, 2, 3, 4}, []byte{5, 6, 7, 8}, []byte{0, 0, 0, 0}, uint32(0))
	f.Add(make([]byte, 5801), []byte{1, 2, 3, 4}, []byte{5, 6}, []byte{}, uint32(0x1fffe000))
	f.Fuzz(func(t *testing.T, coinb1, e1, e2, coinb2 []byte, vbits uint32) {
		job := NotifyParams{Coinb1: coinb1, Coinb2: coinb2, MerkleBranch: []chain.Hash{{1}}, Version: 0x20000000}
		s := SubmitParams{Extranonce2: e2, VersionBits: vbits, HasVersionBits: vbits != 0}
		want, werr := job.ShareHeader(e1, &s, DefaultVersionRollingMask)
		got, gerr := NewShareHasher().ShareHeader(&job, NewCoinbasePrefix(coinb1), e1, &s, DefaultVersionRollingMask)
		if got != want || (werr == nil) != (gerr == nil) {
			t.Fatalf("got %+v, %v; want %+v, %v", got, gerr, want, werr)
		}
	})
}
