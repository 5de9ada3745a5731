package chain

import "github.com/powmine/powmine/hash/sha256d"

// hashMerkleBranches returns the parent of two merkle nodes: the double
// SHA-256 of left followed by right.
func hashMerkleBranches(left, right *Hash) Hash {
	var buf [2 * HashSize]byte
	copy(buf[:HashSize], left[:])
	copy(buf[HashSize:], right[:])
	return sha256d.DoubleSum(buf[:])
}

// MerkleRoot computes the merkle root of a block's transaction ids, listed
// in block order, as Bitcoin does: pairs of nodes are hashed with double
// SHA-256 level by level, and a level with an odd number of nodes pairs
// its last node with itself. The root of a single id is that id; the root
// of no ids is the zero hash.
//
// mutated reports the duplicate-hash weakness (CVE-2012-2459), computed in
// the same pass as Bitcoin Core's ComputeMerkleRoot does: it is true when
// two identical nodes are paired at any level, other than the padding of an
// odd level. Then another, shorter list has the same root (for example
// [1,2,3,3] and [1,2,3]); such a list always repeats a transaction.
//
// ids is not modified. MerkleRoot allocates one scratch slice of
// (len(ids)+1)/2 hashes and is safe for concurrent use.
func MerkleRoot(ids []Hash) (root Hash, mutated bool) {
	switch len(ids) {
	case 0:
		return Hash{}, false
	case 1:
		return ids[0], false
	}
	// The first level reads ids and writes into level; later levels
	// work in place in level.
	level := make([]Hash, (len(ids)+1)/2)
	src := ids
	for len(src) > 1 {
		n := len(src)
		for i := 0; i < n; i += 2 {
			j := i + 1
			if j == n {
				j = i // odd level: pair the last node with itself
			} else if src[i] == src[j] {
				mutated = true
			}
			level[i/2] = hashMerkleBranches(&src[i], &src[j])
		}
		src = level[:(n+1)/2]
	}
	return src[0], mutated
}

// CoinbaseMerkleBranch returns the merkle branch of the first transaction
// (the coinbase): the sibling of its path at each level, bottom up. With
// the coinbase's id, MerkleRootFromBranch rebuilds the root, which is what
// Stratum's mining.notify sends a miner so it can vary the coinbase
// without the other transactions. ids is the block's transaction ids in
// order, the coinbase's first; its value is never read, so a placeholder
// will do. The branch is empty for fewer than two ids.
func CoinbaseMerkleBranch(ids []Hash) []Hash {
	if len(ids) < 2 {
		return nil
	}
	var branch []Hash
	// Hash the levels above ids[1:] only; the coinbase side is unknown.
	// Index 0 of each level is the coinbase path and is never used.
	level := make([]Hash, len(ids))
	copy(level, ids)
	for n := len(level); n > 1; n = (n + 1) / 2 {
		branch = append(branch, level[1])
		for i := 2; i < n; i += 2 {
			j := i + 1
			if j == n {
				j = i
			}
			level[i/2] = hashMerkleBranches(&level[i], &level[j])
		}
	}
	return branch
}

// MerkleRootFromBranch folds a coinbase merkle branch (CoinbaseMerkleBranch)
// into the root: starting from the coinbase id, it hashes the running node
// followed by each branch hash in turn.
func MerkleRootFromBranch(coinbaseID Hash, branch []Hash) Hash {
	h := coinbaseID
	for i := range branch {
		h = hashMerkleBranches(&h, &branch[i])
	}
	return h
}
