package wallet

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/powmine/powmine/chain"
)

// FuzzLoad feeds arbitrary bytes to what Load does after reading the
// file: parseFile, then, when the parameters are cheap enough to derive
// at fuzzing speed, open with the test passphrase. Neither may panic;
// every rejection must wrap ErrCorrupt or ErrBadPassphrase; a file that
// parses must ask for at most 10 passes over 256 MiB with 16 lanes, must
// (after version 1) hold the address of its public key, and must survive
// marshal and parse unchanged; a file that opens must hold the key of its
// address. The seeds include a version 1 file, a file whose address was
// replaced, and files with parameters over the bounds, such as those of
// the first bounds (100 passes, 1 GiB, 64 lanes).
func FuzzLoad(f *testing.F) {
	k := newTestKey(f)
	valid, err := k.file.marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	v1, err := os.ReadFile("testdata/key-v1.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(v1)
	var zero chain.Address
	f.Add(bytes.Replace(valid, []byte(k.Address().String()), []byte(zero.String()), 1))
	for _, kdf := range []string{
		`"time": 100`, `"memory_kib": 1048576`, `"threads": 64`, `"time": 11`, `"memory_kib": 262145`, `"threads": 17`,
	} {
		name, _, _ := strings.Cut(kdf, ":")
		// testParams: 1 pass over 64 KiB with 1 lane.
		old := map[string]string{`"time"`: `"time": 1`, `"memory_kib"`: `"memory_kib": 64`, `"threads"`: `"threads": 1`}[name]
		if !bytes.Contains(valid, []byte(old)) {
			f.Fatalf("%s not in the file", old)
		}
		f.Add(bytes.Replace(valid, []byte(old), []byte(kdf), 1))
	}
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
		if p := sf.kdf; p.time > 10 || p.memoryKiB > 256<<10 || p.threads > 16 {
			t.Fatalf("parsed a file asking for %d passes over %d KiB with %d lanes", p.time, p.memoryKiB, p.threads)
		}
		if sf.version != fileVersion1 && sf.publicKey.Address() != sf.address {
			t.Fatalf("parsed a file whose address %s is not its public key's", sf.address)
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
