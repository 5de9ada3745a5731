package wallet

import (
	"crypto/ed25519"
	cryptorand "crypto/rand"
	"fmt"
	"io"

	"github.com/powmine/powmine/chain"
)

// Key is one ed25519 account key together with its sealed form, the
// contents Save writes. A Key is immutable after New or Load and its
// methods are safe for concurrent use. Its String and GoString print only
// the address, so logging a Key does not leak the private key. The zero
// Key is not usable: get one from New or Load.
type Key struct {
	priv ed25519.PrivateKey
	pub  chain.PublicKey
	file *sealedFile
}

// New generates a key pair from rand (crypto/rand when rand is nil) and
// seals its seed under passphrase with argon2id (DefaultKDFTime passes,
// DefaultKDFMemoryKiB KiB, DefaultKDFThreads lanes) and
// XChaCha20-Poly1305, with a fresh salt and nonce also drawn from rand. The
// derivation takes about as long as a Load of the file will. An empty
// passphrase is refused with ErrEmptyPassphrase.
func New(passphrase []byte, rand io.Reader) (*Key, error) {
	return newKey(passphrase, rand, defaultKDFParams)
}

// newKey is New with explicit KDF parameters, which must be within the
// bounds Load accepts (tests use small ones).
func newKey(passphrase []byte, rand io.Reader, params kdfParams) (*Key, error) {
	if len(passphrase) == 0 {
		return nil, ErrEmptyPassphrase
	}
	if err := params.check(); err != nil {
		return nil, fmt.Errorf("wallet: kdf parameters: %w", err)
	}
	if rand == nil {
		rand = cryptorand.Reader
	}
	pub, priv, err := chain.GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("wallet: %w", err)
	}
	h := header{version: FileVersion, address: pub.Address(), publicKey: pub, kdf: params}
	f, err := seal(h, priv.Seed(), passphrase, rand)
	if err != nil {
		return nil, err
	}
	return &Key{priv: priv, pub: pub, file: f}, nil
}

// Reseal returns the same key sealed anew under passphrase in the current
// file format (FileVersion), with the default KDF parameters and a fresh
// salt and nonce: the way to bring a version 1 file, which ReadAddress
// refuses, up to date. An empty passphrase is refused with
// ErrEmptyPassphrase.
func (k *Key) Reseal(passphrase []byte) (*Key, error) {
	if len(passphrase) == 0 {
		return nil, ErrEmptyPassphrase
	}
	h := header{version: FileVersion, address: k.pub.Address(), publicKey: k.pub, kdf: defaultKDFParams}
	f, err := seal(h, k.priv.Seed(), passphrase, cryptorand.Reader)
	if err != nil {
		return nil, err
	}
	return &Key{priv: k.priv, pub: k.pub, file: f}, nil
}

// publicKey returns priv's public key.
func publicKey(priv ed25519.PrivateKey) chain.PublicKey {
	return chain.PublicKey(priv.Public().(ed25519.PublicKey))
}

// Address returns the key's account address.
func (k *Key) Address() chain.Address { return k.file.address }

// SignTransfer sets t.From to the key's public key and signs t for the
// network whose genesis hash is network (chain.Transfer.Sign). Set every
// other field first: the signature covers them all.
func (k *Key) SignTransfer(t *chain.Transfer, network chain.Hash) error {
	return t.Sign(k.priv, network)
}

// String returns "wallet key" and the address, never key material.
func (k *Key) String() string { return "wallet key " + k.Address().String() }

// GoString is String, so that %#v does not print the private key either.
func (k *Key) GoString() string { return k.String() }
