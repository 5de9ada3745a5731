package wallet

import "errors"

// Errors from this package, wrapped with detail (test with errors.Is).
var (
	// ErrBadPassphrase: the sealed seed did not open. Either the
	// passphrase is wrong or a field bound into the seal (the header
	// parameters, salt, nonce, address, public key or ciphertext) was
	// altered; the two cannot be told apart without the right passphrase.
	ErrBadPassphrase = errors.New("wallet: wrong passphrase or altered key file")

	// ErrCorrupt: the file is not a key file this package can read: too
	// large, not the expected JSON, an unknown version, KDF or cipher, a
	// field of the wrong length, KDF parameters outside the Min/Max
	// bounds, an address that is not the public key's, or (after a
	// successful open) a seed whose public key or address is not the one
	// in the header.
	ErrCorrupt = errors.New("wallet: corrupt key file")

	// ErrVersion1: ReadAddress refuses a version 1 key file, which holds
	// no public key, so its clear-text address cannot be checked without
	// the passphrase. Load still opens such a file (and checks the
	// address then); create a new key file to replace it.
	ErrVersion1 = errors.New("wallet: version 1 key file: its address cannot be checked without the passphrase (which still opens it); create a new key file")

	// ErrEmptyPassphrase: New refuses to seal a key with an empty
	// passphrase.
	ErrEmptyPassphrase = errors.New("wallet: empty passphrase")
)
