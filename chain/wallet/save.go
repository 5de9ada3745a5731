package wallet

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/powmine/powmine/chain"
)

// FileMode is the permission of a key file Save writes.
const FileMode os.FileMode = 0o600

// Save writes the sealed key to path and refuses to replace an existing
// file: then the error wraps fs.ErrExist (test with errors.Is). The file
// is written whole or not at all: the contents go to a temporary file in
// the same directory (mode FileMode), which is synced and then linked to
// path, so no other writer can slip in between the check and the write;
// the directory is synced afterwards. This needs a file system with hard
// links. The passphrase is not needed: the key was sealed by New or Load.
func (k *Key) Save(path string) (err error) {
	data, err := k.file.marshal()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("wallet: save: %w", err)
	}
	tmpName := tmp.Name()
	defer func() {
		if tmp != nil {
			tmp.Close()
		}
		if rmErr := os.Remove(tmpName); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) && err == nil {
			err = fmt.Errorf("wallet: save: remove temporary file: %w", rmErr)
		}
	}()
	if err := tmp.Chmod(FileMode); err != nil {
		return fmt.Errorf("wallet: save: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("wallet: save: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("wallet: save: %w", err)
	}
	err = tmp.Close()
	tmp = nil
	if err != nil {
		return fmt.Errorf("wallet: save: %w", err)
	}
	if err := os.Link(tmpName, path); err != nil {
		return fmt.Errorf("wallet: save: %w", err)
	}
	return syncDir(dir)
}

// syncDir makes a new directory entry durable. Windows cannot open a
// directory for syncing and needs no such step.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("wallet: save: sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("wallet: save: sync directory: %w", err)
	}
	return nil
}

// Load reads the key file at path and opens it with passphrase. Errors
// wrap ErrCorrupt for a file this package cannot read (see ErrCorrupt),
// checked before any key derivation, so the KDF never runs with
// parameters outside the bounds; ErrBadPassphrase when the seal does not
// open; or the file system's error. It takes as long as the file's KDF
// parameters say (well under a second with the defaults).
func Load(path string, passphrase []byte) (*Key, error) {
	f, err := readFile(path)
	if err != nil {
		return nil, err
	}
	priv, err := f.open(passphrase)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return &Key{priv: priv, pub: publicKey(priv), file: f}, nil
}

// ReadAddress returns the address in the key file at path without the
// passphrase. It validates the whole file as Load does (errors wrap
// ErrCorrupt), which includes checking that the address is the one of the
// public key stored beside it, so an address altered alone is refused. It
// cannot open the seal: a file whose public key and address were both
// replaced (as replacing the whole file would) passes, and only Load
// detects that. A version 1 file, which holds no public key, is refused
// with ErrVersion1.
func ReadAddress(path string) (chain.Address, error) {
	f, err := readFile(path)
	if err != nil {
		return chain.Address{}, err
	}
	if f.version == fileVersion1 {
		return chain.Address{}, fmt.Errorf("%w (file %s)", ErrVersion1, path)
	}
	return f.address, nil
}

// readFile reads and parses the key file at path, reading at most
// MaxFileSize+1 bytes.
func readFile(path string) (*sealedFile, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wallet: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("wallet: read %s: %w", path, err)
	}
	f, err := parseFile(data)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return f, nil
}
