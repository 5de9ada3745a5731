package pos

import (
	"bytes"
	"slices"
	"testing"

	"github.com/powmine/powmine/chain"
)

// sealEvidence returns the evidence that slot's proposer sealed two
// headers.
func sealEvidence(t testing.TB, s *sealSetup, slot uint64) ProposerEvidence {
	t.Helper()
	a, b := chain.Hash{0xaa}, chain.Hash{0xbb}
	sa, sb := s.seal(t, slot, a), s.seal(t, slot, b)
	return NewProposerEvidence(sb.Header(b), sa.Header(a))
}

func TestProposerEvidence(t *testing.T) {
	s := newSealSetup(t, 6, chain.Hash{0xe0})
	const slot = 40
	ev := sealEvidence(t, s, slot)
	if ev.A.HeaderHash != (chain.Hash{0xaa}) {
		t.Fatal("NewProposerEvidence did not order the headers")
	}
	if err := ev.Verify(sealNetwork); err != nil {
		t.Fatal(err)
	}
	if !ev.A.Verify(sealNetwork) || ev.A.Verify(chain.Hash{3}) {
		t.Fatal("SignedHeader.Verify")
	}
	p := s.schedule(t, slot).Proposer(slot)
	other := s.notProposer(t, slot)
	sameHeader := ev
	sameHeader.B = ev.A
	resigned := s.seal(t, slot, ev.A.HeaderHash) // ed25519 is deterministic: the same signature
	sameHeaderResigned := ev
	sameHeaderResigned.B = resigned.Header(ev.A.HeaderHash)
	otherSlot := NewProposerEvidence(ev.A, s.sealBy(t, p, slot+1, chain.Hash{0xbb}).Header(chain.Hash{0xbb}))
	otherProposer := NewProposerEvidence(ev.A, s.sealBy(t, other, slot, chain.Hash{0xbb}).Header(chain.Hash{0xbb}))
	badSig := ev
	badSig.B.Signature[0] ^= 1
	swapped := ProposerEvidence{A: ev.B, B: ev.A}
	for _, c := range []struct {
		name    string
		ev      ProposerEvidence
		network chain.Hash
	}{
		{"same header", sameHeader, sealNetwork},
		{"same header sealed again", sameHeaderResigned, sealNetwork},
		{"different slots", otherSlot, sealNetwork},
		{"different proposers", otherProposer, sealNetwork},
		{"bad signature", badSig, sealNetwork},
		{"another network", ev, chain.Hash{3}},
		{"not canonical", swapped, sealNetwork},
	} {
		if err := c.ev.Verify(c.network); sealCode(err) != ErrInvalidEvidence {
			t.Errorf("%s: %v, want ErrInvalidEvidence", c.name, err)
		}
	}
}

func TestProposerEvidenceEncoding(t *testing.T) {
	s := newSealSetup(t, 3, chain.Hash{0xe1})
	ev := sealEvidence(t, s, 9)
	b, err := ev.MarshalBinary()
	if err != nil || len(b) != ProposerEvidenceSize || ProposerEvidenceSize != 273 {
		t.Fatalf("%d bytes, %v", len(b), err)
	}
	var d ProposerEvidence
	if err := d.UnmarshalBinary(b); err != nil || d != ev {
		t.Fatalf("round trip: %v", err)
	}
	swapped := append(append([]byte{1}, b[1+signedHeaderSize:]...), b[1:1+signedHeaderSize]...)
	same := append(append([]byte{1}, b[1:1+signedHeaderSize]...), b[1:1+signedHeaderSize]...)
	version := slices.Clone(b)
	version[0] = 0
	for name, in := range map[string][]byte{
		"empty": nil, "short": b[:len(b)-1], "long": append(slices.Clone(b), 1),
		"version": version, "swapped": swapped, "same header": same,
	} {
		before := d
		if err := d.UnmarshalBinary(in); sealCode(err) != ErrMalformed || d != before {
			t.Errorf("%s: %v, want ErrMalformed and no change", name, err)
		}
	}
}

// FuzzProposerEvidence decodes arbitrary bytes as proposer evidence: no
// panic, re-encoding gives the same bytes, every error is typed, and
// evidence that verifies accuses the one key that really equivocated.
func FuzzProposerEvidence(f *testing.F) {
	s := newSealSetup(f, 4, chain.Hash{0xf0}) // as in TestWriteSealCorpus
	ev := sealEvidence(f, s, 60)
	b, _ := ev.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		var d ProposerEvidence
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
		err := d.Verify(sealNetwork)
		if err != nil && sealCode(err) != ErrInvalidEvidence {
			t.Fatalf("untyped error %v", err)
		}
		if err == nil && (d.A.Proposer != ev.A.Proposer || d.A.Slot != ev.A.Slot) {
			t.Fatal("evidence against a key that did not equivocate verified")
		}
	})
}
