package node

import (
	"crypto/ed25519"
	"testing"

	"github.com/powmine/powmine/chain"
)

// voteKey returns the ed25519 key of seed byte i.
func voteKey(i byte) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	seed[0] = i
	return ed25519.NewKeyFromSeed(seed)
}

// signedVote returns priv's vote from source to target epoch, for the
// checkpoint hashes hash (the same byte for both), on p's network.
func signedVote(t *testing.T, p *chain.Params, priv ed25519.PrivateKey, source, target uint64, hash byte) chain.Vote {
	t.Helper()
	v := chain.Vote{Source: chain.Checkpoint{Epoch: source, Hash: chain.Hash{hash}}, Target: chain.Checkpoint{Epoch: target, Hash: chain.Hash{hash, 1}}}
	if err := v.Sign(priv, p.GenesisHash); err != nil {
		t.Fatal(err)
	}
	return v
}

// voteWatchOf returns a watch on a copy of DevParams whose registered keys
// are those of keys.
func voteWatchOf(keys ...ed25519.PrivateKey) (*VoteWatch, *chain.Params) {
	p := chain.DevParams
	set := map[chain.PublicKey]bool{}
	for _, k := range keys {
		set[chain.PublicKey(k.Public().(ed25519.PublicKey))] = true
	}
	return NewVoteWatch(&p, func(k chain.PublicKey) bool { return set[k] }), &p
}

// TestVoteWatch: double votes and surround votes in both orders are
// reported once, in canonical form and verifying; a vote shown twice, a
// vote of another key, votes that break no condition, a bad signature and
// an unregistered key are not.
func TestVoteWatch(t *testing.T) {
	a, b, stranger := voteKey(1), voteKey(2), voteKey(3)
	for _, tc := range []struct {
		name        string
		first, then [3]uint64 // source, target, hash byte
		want        chain.Offence
	}{
		{"double vote", [3]uint64{0, 5, 1}, [3]uint64{0, 5, 2}, chain.DoubleVote},
		{"double vote, other source", [3]uint64{1, 5, 1}, [3]uint64{3, 5, 1}, chain.DoubleVote},
		{"new vote surrounds", [3]uint64{2, 4, 1}, [3]uint64{1, 5, 1}, chain.SurroundVote},
		{"new vote surrounded", [3]uint64{1, 5, 1}, [3]uint64{2, 4, 1}, chain.SurroundVote},
		{"shared source", [3]uint64{0, 3, 1}, [3]uint64{0, 2, 1}, chain.NoOffence},
		{"chained", [3]uint64{0, 1, 1}, [3]uint64{1, 2, 1}, chain.NoOffence},
		{"same vote", [3]uint64{0, 5, 1}, [3]uint64{0, 5, 1}, chain.NoOffence},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, p := voteWatchOf(a, b)
			first := signedVote(t, p, a, tc.first[0], tc.first[1], byte(tc.first[2]))
			then := signedVote(t, p, a, tc.then[0], tc.then[1], byte(tc.then[2]))
			other := signedVote(t, p, b, tc.then[0], tc.then[1], 9)
			if ev := w.Observe([]chain.Vote{first, other}, 5); len(ev) != 0 {
				t.Fatalf("first votes: evidence %+v", ev)
			}
			ev := w.Observe([]chain.Vote{then}, 5)
			if tc.want == chain.NoOffence {
				if len(ev) != 0 {
					t.Fatalf("evidence %+v", ev)
				}
				return
			}
			if len(ev) != 1 || ev[0].Offence() != tc.want || ev[0] != chain.NewEvidence(first, then) {
				t.Fatalf("evidence %+v, want one %v", ev, tc.want)
			}
			if err := ev[0].Verify(p.GenesisHash); err != nil {
				t.Fatal(err)
			}
			// Once per offender: another offence, or the same shown
			// again, is not reported.
			again := signedVote(t, p, a, tc.then[0], tc.then[1], 7)
			if ev := w.Observe([]chain.Vote{then, again}, 5); len(ev) != 0 {
				t.Fatalf("reported again: %+v", ev)
			}
		})
	}

	t.Run("one batch", func(t *testing.T) {
		w, p := voteWatchOf(a)
		x, y, z := signedVote(t, p, a, 0, 5, 1), signedVote(t, p, a, 0, 5, 2), signedVote(t, p, a, 0, 5, 3)
		if ev := w.Observe([]chain.Vote{x, y, z}, 5); len(ev) != 1 || ev[0] != chain.NewEvidence(x, y) {
			t.Fatalf("evidence %+v", ev)
		}
	})
	t.Run("bad signature", func(t *testing.T) {
		w, p := voteWatchOf(a)
		forged := signedVote(t, p, a, 0, 5, 1)
		forged.Target.Hash[5] ^= 1 // the signature no longer covers it
		if ev := w.Observe([]chain.Vote{forged}, 5); len(ev) != 0 {
			t.Fatal(ev)
		}
		// The forgery was not remembered: the real vote is no offence.
		if ev := w.Observe([]chain.Vote{signedVote(t, p, a, 0, 5, 2)}, 5); len(ev) != 0 {
			t.Fatalf("a forged vote was remembered: %+v", ev)
		}
		// Nor does a forgery report the real vote.
		forged = signedVote(t, p, a, 0, 5, 3)
		forged.Signature[0] ^= 1
		if ev := w.Observe([]chain.Vote{forged}, 5); len(ev) != 0 {
			t.Fatalf("a forged vote made evidence: %+v", ev)
		}
	})
	t.Run("unregistered", func(t *testing.T) {
		w, p := voteWatchOf(a)
		if ev := w.Observe([]chain.Vote{signedVote(t, p, stranger, 0, 5, 1), signedVote(t, p, stranger, 0, 5, 2)}, 5); len(ev) != 0 {
			t.Fatal(ev)
		}
		if len(w.keys) != 0 {
			t.Fatalf("remembers %d keys", len(w.keys))
		}
	})
	t.Run("no stake", func(t *testing.T) {
		p := chain.DevParams
		p.EpochLength = 0
		w := NewVoteWatch(&p, func(chain.PublicKey) bool { return true })
		if w != nil || w.Observe([]chain.Vote{{}}, 0) != nil {
			t.Fatal("a watch without stake")
		}
	})
}

// TestVoteWatchBound: votes outside the window of target epochs are
// ignored and forgotten as it moves (so their offences are not seen),
// each key keeps one vote per target epoch, and no more keys than
// Params.MaxValidators are remembered.
func TestVoteWatchBound(t *testing.T) {
	a := voteKey(1)
	w, p := voteWatchOf(a)
	const current = 100
	for _, target := range []uint64{current + 2, current - VoteWatchEpochs} {
		w.Observe([]chain.Vote{signedVote(t, p, a, 0, target, 1)}, current)
		if ev := w.Observe([]chain.Vote{signedVote(t, p, a, 0, target, 2)}, current); len(ev) != 0 || len(w.keys) != 0 {
			t.Fatalf("target %d outside the window: evidence %+v, %d keys", target, ev, len(w.keys))
		}
	}
	// The oldest and the newest target epoch of the window, and each
	// epoch between: one vote each, chained so that none is an offence.
	for target := uint64(current + 1 - VoteWatchEpochs); target <= current+1; target++ {
		if ev := w.Observe([]chain.Vote{signedVote(t, p, a, target-1, target, 1)}, current); len(ev) != 0 {
			t.Fatalf("target %d: %+v", target, ev)
		}
	}
	if n := len(w.keys[chain.PublicKey(a.Public().(ed25519.PublicKey))].votes); n != VoteWatchEpochs+1 {
		t.Fatalf("%d votes remembered, want %d", n, VoteWatchEpochs+1)
	}
	// The window moves on by one epoch: the oldest vote is forgotten when
	// the key's next vote comes, and a double vote against it is missed.
	oldest := uint64(current + 1 - VoteWatchEpochs)
	w.Observe([]chain.Vote{signedVote(t, p, a, current+1, current+2, 1)}, current+1)
	if n := len(w.keys[chain.PublicKey(a.Public().(ed25519.PublicKey))].votes); n != VoteWatchEpochs+1 {
		t.Fatalf("%d votes remembered after the window moved, want %d", n, VoteWatchEpochs+1)
	}
	if ev := w.Observe([]chain.Vote{signedVote(t, p, a, oldest-1, oldest, 2)}, current+1); len(ev) != 0 {
		t.Fatalf("a vote out of the window was compared: %+v", ev)
	}
	// The newest is still there.
	if ev := w.Observe([]chain.Vote{signedVote(t, p, a, current, current+2, 2)}, current+1); len(ev) != 1 {
		t.Fatalf("double vote at the window's end: %+v", ev)
	}

	t.Run("keys", func(t *testing.T) {
		q := chain.DevParams
		q.MaxValidators = 3
		w := NewVoteWatch(&q, func(chain.PublicKey) bool { return true })
		for i := range byte(5) {
			w.Observe([]chain.Vote{signedVote(t, &q, voteKey(10+i), 0, 5, 1)}, 5)
		}
		if len(w.keys) != q.MaxValidators {
			t.Fatalf("%d keys, want %d", len(w.keys), q.MaxValidators)
		}
		// A key that did not fit is not watched; one that did is.
		if ev := w.Observe([]chain.Vote{signedVote(t, &q, voteKey(14), 0, 5, 2)}, 5); len(ev) != 0 {
			t.Fatalf("a key over the bound was remembered: %+v", ev)
		}
		if ev := w.Observe([]chain.Vote{signedVote(t, &q, voteKey(10), 0, 5, 2)}, 5); len(ev) != 1 {
			t.Fatalf("a remembered key's double vote: %+v", ev)
		}
		// Once the window has passed its votes, a key gives way to a new one.
		if ev := w.Observe([]chain.Vote{signedVote(t, &q, voteKey(14), 0, 60, 1)}, 60); len(ev) != 0 || len(w.keys) != 1 {
			t.Fatalf("after the window moved: evidence %+v, %d keys", ev, len(w.keys))
		}
	})
}
