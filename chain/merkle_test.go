package chain

import (
	"fmt"
	"testing"
)

// mustHash parses a hash in display form.
func mustHash(tb testing.TB, s string) Hash {
	tb.Helper()
	h, err := NewHashFromStr(s)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// TestMerkleRootBlock100000 checks Bitcoin mainnet block 100000: its four
// txids and the merkle root in its header, in display order.
func TestMerkleRootBlock100000(t *testing.T) {
	ids := []Hash{
		mustHash(t, "8c14f0db3df150123e6f3dbbf30f8b955a8249b62ac1d1ff16284aefa3d06d87"),
		mustHash(t, "fff2525b8931402dd09222c50775608f75787bd2b87e56995a7bdd30f79702c4"),
		mustHash(t, "6359f0868171b1d194cbee1af2f16ea598ae8fad666d9b012c8ed2b79a236ec4"),
		mustHash(t, "e9a66845e05d5abc0ad04ec80f774a7e585c6e8db975962d069a522137b80c1d"),
	}
	want := mustHash(t, "f3e94742aca4b5ef85488dc37c06c3282295ffec960994b2c0d5ac2a25a95766")
	root, mutated := MerkleRoot(ids)
	if root != want || mutated {
		t.Fatalf("MerkleRoot = %v, mutated %v; want %v, false", root, mutated, want)
	}
	if got := MerkleRootFromBranch(ids[0], CoinbaseMerkleBranch(ids)); got != want {
		t.Errorf("root from coinbase branch = %v, want %v", got, want)
	}
	orig := ids[0]
	MerkleRoot(ids)
	CoinbaseMerkleBranch(ids)
	if ids[0] != orig {
		t.Error("input modified")
	}
}

func TestMerkleRootSmall(t *testing.T) {
	a, b := Hash{1}, Hash{2}
	if root, mutated := MerkleRoot(nil); root != (Hash{}) || mutated {
		t.Errorf("empty: %v, %v", root, mutated)
	}
	if root, mutated := MerkleRoot([]Hash{a}); root != a || mutated {
		t.Errorf("one: %v, %v", root, mutated)
	}
	if root, _ := MerkleRoot([]Hash{a, b}); root != hashMerkleBranches(&a, &b) {
		t.Errorf("two: %v", root)
	}
	// An odd level pairs its last node with itself: [a,b,c] hashes
	// H(H(a,b), H(c,c)).
	c := Hash{3}
	ab, cc := hashMerkleBranches(&a, &b), hashMerkleBranches(&c, &c)
	if root, mutated := MerkleRoot([]Hash{a, b, c}); root != hashMerkleBranches(&ab, &cc) || mutated {
		t.Errorf("three: %v, %v", root, mutated)
	}
}

// TestMerkleMutation covers CVE-2012-2459: a list with a duplicated tail
// has the honest list's root, and only the mutated one is flagged.
func TestMerkleMutation(t *testing.T) {
	h := func(ns ...byte) []Hash {
		out := make([]Hash, len(ns))
		for i, n := range ns {
			out[i] = Hash{n}
		}
		return out
	}
	tests := []struct {
		name            string
		honest, mutated []Hash
	}{
		{"[1,2,3] vs [1,2,3,3]", h(1, 2, 3), h(1, 2, 3, 3)},
		{"[1..6] vs [1..6,5,6]", h(1, 2, 3, 4, 5, 6), h(1, 2, 3, 4, 5, 6, 5, 6)},
		{"[1..10] vs [1..10,9,10,9,10,9,10]", h(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), h(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 9, 10, 9, 10, 9, 10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hr, hm := MerkleRoot(tt.honest)
			mr, mm := MerkleRoot(tt.mutated)
			if hr != mr {
				t.Fatalf("roots differ: honest %v, mutated %v", hr, mr)
			}
			if hm {
				t.Error("honest list flagged as mutated")
			}
			if !mm {
				t.Error("mutated list not flagged")
			}
		})
	}
	// A repeat that is not paired with itself changes the root and is
	// not a mutation; CheckBlockSanity's duplicate check catches it.
	if _, m := MerkleRoot(h(1, 2, 1)); m {
		t.Error("[1,2,1] flagged as mutated")
	}
}

// TestCoinbaseMerkleBranch folds the branch of every list length up to 33
// and compares with MerkleRoot.
func TestCoinbaseMerkleBranch(t *testing.T) {
	for n := 1; n <= 33; n++ {
		ids := make([]Hash, n)
		for i := range ids {
			ids[i] = Hash{byte(i), byte(i >> 8), 0xaa}
		}
		want, _ := MerkleRoot(ids)
		branch := CoinbaseMerkleBranch(ids)
		if got := MerkleRootFromBranch(ids[0], branch); got != want {
			t.Errorf("n=%d: root from branch %v, want %v", n, got, want)
		}
		depth := 0
		for m := n; m > 1; m = (m + 1) / 2 {
			depth++
		}
		if len(branch) != depth {
			t.Errorf("n=%d: branch of %d hashes, want %d", n, len(branch), depth)
		}
		// The coinbase's own id is never read.
		ids[0] = Hash{0xff}
		if got := CoinbaseMerkleBranch(ids); fmt.Sprint(got) != fmt.Sprint(branch) {
			t.Errorf("n=%d: branch depends on the coinbase id", n)
		}
	}
}

func BenchmarkMerkleRoot1000(b *testing.B) {
	ids := make([]Hash, 1000)
	for i := range ids {
		ids[i] = Hash{byte(i), byte(i >> 8)}
	}
	b.ReportAllocs()
	for b.Loop() {
		MerkleRoot(ids)
	}
}
