package wallet

import "errors"

// Errors from this package, wrapped with detail (test with errors.Is).
var (
	// ErrBadPassphrase: the sealed seed did not open. Either the
	// passphrase is wrong or a field bound into the seal (the header
	// parameters, salt, nonce, address or ciphertext) was altered; the two
	// cannot be told apart without the right passphrase.
	ErrBadPassphrase = errors.New("wallet: wrong passphrase or altered key file")

	// ErrCorrupt: the file is not a key file this package can read: too
	// large, not the expected JSON, an unknown version, KDF or cipher, a
	// field of the wrong length, KDF parameters outside the Min/Max
	// bounds, or (after a successful open) a seed whose address is not
	// the one in the header.
	ErrCorrupt = errors.New("wallet: corrupt key file")

	// ErrEmptyPassphrase: New refuses to seal a key with an empty
	// passphrase.
	ErrEmptyPassphrase = errors.New("wallet: empty passphrase")
)
