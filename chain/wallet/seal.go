package wallet

import (
	"crypto/ed25519"
	"fmt"
	"io"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// deriveKey returns argon2id(passphrase, salt) with the header's
// parameters, which the caller has checked against the bounds.
func (h *header) deriveKey(passphrase []byte) []byte {
	return argon2.IDKey(passphrase, h.salt[:], h.kdf.time, h.kdf.memoryKiB, h.kdf.threads, derivedKeySize)
}

// seal draws a fresh salt and nonce from rand into h and encrypts seed
// under a key derived from passphrase, binding h.aad().
func seal(h header, seed []byte, passphrase []byte, rand io.Reader) (*sealedFile, error) {
	if _, err := io.ReadFull(rand, h.salt[:]); err != nil {
		return nil, fmt.Errorf("wallet: draw salt: %w", err)
	}
	if _, err := io.ReadFull(rand, h.nonce[:]); err != nil {
		return nil, fmt.Errorf("wallet: draw nonce: %w", err)
	}
	key := h.deriveKey(passphrase)
	defer clear(key)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("wallet: %w", err)
	}
	f := &sealedFile{header: h}
	aead.Seal(f.ciphertext[:0], f.nonce[:], seed, h.aad())
	return f, nil
}

// open derives the key from passphrase and decrypts the seed, then checks
// that the seed's public key is the one in the header (in a version 1
// file, which has none, that its address is). Errors wrap
// ErrBadPassphrase (the seal did not open) or ErrCorrupt (key mismatch).
func (f *sealedFile) open(passphrase []byte) (ed25519.PrivateKey, error) {
	key := f.deriveKey(passphrase)
	defer clear(key)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("wallet: %w", err)
	}
	var seed [seedSize]byte
	defer clear(seed[:])
	if _, err := aead.Open(seed[:0], f.nonce[:], f.ciphertext[:], f.aad()); err != nil {
		return nil, fmt.Errorf("%w (address %s)", ErrBadPassphrase, f.address)
	}
	priv := ed25519.NewKeyFromSeed(seed[:])
	pub := publicKey(priv)
	switch {
	case f.version == fileVersion1 && pub.Address() != f.address:
		clear(priv)
		return nil, fmt.Errorf("%w: sealed key has address %s, header says %s", ErrCorrupt, pub.Address(), f.address)
	case f.version != fileVersion1 && pub != f.publicKey: // parseFile checked the address against f.publicKey
		clear(priv)
		return nil, fmt.Errorf("%w: sealed key has public key %s, header says %s", ErrCorrupt, pub, f.publicKey)
	}
	return priv, nil
}
