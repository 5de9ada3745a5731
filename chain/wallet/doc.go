// Package wallet keeps one ed25519 account key (chain.GenerateKey) in a
// file sealed with a passphrase: argon2id (RFC 9106) derives a 32-byte key
// from the passphrase and a random 16-byte salt, and XChaCha20-Poly1305
// (draft-irtf-cfrg-xchacha) with a random 24-byte nonce seals the 32-byte
// ed25519 seed.
//
// What it provides: New (generate and seal), Key.Save (atomic write that
// never replaces a file, mode 0600), Load (read and open with the
// passphrase), ReadAddress (the checked address without the passphrase),
// and on a Key its Address, PublicKey and SignTransfer
// (chain.Transfer.Sign), SignDeposit and SignWithdraw (the stake
// transactions). A validator's key lives in a key file of the same
// format: LoadValidatorKey opens one and returns the private key the
// validating node signs with, and ReadPublicKey reads its public key
// without the passphrase.
//
// What it does not do: it holds one key per file (no HD derivation), knows
// nothing of balances or sequence numbers (chain state), cannot change a
// file's passphrase, and does not log.
//
// # File format
//
// A key file is one JSON object, version 2 (FileVersion):
//
//	{
//	  "version": 2,
//	  "address": "pm…",                 // chain.Address human form, in clear
//	  "public_key": "…",                // 32-byte ed25519 key, hex, in clear
//	  "kdf": {
//	    "name": "argon2id",
//	    "time": 3,                      // passes
//	    "memory_kib": 65536,            // KiB
//	    "threads": 4,                   // lanes
//	    "salt": "…"                     // 16 bytes, hex
//	  },
//	  "cipher": {
//	    "name": "xchacha20-poly1305",
//	    "nonce": "…",                   // 24 bytes, hex
//	    "ciphertext": "…"               // 32-byte seed + 16-byte tag, hex
//	  }
//	}
//
// The address must be the public key's (chain.PublicKey.Address), which
// every read checks, so ReadAddress, which has no passphrase, refuses a
// file whose address alone was altered. Every field but the ciphertext is
// bound into the seal as additional data, in a fixed binary layout
// computed from the parsed values (so re-indenting the JSON is harmless).
// Changing the version, a parameter, the salt, the nonce, the address or
// the public key therefore makes Load fail, even when the address and
// public key were replaced together with another key's; after opening,
// Load also checks that the seed's public key is the header's. Without the
// passphrase nothing can tell a replaced key from the original: a file
// someone else could write proves nothing about whose key it holds.
//
// Version 1 files, written before the public key was added, have no
// "public_key" and are otherwise the same (their seal binds the address).
// Load still opens them and checks the seed's address against theirs, so
// their coins stay spendable; ReadAddress refuses them with ErrVersion1,
// since it cannot check their address. Save writes a loaded key back in
// its own version.
//
// New uses DefaultKDFTime, DefaultKDFMemoryKiB and DefaultKDFThreads
// (3 passes over 64 MiB with 4 lanes, above the OWASP minimum for
// argon2id). Reading accepts any parameters within MinKDFTime..MaxKDFTime,
// 8 KiB per lane..MaxKDFMemoryKiB and MinKDFThreads..MaxKDFThreads, and
// files of at most MaxFileSize bytes, and checks all of that before it
// derives anything, so a hostile file costs at most 256 MiB and 10 passes
// (about 13 times the default work; see MaxKDFTime for why these bounds).
//
// # Errors
//
// Errors wrap sentinels (test with errors.Is): ErrCorrupt for a file that
// is not a valid key file (malformed JSON, unknown fields, unknown
// version, KDF or cipher, wrong lengths, parameters out of bounds, a bad
// address or one that is not the public key's); ErrVersion1 from
// ReadAddress for a version 1 file; ErrBadPassphrase when the seal does
// not open, which means a wrong passphrase or an altered file;
// ErrEmptyPassphrase from New; fs.ErrExist from Save when the file exists.
// No file content makes this package panic.
package wallet
