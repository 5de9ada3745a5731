package stratum

import (
	"encoding"
	"encoding/hex"
	"fmt"
	"hash"
	"slices"

	sha256 "github.com/minio/sha256-simd"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/hash/sha256d"
)

// This file rebuilds the header a share commits to from its Stratum
// pieces. Both sides need it: the client to mine, the server to check.

// swapWords byte-swaps each 4-byte word of h: internal byte order <->
// Stratum's prevhash order.
func swapWords(h chain.Hash) chain.Hash {
	for i := 0; i < chain.HashSize; i += 4 {
		h[i], h[i+1], h[i+2], h[i+3] = h[i+3], h[i+2], h[i+1], h[i]
	}
	return h
}

// AppendPrevHash appends the 64 hex characters of prevhash as
// mining.notify sends it: the internal byte order with each 4-byte word
// byte-swapped, which is also the display hex with its eight words in
// reverse order (ckpool swap_256, node-stratum-pool reverseByteOrder).
func AppendPrevHash(dst []byte, prev chain.Hash) []byte {
	s := swapWords(prev)
	return hex.AppendEncode(dst, s[:])
}

// EncodePrevHash returns prevhash in Stratum's word-swapped hex; see
// AppendPrevHash.
func EncodePrevHash(prev chain.Hash) string {
	return string(AppendPrevHash(nil, prev))
}

// DecodePrevHash parses Stratum's word-swapped prevhash hex (exactly 64
// hex characters) into a hash in internal byte order.
func DecodePrevHash(s string) (chain.Hash, error) {
	return prevHashField("prevhash", []byte(`"`+s+`"`))
}

// CoinbaseMerkleRoot returns the merkle root of the block whose coinbase
// is coinb1 || extranonce1 || extranonce2 || coinb2 and whose coinbase
// merkle branch is branch: sha256d of the coinbase folded through the
// branch (chain.MerkleRootFromBranch).
func CoinbaseMerkleRoot(coinb1, extranonce1, extranonce2, coinb2 []byte, branch []chain.Hash) chain.Hash {
	var stack [512]byte
	cb := append(stack[:0], coinb1...)
	cb = append(cb, extranonce1...)
	cb = append(cb, extranonce2...)
	cb = append(cb, coinb2...)
	return chain.MerkleRootFromBranch(sha256d.DoubleSum(cb), branch)
}

// RollVersion applies BIP310 version rolling: (jobVersion &^ mask) |
// (versionBits & mask). It fails with CodeInvalidVersionMask when
// versionBits has a bit outside mask.
func RollVersion(jobVersion, versionBits, mask uint32) (uint32, error) {
	if versionBits&^mask != 0 {
		return 0, NewError(CodeInvalidVersionMask,
			fmt.Sprintf("invalid version mask: bits %08x outside mask %08x", versionBits, mask))
	}
	return jobVersion&^mask | versionBits&mask, nil
}

// BuildHeader assembles the header of a job with the given merkle root
// and the share's version, ntime and nonce.
func (p *NotifyParams) BuildHeader(merkleRoot chain.Hash, version, ntime, nonce uint32) chain.Header {
	return chain.Header{
		Version:    int32(version),
		PrevBlock:  p.PrevHash,
		MerkleRoot: merkleRoot,
		Timestamp:  ntime,
		Bits:       p.Bits,
		Nonce:      nonce,
	}
}

// ShareHeader rebuilds the header of a share for this job: the coinbase
// from Coinb1, extranonce1 (the one in force when the job was sent),
// s.Extranonce2 and Coinb2; its merkle root through MerkleBranch; the
// version rolled with versionMask (RollVersion) when s carries version
// bits, else the job's version; and s's ntime and nonce. It checks only
// the version bits; the caller checks the extranonce2 length, the job id
// and the ntime range.
func (p *NotifyParams) ShareHeader(extranonce1 []byte, s *SubmitParams, versionMask uint32) (chain.Header, error) {
	version, err := p.shareVersion(s, versionMask)
	if err != nil {
		return chain.Header{}, err
	}
	root := CoinbaseMerkleRoot(p.Coinb1, extranonce1, s.Extranonce2, p.Coinb2, p.MerkleBranch)
	return p.BuildHeader(root, version, s.NTime, s.Nonce), nil
}

// shareVersion returns the version of a share on this job: rolled with
// versionMask when s carries version bits, else the job's.
func (p *NotifyParams) shareVersion(s *SubmitParams, versionMask uint32) (uint32, error) {
	if !s.HasVersionBits {
		return p.Version, nil
	}
	return RollVersion(p.Version, s.VersionBits, versionMask)
}

// CoinbasePrefix is a job's coinb1 hashed ahead: the SHA-256 state after
// its whole 64-byte blocks, and the bytes after them. With it a share's
// coinbase costs the same to hash however long coinb1 is (on this chain
// the payouts are in coinb1 and coinb2 is 4 bytes). Immutable.
type CoinbasePrefix struct {
	state []byte // the marshaled state of sha256-simd's digest
	rest  []byte
}

// NewCoinbasePrefix hashes the whole 64-byte blocks of coinb1.
func NewCoinbasePrefix(coinb1 []byte) *CoinbasePrefix {
	whole := len(coinb1) &^ (sha256.BlockSize - 1)
	h := sha256.New()
	h.Write(coinb1[:whole])
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic(err) // sha256-simd's digest always marshals
	}
	return &CoinbasePrefix{state: state, rest: slices.Clone(coinb1[whole:])}
}

// ShareHasher rebuilds share headers from a CoinbasePrefix without
// allocating. A server keeps one per connection; it is not safe for
// concurrent use.
type ShareHasher struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// NewShareHasher returns a ShareHasher.
func NewShareHasher() *ShareHasher { return &ShareHasher{h: sha256.New()} }

// ShareHeader is p.ShareHeader(extranonce1, s, versionMask) for a prefix
// made from p.Coinb1.
func (sh *ShareHasher) ShareHeader(p *NotifyParams, prefix *CoinbasePrefix, extranonce1 []byte, s *SubmitParams, versionMask uint32) (chain.Header, error) {
	version, err := p.shareVersion(s, versionMask)
	if err != nil {
		return chain.Header{}, err
	}
	if err := sh.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(prefix.state); err != nil {
		panic(err) // a state made by NewCoinbasePrefix
	}
	sh.h.Write(prefix.rest)
	sh.h.Write(extranonce1)
	sh.h.Write(s.Extranonce2)
	sh.h.Write(p.Coinb2)
	first := sh.h.Sum(sh.sum[:0])
	root := chain.MerkleRootFromBranch(sha256.Sum256(first), p.MerkleBranch)
	return p.BuildHeader(root, version, s.NTime, s.Nonce), nil
}
