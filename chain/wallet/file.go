package wallet

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/powmine/powmine/chain"
)

// FileVersion is the key file format version this package writes. It
// also reads version 1 files, which lack the public key (see ErrVersion1).
const FileVersion = 2

// fileVersion1 is the first format: no public key, so its address can be
// checked only by opening the seal.
const fileVersion1 = 1

// Names of the algorithms in a key file.
const (
	// KDFArgon2id names argon2id (RFC 9106) as the passphrase KDF.
	KDFArgon2id = "argon2id"

	// CipherXChaCha20Poly1305 names XChaCha20-Poly1305 as the AEAD
	// sealing the seed.
	CipherXChaCha20Poly1305 = "xchacha20-poly1305"
)

// Default argon2id parameters New uses. They follow the RFC 9106 second
// recommendation and the OWASP guidance for argon2id (at least 19 MiB and
// 2 passes; more memory is better): 64 MiB, 3 passes, 4 lanes. New and Load
// then take well under a second (0.1 to 0.7 s measured on the development
// machine, depending on load).
const (
	DefaultKDFTime      = 3
	DefaultKDFMemoryKiB = 64 * 1024
	DefaultKDFThreads   = 4
)

// Bounds on the argon2id parameters of a file being read. A file outside
// them is ErrCorrupt and is rejected before any key derivation, so a
// malicious file can make Load allocate at most MaxKDFMemoryKiB KiB and run
// at most MaxKDFTime passes over it.
//
// The upper bounds are what New writes (DefaultKDFTime, DefaultKDFMemoryKiB,
// DefaultKDFThreads) with a margin for a file written by a later version
// with stronger settings: 4 times the memory, over 3 times the passes, 4
// times the lanes. Their worst case is about 13 times the default work
// (time x memory), 1.8 s against 0.19 s for the defaults on the 2-core
// development machine, where the first bounds (100 passes over 1 GiB)
// let a crafted file stall Load for a minute. For scale, OWASP's argon2id
// minimum is 19 MiB with 2 passes or 46 MiB with 1, one lane. Lanes add no
// work (argon2 runs a goroutine per lane), but 16 is as many as a
// multi-core machine can use.
//
// The lower bounds are those of RFC 9106 (memory at least 8 KiB per lane);
// they are not a strength requirement, since a file's parameters are its
// writer's choice.
const (
	MinKDFTime      = 1
	MaxKDFTime      = 10
	MaxKDFMemoryKiB = 256 << 10 // 256 MiB
	MinKDFThreads   = 1
	MaxKDFThreads   = 16
)

// minKDFMemoryPerThreadKiB is RFC 9106's least memory per lane.
const minKDFMemoryPerThreadKiB = 8

// MaxFileSize bounds the size of a key file being read, in bytes. A valid
// file is about 600 bytes.
const MaxFileSize = 16 << 10

// Sizes of the binary fields.
const (
	saltSize       = 16
	derivedKeySize = chacha20poly1305.KeySize
	nonceSize      = chacha20poly1305.NonceSizeX
	seedSize       = 32 // ed25519.SeedSize
	ciphertextSize = seedSize + chacha20poly1305.Overhead
)

// aadDomain starts the additional data of the seal, so the seal is bound
// to this format and cannot be mistaken for any other use of the key.
const aadDomain = "powmine wallet key file\x00"

// kdfParams are argon2id's cost parameters.
type kdfParams struct {
	time      uint32 // passes
	memoryKiB uint32
	threads   uint8 // lanes
}

// defaultKDFParams are the parameters New uses.
var defaultKDFParams = kdfParams{time: DefaultKDFTime, memoryKiB: DefaultKDFMemoryKiB, threads: DefaultKDFThreads}

// check reports parameters outside the Min/Max bounds as ErrCorrupt.
func (p kdfParams) check() error {
	switch {
	case p.time < MinKDFTime || p.time > MaxKDFTime:
		return fmt.Errorf("%w: kdf time %d passes outside [%d, %d]", ErrCorrupt, p.time, MinKDFTime, MaxKDFTime)
	case p.threads < MinKDFThreads || p.threads > MaxKDFThreads:
		return fmt.Errorf("%w: kdf threads %d outside [%d, %d]", ErrCorrupt, p.threads, MinKDFThreads, MaxKDFThreads)
	case p.memoryKiB < minKDFMemoryPerThreadKiB*uint32(p.threads) || p.memoryKiB > MaxKDFMemoryKiB:
		return fmt.Errorf("%w: kdf memory_kib %d outside [%d, %d] for %d threads", ErrCorrupt,
			p.memoryKiB, minKDFMemoryPerThreadKiB*uint32(p.threads), MaxKDFMemoryKiB, p.threads)
	}
	return nil
}

// header is everything in a key file but the ciphertext: all of it is
// bound into the seal as additional data (see aad).
type header struct {
	version   uint32          // FileVersion or fileVersion1
	address   chain.Address   // publicKey.Address() after version 1, checked by parseFile
	publicKey chain.PublicKey // zero in a version 1 file
	kdf       kdfParams
	salt      [saltSize]byte
	nonce     [nonceSize]byte
}

// sealedFile is a parsed, validated key file.
type sealedFile struct {
	header
	ciphertext [ciphertextSize]byte
}

// aad returns the additional data of the seal: aadDomain, then the
// version, the KDF name, its parameters, the salt, the cipher name, the
// nonce, the address and (after version 1) the public key, in a fixed
// binary layout (big-endian integers, names prefixed by a length byte). It
// is computed from the parsed values, not the JSON text, so reformatting
// the file does not break the seal while changing any value does.
func (h *header) aad() []byte {
	b := make([]byte, 0, 160)
	b = append(b, aadDomain...)
	b = binary.BigEndian.AppendUint32(b, h.version)
	b = append(b, byte(len(KDFArgon2id)))
	b = append(b, KDFArgon2id...)
	b = binary.BigEndian.AppendUint32(b, h.kdf.time)
	b = binary.BigEndian.AppendUint32(b, h.kdf.memoryKiB)
	b = append(b, h.kdf.threads)
	b = append(b, h.salt[:]...)
	b = append(b, byte(len(CipherXChaCha20Poly1305)))
	b = append(b, CipherXChaCha20Poly1305...)
	b = append(b, h.nonce[:]...)
	b = append(b, h.address[:]...)
	if h.version != fileVersion1 {
		b = append(b, h.publicKey[:]...)
	}
	return b
}

// fileJSON is the JSON form of a key file. Binary fields are lowercase
// hex; the address is in human form (chain.Address.String). A version 1
// file has no public_key.
type fileJSON struct {
	Version   uint32     `json:"version"`
	Address   string     `json:"address"`
	PublicKey string     `json:"public_key,omitempty"`
	KDF       kdfJSON    `json:"kdf"`
	Cipher    cipherJSON `json:"cipher"`
}

// kdfJSON is the "kdf" object of a key file.
type kdfJSON struct {
	Name      string `json:"name"`
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint32 `json:"threads"`
	Salt      string `json:"salt"`
}

// cipherJSON is the "cipher" object of a key file.
type cipherJSON struct {
	Name       string `json:"name"`
	Nonce      string `json:"nonce"`
	Ciphertext string `json:"ciphertext"`
}

// marshal returns the file's JSON text, indented, with a final newline.
func (f *sealedFile) marshal() ([]byte, error) {
	j := fileJSON{
		Version: f.version,
		Address: f.address.String(),
		KDF: kdfJSON{
			Name:      KDFArgon2id,
			Time:      f.kdf.time,
			MemoryKiB: f.kdf.memoryKiB,
			Threads:   uint32(f.kdf.threads),
			Salt:      hex.EncodeToString(f.salt[:]),
		},
		Cipher: cipherJSON{
			Name:       CipherXChaCha20Poly1305,
			Nonce:      hex.EncodeToString(f.nonce[:]),
			Ciphertext: hex.EncodeToString(f.ciphertext[:]),
		},
	}
	if f.version != fileVersion1 {
		j.PublicKey = f.publicKey.String()
	}
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("wallet: encode key file: %w", err)
	}
	return append(b, '\n'), nil
}

// parseFile decodes and validates a key file without deriving any key:
// one JSON object with exactly the known fields and nothing after it,
// version FileVersion (with a public key whose address is the file's) or
// 1 (without one), known algorithm names, KDF parameters within bounds, a
// valid address and binary fields of the exact lengths. Every error wraps
// ErrCorrupt. It never panics, and allocates in proportion to len(data)
// only.
func parseFile(data []byte) (*sealedFile, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrCorrupt, len(data), MaxFileSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var j fileJSON
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrCorrupt)
	}
	if j.Version != FileVersion && j.Version != fileVersion1 {
		return nil, fmt.Errorf("%w: version %d, want %d or %d", ErrCorrupt, j.Version, FileVersion, fileVersion1)
	}
	if j.KDF.Name != KDFArgon2id {
		return nil, fmt.Errorf("%w: kdf %q, want %q", ErrCorrupt, j.KDF.Name, KDFArgon2id)
	}
	if j.Cipher.Name != CipherXChaCha20Poly1305 {
		return nil, fmt.Errorf("%w: cipher %q, want %q", ErrCorrupt, j.Cipher.Name, CipherXChaCha20Poly1305)
	}
	if j.KDF.Threads > MaxKDFThreads {
		return nil, fmt.Errorf("%w: kdf threads %d outside [%d, %d]", ErrCorrupt, j.KDF.Threads, MinKDFThreads, MaxKDFThreads)
	}
	f := &sealedFile{header: header{version: j.Version, kdf: kdfParams{
		time:      j.KDF.Time,
		memoryKiB: j.KDF.MemoryKiB,
		threads:   uint8(j.KDF.Threads),
	}}}
	if err := f.kdf.check(); err != nil {
		return nil, err
	}
	addr, err := chain.ParseAddress(j.Address)
	if err != nil {
		return nil, fmt.Errorf("%w: address: %w", ErrCorrupt, err)
	}
	f.address = addr
	switch {
	case j.Version == fileVersion1 && j.PublicKey != "":
		return nil, fmt.Errorf("%w: a version %d file has no public_key", ErrCorrupt, fileVersion1)
	case j.Version != fileVersion1:
		if err := decodeHex(f.publicKey[:], "public_key", j.PublicKey); err != nil {
			return nil, err
		}
		if got := f.publicKey.Address(); got != addr {
			return nil, fmt.Errorf("%w: address %s is not %s, the address of public_key %s", ErrCorrupt, addr, got, f.publicKey)
		}
	}
	if err := decodeHex(f.salt[:], "kdf salt", j.KDF.Salt); err != nil {
		return nil, err
	}
	if err := decodeHex(f.nonce[:], "cipher nonce", j.Cipher.Nonce); err != nil {
		return nil, err
	}
	if err := decodeHex(f.ciphertext[:], "cipher ciphertext", j.Cipher.Ciphertext); err != nil {
		return nil, err
	}
	return f, nil
}

// decodeHex fills dst from the hex string s, which must encode exactly
// len(dst) bytes; errors wrap ErrCorrupt and name the field.
func decodeHex(dst []byte, field, s string) error {
	if len(s) != hex.EncodedLen(len(dst)) {
		return fmt.Errorf("%w: %s has %d hex digits, want %d", ErrCorrupt, field, len(s), hex.EncodedLen(len(dst)))
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrCorrupt, field, err)
	}
	return nil
}
