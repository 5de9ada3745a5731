// Package gen holds what every kernel generator shares: the SHA-256
// constants, the fixed words of the header's second block and of the second
// hash, the byte offsets of the Go jobState, and helpers that emit tables.
package gen

import (
	"fmt"
	"math/bits"

	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
)

// Byte offsets of jobState's fields (hash/sha256d/job.go; pinned there by
// TestJobStateLayout).
const (
	OffMid    = 0
	OffW      = 32
	OffT7     = 44
	OffState3 = 48
	OffState4 = 80
	OffWpart  = 112
	OffKW     = 368
)

// Signature is the Go declaration every kernel implements. The first
// argument points to a jobState; the Go side declares it as *jobState.
const Signature = "func(st *uint32, start, count uint32, cand *uint32) uint32"

// K holds the SHA-256 round constants.
var K = [64]uint32{
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

// IV is the SHA-256 initial hash value.
var IV = [8]uint32{
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}

// Block2 holds the words of the header's second block that are the same
// for every header: W4..W15 (W0..W3 are per job and per nonce; zero here).
var Block2 = [16]uint32{4: 0x80000000, 15: 640}

// Hash2 holds the fixed words of the second hash's block: W8..W15 (W0..W7
// are the first hash's digest; zero here).
var Hash2 = [16]uint32{8: 0x80000000, 15: 256}

// Sigma0 is σ0 of FIPS 180-4, for folding constant schedule terms.
func Sigma0(x uint32) uint32 { return bits.RotateLeft32(x, -7) ^ bits.RotateLeft32(x, -18) ^ x>>3 }

// Sigma1 is σ1 of FIPS 180-4.
func Sigma1(x uint32) uint32 { return bits.RotateLeft32(x, -17) ^ bits.RotateLeft32(x, -19) ^ x>>10 }

// Table emits a read-only table of 32-bit words, each repeated rep times
// (rep = lanes to broadcast across a vector), and returns its address.
// Names must be unique across all generated files of the package.
func Table(name string, words []uint32, rep int) operand.Mem {
	m := build.GLOBL(name, build.RODATA|build.NOPTR)
	for i, w := range words {
		for r := range rep {
			build.DATA(4*(i*rep+r), operand.U32(w))
		}
	}
	return m
}

// Header writes a comment naming the kernel and the job layout it reads. avo
// attaches comments to a function, so call it right after TEXT.
func Header(kernel string) {
	build.Comment(fmt.Sprintf("sha256d nonce-search kernel %q; see hash/sha256d/job.go for the job layout.", kernel))
}
