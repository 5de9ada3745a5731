package wallet

import (
	"crypto/ed25519"
	"fmt"
	"slices"

	"github.com/powmine/powmine/chain"
)

// A validator key file holds a validator's ed25519 key in the same format
// as an account key file (see the package documentation): New creates
// one, Save writes it (mode 0600, never over an existing file), and a
// validator key's address is simply unused. LoadValidatorKey opens it for
// the node that signs votes, reveals and block seals with it, and
// ReadPublicKey reads its public key without the passphrase.

// PublicKey returns the key's ed25519 public key.
func (k *Key) PublicKey() chain.PublicKey { return k.pub }

// SignDeposit sets d.From to the key's public key, d.Validator to
// validator's, and signs the deposit for the network whose genesis hash is
// network with both (chain.Deposit.Sign): the key, the deposit's owner,
// pays; validator's signature is the proof of possession. Set every other
// field first. It fails only for a validator key of the wrong length.
func (k *Key) SignDeposit(d *chain.Deposit, validator ed25519.PrivateKey, network chain.Hash) error {
	return d.Sign(k.priv, validator, network)
}

// SignWithdraw sets w.From to the key's public key and signs the withdraw
// for network (chain.Withdraw.Sign): only a validator's owner may ask for
// its stake back. Set every other field first.
func (k *Key) SignWithdraw(w *chain.Withdraw, network chain.Hash) error {
	return w.Sign(k.priv, network)
}

// LoadValidatorKey reads the validator key file at path, opens it with
// passphrase (as Load, with the same errors) and returns the private key,
// for the node that proposes and votes with it (chain/pos's NewReveal,
// NewSeal and Vote.Sign take an ed25519.PrivateKey). The caller owns the
// returned slice and should keep it no longer than it needs.
func LoadValidatorKey(path string, passphrase []byte) (ed25519.PrivateKey, error) {
	k, err := Load(path, passphrase)
	if err != nil {
		return nil, err
	}
	return slices.Clone(k.priv), nil
}

// ReadPublicKey returns the public key in the key file at path without
// the passphrase, validating the file as ReadAddress does (errors wrap
// ErrCorrupt; a version 1 file, which holds no public key, is refused
// with ErrVersion1). As with ReadAddress, only Load can tell whether the
// sealed key is really that public key's.
func ReadPublicKey(path string) (chain.PublicKey, error) {
	f, err := readFile(path)
	if err != nil {
		return chain.PublicKey{}, err
	}
	if f.version == fileVersion1 {
		return chain.PublicKey{}, fmt.Errorf("%w (file %s)", ErrVersion1, path)
	}
	return f.publicKey, nil
}
