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

// TestAddProposerEvidence: Finality slashes an equivocating proposer
// once, refuses evidence that proves nothing, an unknown key and a key
// slashed already (for a vote or a seal) with AddEvidence's codes and no
// change, and refuses the slashed proposer's later votes.
func TestAddProposerEvidence(t *testing.T) {
	f := newTestFinality(t, 10, 20)
	seal := func(i int, slot uint64, h chain.Hash) chain.SignedHeader {
		_, priv := testKey(i)
		s, err := NewSeal(priv, testNetwork, slot, h, Reveal{})
		if err != nil {
			t.Fatal(err)
		}
		return s.Header(h)
	}
	ev := chain.NewProposerEvidence(seal(0, 7, chain.Hash{1}), seal(0, 7, chain.Hash{2}))
	badSig := ev
	badSig.A.Signature[0] ^= 1
	for name, x := range map[string]chain.ProposerEvidence{
		"bad signature": badSig,
		"two slots":     chain.NewProposerEvidence(seal(0, 7, chain.Hash{1}), seal(0, 8, chain.Hash{2})),
		"two proposers": chain.NewProposerEvidence(seal(0, 7, chain.Hash{1}), seal(1, 7, chain.Hash{2})),
		"same header":   {A: ev.A, B: ev.A},
		"not canonical": {A: ev.B, B: ev.A},
	} {
		before := state(f)
		if err := f.AddProposerEvidence(x); codeOf(err) != ErrInvalidEvidence || state(f) != before {
			t.Fatalf("%s: %v, want ErrInvalidEvidence and no change", name, err)
		}
	}
	outsider := chain.NewProposerEvidence(seal(99, 7, chain.Hash{1}), seal(99, 7, chain.Hash{2}))
	if err := f.AddProposerEvidence(outsider); codeOf(err) != ErrUnknownValidator {
		t.Fatalf("outsider: %v", err)
	}
	if err := f.AddProposerEvidence(ev); err != nil || !f.Slashed(ev.Proposer()) {
		t.Fatalf("%v, slashed %v", err, f.Slashed(ev.Proposer()))
	}
	before := state(f)
	if err := f.AddProposerEvidence(ev); codeOf(err) != ErrSlashedValidator || state(f) != before {
		t.Fatalf("replay: %v", err)
	}
	if err := f.AddEvidence(chain.NewEvidence(vote(t, 0, 0, 2), vote(t, 0, 1, 2))); codeOf(err) != ErrSlashedValidator {
		t.Fatalf("a double vote of the slashed proposer: %v", err)
	}
	if err := f.AddVote(vote(t, 0, 0, 1)); codeOf(err) != ErrSlashedValidator {
		t.Fatalf("vote of a slashed proposer: %v", err)
	}
}
