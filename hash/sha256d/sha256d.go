// Package sha256d implements Bitcoin's double SHA-256 (FIPS 180-4 applied
// twice) for block headers: one-shot hashing for general use and fast
// nonce-search kernels for mining.
//
// General-purpose hashing (Sum, DoubleSum) uses github.com/minio/sha256-simd.
// Nonce search works on a Job, the per-header state prepared once, and a
// Kernel, one implementation of the search loop. The portable kernel is
// always available and is the reference; SIMD kernels (SHA extensions,
// AVX2, AVX-512) are compiled on amd64 unless the purego tag is set, and are
// offered only where the CPU supports them. Choose picks one at start: each
// supported kernel must pass SelfTest (known answers, and a miner-sized call
// checked against the reference hash), then the kernels are timed in
// interleaved rounds and the fastest best round wins.
package sha256d

import (
	"encoding/binary"
	"math/bits"

	sha256 "github.com/minio/sha256-simd"
)

// Size is the length of a SHA-256 digest in bytes.
const Size = 32

// HeaderSize is the length of a Bitcoin block header in bytes.
const HeaderSize = 80

// Sum returns the SHA-256 digest of data.
func Sum(data []byte) [Size]byte {
	return sha256.Sum256(data)
}

// DoubleSum returns SHA-256(SHA-256(data)), the hash Bitcoin uses for
// headers, transactions and merkle nodes.
func DoubleSum(data []byte) [Size]byte {
	first := sha256.Sum256(data)
	return sha256.Sum256(first[:])
}

// iv is the SHA-256 initial hash value (FIPS 180-4, 5.3.3).
var iv = [8]uint32{
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}

// k holds the SHA-256 round constants (FIPS 180-4, 4.2.2).
var k = [64]uint32{
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

func sigma0(x uint32) uint32 { return bits.RotateLeft32(x, -7) ^ bits.RotateLeft32(x, -18) ^ x>>3 }
func sigma1(x uint32) uint32 { return bits.RotateLeft32(x, -17) ^ bits.RotateLeft32(x, -19) ^ x>>10 }
func bigSigma0(x uint32) uint32 {
	return bits.RotateLeft32(x, -2) ^ bits.RotateLeft32(x, -13) ^ bits.RotateLeft32(x, -22)
}
func bigSigma1(x uint32) uint32 {
	return bits.RotateLeft32(x, -6) ^ bits.RotateLeft32(x, -11) ^ bits.RotateLeft32(x, -25)
}

// round applies SHA-256 round t with schedule word w to the working
// variables s = a..h.
func round(s *[8]uint32, t int, w uint32) {
	a, b, c, d, e, f, g, h := s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]
	t1 := h + bigSigma1(e) + ((f^g)&e ^ g) + k[t] + w
	t2 := bigSigma0(a) + (b ^ ((a ^ b) & (b ^ c)))
	s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7] = t1+t2, a, b, c, d+t1, e, f, g
}

// compress runs the SHA-256 compression function on one block given as 16
// big-endian words and adds the result into h.
func compress(h *[8]uint32, block *[16]uint32) {
	var w [64]uint32
	copy(w[:16], block[:])
	for t := 16; t < 64; t++ {
		w[t] = sigma1(w[t-2]) + w[t-7] + sigma0(w[t-15]) + w[t-16]
	}
	s := *h
	for t := 0; t < 64; t++ {
		round(&s, t, w[t])
	}
	for i := range h {
		h[i] += s[i]
	}
}

// wordsBE reads len(dst) big-endian 32-bit words from p.
func wordsBE(dst []uint32, p []byte) {
	for i := range dst {
		dst[i] = binary.BigEndian.Uint32(p[4*i:])
	}
}
