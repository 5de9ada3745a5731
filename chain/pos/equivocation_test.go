package pos

import (
	"errors"
	"testing"

	"github.com/powmine/powmine/chain"
)

// sealEvidence returns the evidence that slot's proposer sealed two
// headers.
func sealEvidence(t testing.TB, s *sealSetup, slot uint64) chain.ProposerEvidence {
	t.Helper()
	a, b := chain.Hash{0xaa}, chain.Hash{0xbb}
	sa, sb := s.seal(t, slot, a), s.seal(t, slot, b)
	return chain.NewProposerEvidence(sb.Header(b), sa.Header(a))
}

// TestProposerEvidence checks chain.ProposerEvidence against real seals:
// the seal's signature (Seal.Header) is what the evidence verifies, and
// each way evidence can fail to prove an equivocation is refused with
// chain.ErrInvalidEvidence.
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
	otherSlot := chain.NewProposerEvidence(ev.A, s.sealBy(t, p, slot+1, chain.Hash{0xbb}).Header(chain.Hash{0xbb}))
	otherProposer := chain.NewProposerEvidence(ev.A, s.sealBy(t, other, slot, chain.Hash{0xbb}).Header(chain.Hash{0xbb}))
	badSig := ev
	badSig.B.Signature[0] ^= 1
	swapped := chain.ProposerEvidence{A: ev.B, B: ev.A}
	for _, c := range []struct {
		name    string
		ev      chain.ProposerEvidence
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
		var re chain.RuleError
		if err := c.ev.Verify(c.network); !errors.As(err, &re) || re.Code != chain.ErrInvalidEvidence {
			t.Errorf("%s: %v, want ErrInvalidEvidence", c.name, err)
		}
	}
}
