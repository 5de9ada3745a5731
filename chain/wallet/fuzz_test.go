package wallet

import (
	"errors"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to what Load does after reading the
// file: parseFile, then, when the parameters are cheap enough to derive
// at fuzzing speed, open with the test passphrase. Neither may panic;
// every rejection must wrap ErrCorrupt or ErrBadPassphrase; a file that
// parses must survive marshal and parse unchanged; a file that opens must
// hold the key of its address.
func FuzzLoad(f *testing.F) {
	k := newTestKey(f)
	valid, err := k.file.marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte(`{"version":1,"address":"pm0000000000000000000000000000000000000000f6eab7b9","kdf":{"name":"argon2id","time":1,"memory_kib":8,"threads":1,"salt":"00000000000000000000000000000000"},"cipher":{"name":"xchacha20-poly1305","nonce":"000000000000000000000000000000000000000000000000","ciphertext":"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, err := parseFile(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("parseFile error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		re, err := sf.marshal()
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseFile(re)
		if err != nil || *again != *sf {
			t.Fatalf("marshal/parse round trip: %v", err)
		}
		if uint64(sf.kdf.time)*uint64(sf.kdf.memoryKiB) > 256 {
			return // too slow to derive on every input
		}
		priv, err := sf.open(testPass)
		if err != nil {
			if !errors.Is(err, ErrBadPassphrase) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("open: %v", err)
			}
			return
		}
		if publicKey(priv).Address() != sf.address {
			t.Fatal("opened a key that is not the address's")
		}
	})
}
