package wallet

import (
	"crypto/ed25519"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/powmine/powmine/chain"
)

// TestValidatorKey: a validator key file is a key file; LoadValidatorKey
// opens it, ReadPublicKey reads its public key without the passphrase,
// and both refuse what Load and ReadAddress refuse.
func TestValidatorKey(t *testing.T) {
	k, path := saveTestKey(t)
	priv, err := LoadValidatorKey(path, testPass)
	if err != nil {
		t.Fatal(err)
	}
	if chain.PublicKey(priv.Public().(ed25519.PublicKey)) != k.PublicKey() {
		t.Fatal("LoadValidatorKey returned another key")
	}
	priv[0] ^= 1 // the caller's copy: the Key is untouched
	if again, _ := LoadValidatorKey(path, testPass); again[0] == priv[0] {
		t.Fatal("LoadValidatorKey shares its slice")
	}
	if pub, err := ReadPublicKey(path); err != nil || pub != k.PublicKey() {
		t.Fatalf("ReadPublicKey: %v, %v", pub, err)
	}
	if _, err := LoadValidatorKey(path, []byte("wrong")); !errors.Is(err, ErrBadPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "none.json")
	if _, err := LoadValidatorKey(missing, testPass); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := ReadPublicKey(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadPublicKey of a missing file: %v", err)
	}
	if _, err := ReadPublicKey("testdata/key-v1.json"); !errors.Is(err, ErrVersion1) {
		t.Fatalf("version 1: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("{}"), 0o600)
	if _, err := ReadPublicKey(bad); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt: %v", err)
	}
}

// TestSignStake: deposits and withdraws signed through a Key verify, and
// carry the owner's and validator's keys.
func TestSignStake(t *testing.T) {
	owner, val := newTestKey(t), newTestKey(t)
	network := chain.Hash{7}
	d := &chain.Deposit{Amount: 10 * chain.BaseUnitsPerCoin, Fee: 1, Sequence: 3}
	if err := owner.SignDeposit(d, val.priv, network); err != nil {
		t.Fatal(err)
	}
	if d.From != owner.PublicKey() || d.Validator != val.PublicKey() || !d.Verify(network) || d.Verify(chain.Hash{8}) {
		t.Fatal("deposit")
	}
	if err := owner.SignDeposit(d, ed25519.PrivateKey{1}, network); err == nil {
		t.Fatal("short validator key accepted")
	}
	w := &chain.Withdraw{Validator: val.PublicKey(), Fee: 1, Sequence: 4}
	if err := owner.SignWithdraw(w, network); err != nil {
		t.Fatal(err)
	}
	if w.From != owner.PublicKey() || !w.Verify(network) || w.Verify(chain.Hash{8}) {
		t.Fatal("withdraw")
	}
}
