package wallet

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/powmine/powmine/chain"
)

// testParams keep argon2id cheap in tests (64 KiB, one pass).
var testParams = kdfParams{time: 1, memoryKiB: 64, threads: 1}

var testPass = []byte("correct horse battery staple")

// newTestKey returns a key sealed under testPass with testParams.
func newTestKey(t testing.TB) *Key {
	t.Helper()
	k, err := newKey(testPass, nil, testParams)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// saveTestKey saves a new test key in a fresh directory and returns it and
// the file's path.
func saveTestKey(t *testing.T) (*Key, string) {
	t.Helper()
	k := newTestKey(t)
	path := filepath.Join(t.TempDir(), "key.json")
	if err := k.Save(path); err != nil {
		t.Fatal(err)
	}
	return k, path
}

func TestRoundTrip(t *testing.T) {
	k, path := saveTestKey(t)
	if k.Address() != k.pub.Address() {
		t.Fatalf("Address %s, PublicKey().Address() %s", k.Address(), k.pub.Address())
	}

	loaded, err := Load(path, testPass)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Address() != k.Address() || loaded.pub != k.pub {
		t.Fatalf("loaded %s / %s, saved %s / %s", loaded.Address(), loaded.pub, k.Address(), k.pub)
	}
	addr, err := ReadAddress(path)
	if err != nil {
		t.Fatal(err)
	}
	if addr != k.Address() {
		t.Fatalf("ReadAddress %s, want %s", addr, k.Address())
	}

	to, _, err := chain.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	t1 := chain.Transfer{To: to.Address(), Amount: 5, Fee: 1, Sequence: 7}
	t2 := t1
	if err := loaded.SignTransfer(&t1, chain.DevParams.GenesisHash); err != nil {
		t.Fatal(err)
	}
	if t1.From != k.pub || !t1.Verify(chain.DevParams.GenesisHash) {
		t.Fatalf("signed by loaded key: From %s, Verify %v", t1.From, t1.Verify(chain.DevParams.GenesisHash))
	}
	if err := k.SignTransfer(&t2, chain.DevParams.GenesisHash); err != nil {
		t.Fatal(err)
	}
	if t1.Signature != t2.Signature { // ed25519 signatures are deterministic
		t.Fatal("loaded key signs differently from the saved one")
	}
	t1.Amount++
	if t1.Verify(chain.DevParams.GenesisHash) {
		t.Fatal("signature still verifies after changing the amount")
	}

	// A loaded key can be saved again and loads the same.
	path2 := filepath.Join(t.TempDir(), "copy.json")
	if err := loaded.Save(path2); err != nil {
		t.Fatal(err)
	}
	again, err := Load(path2, testPass)
	if err != nil || again.Address() != k.Address() {
		t.Fatalf("reload of a re-saved key: %v, %v", again, err)
	}
}

// TestNewDefaults runs New once with the real parameters (64 MiB).
func TestNewDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("derives a key with the default 64 MiB argon2id parameters")
	}
	k, err := New(testPass, nil)
	if err != nil {
		t.Fatal(err)
	}
	if k.file.kdf != (kdfParams{time: 3, memoryKiB: 64 << 10, threads: 4}) {
		t.Fatalf("New used %+v", k.file.kdf)
	}
	if _, err := k.file.open(testPass); err != nil {
		t.Fatal(err)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := newKey(nil, nil, testParams); !errors.Is(err, ErrEmptyPassphrase) {
		t.Fatalf("nil passphrase: %v", err)
	}
	if _, err := newKey([]byte{}, nil, testParams); !errors.Is(err, ErrEmptyPassphrase) {
		t.Fatalf("empty passphrase: %v", err)
	}
	if _, err := newKey(testPass, nil, kdfParams{time: 0, memoryKiB: 64, threads: 1}); err == nil {
		t.Fatal("zero time accepted")
	}
	// rand runs dry after the seed (32 bytes): salt or nonce fails.
	for _, n := range []int{0, 31, 32, 40, 32 + 16, 32 + 16 + 23} {
		if _, err := newKey(testPass, bytes.NewReader(make([]byte, n)), testParams); err == nil {
			t.Errorf("rand with %d bytes: no error", n)
		}
	}
	if _, err := newKey(testPass, bytes.NewReader(make([]byte, 32+16+24)), testParams); err != nil {
		t.Errorf("rand with exactly enough bytes: %v", err)
	}
}

func TestDeterministicWithRand(t *testing.T) {
	r := bytes.Repeat([]byte{7}, 32+16+24)
	a, err := newKey(testPass, bytes.NewReader(r), testParams)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newKey(testPass, bytes.NewReader(r), testParams)
	if err != nil {
		t.Fatal(err)
	}
	if *a.file != *b.file {
		t.Fatal("same rand, different files")
	}
	want := chain.PublicKey(ed25519.NewKeyFromSeed(r[:32]).Public().(ed25519.PublicKey))
	if a.pub != want {
		t.Fatal("seed is not the first 32 bytes of rand")
	}
}

func TestWrongPassphrase(t *testing.T) {
	_, path := saveTestKey(t)
	for _, pass := range [][]byte{[]byte("wrong"), nil, append(bytes.Clone(testPass), 0)} {
		k, err := Load(path, pass)
		if !errors.Is(err, ErrBadPassphrase) || k != nil {
			t.Errorf("passphrase %q: key %v, error %v", pass, k, err)
		}
	}
}

// readJSON returns the key file at path as a generic JSON tree.
func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// flipHex returns s with its last hex digit changed.
func flipHex(s string) string {
	last := s[len(s)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return s[:len(s)-1] + string(repl)
}

// TestTamper changes each field of a valid file in turn. Load must fail
// for every change, with ErrCorrupt where the value is not acceptable at
// all and ErrBadPassphrase where only the seal can tell.
func TestTamper(t *testing.T) {
	k, path := saveTestKey(t)
	other, _, err := chain.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(m, kdf, ciph map[string]any)
		want   error
	}{
		{"version 1", func(m, _, _ map[string]any) { m["version"] = 1 }, ErrCorrupt},
		{"version 3", func(m, _, _ map[string]any) { m["version"] = 3 }, ErrCorrupt},
		{"version zero", func(m, _, _ map[string]any) { m["version"] = 0 }, ErrCorrupt},
		{"address", func(m, _, _ map[string]any) { m["address"] = other.Address().String() }, ErrCorrupt},
		{"address checksum", func(m, _, _ map[string]any) { m["address"] = flipHex(m["address"].(string)) }, ErrCorrupt},
		{"public key", func(m, _, _ map[string]any) { m["public_key"] = other.String() }, ErrCorrupt},
		{"public key and address", func(m, _, _ map[string]any) {
			m["public_key"], m["address"] = other.String(), other.Address().String()
		}, ErrBadPassphrase},
		{"public key not hex", func(m, _, _ map[string]any) { m["public_key"] = "zz" + other.String()[2:] }, ErrCorrupt},
		{"public key short", func(m, _, _ map[string]any) { m["public_key"] = other.String()[2:] }, ErrCorrupt},
		{"missing public key", func(m, _, _ map[string]any) { delete(m, "public_key") }, ErrCorrupt},
		{"kdf name", func(_, kdf, _ map[string]any) { kdf["name"] = "argon2i" }, ErrCorrupt},
		{"kdf time", func(_, kdf, _ map[string]any) { kdf["time"] = 2 }, ErrBadPassphrase},
		{"kdf memory", func(_, kdf, _ map[string]any) { kdf["memory_kib"] = 72 }, ErrBadPassphrase},
		{"kdf threads", func(_, kdf, _ map[string]any) { kdf["threads"] = 2 }, ErrBadPassphrase},
		{"kdf salt", func(_, kdf, _ map[string]any) { kdf["salt"] = flipHex(kdf["salt"].(string)) }, ErrBadPassphrase},
		{"cipher name", func(_, _, c map[string]any) { c["name"] = "chacha20-poly1305" }, ErrCorrupt},
		{"cipher nonce", func(_, _, c map[string]any) { c["nonce"] = flipHex(c["nonce"].(string)) }, ErrBadPassphrase},
		{"ciphertext", func(_, _, c map[string]any) { c["ciphertext"] = flipHex(c["ciphertext"].(string)) }, ErrBadPassphrase},
		{"ciphertext first byte", func(_, _, c map[string]any) {
			s := c["ciphertext"].(string)
			c["ciphertext"] = flipHex(s[:2]) + s[2:]
		}, ErrBadPassphrase},
		{"unknown field", func(m, _, _ map[string]any) { m["comment"] = "hi" }, ErrCorrupt},
		{"unknown kdf field", func(_, kdf, _ map[string]any) { kdf["pepper"] = "x" }, ErrCorrupt},
		{"missing address", func(m, _, _ map[string]any) { delete(m, "address") }, ErrCorrupt},
		{"missing salt", func(_, kdf, _ map[string]any) { delete(kdf, "salt") }, ErrCorrupt},
		{"missing kdf", func(m, _, _ map[string]any) { delete(m, "kdf") }, ErrCorrupt},
		{"missing cipher", func(m, _, _ map[string]any) { delete(m, "cipher") }, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := readJSON(t, path)
			tt.change(m, m["kdf"].(map[string]any), m["cipher"].(map[string]any))
			data, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), "key.json")
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := Load(p, testPass)
			if !errors.Is(err, tt.want) || got != nil {
				t.Fatalf("Load: key %v, error %v; want %v", got, err, tt.want)
			}
		})
	}

	// Re-encoding the same values (compact JSON, other key order) is not
	// tampering.
	data, err := json.Marshal(readJSON(t, path))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "compact.json")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := Load(p, testPass); err != nil || got.Address() != k.Address() {
		t.Fatalf("re-encoded file: %v, %v", got, err)
	}
}

// TestAddressMismatch seals a seed under a header naming another
// address, or another public key with its address, as only someone with
// the passphrase could: Load reports it as corrupt instead of returning a
// key whose Address lies.
func TestAddressMismatch(t *testing.T) {
	pub, priv, err := chain.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := chain.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	wrong := pub.Address()
	wrong[0] ^= 1
	for _, h := range []header{
		{version: 1, address: wrong, kdf: testParams},
		{version: FileVersion, address: other.Address(), publicKey: other, kdf: testParams},
	} {
		f, err := seal(h, priv.Seed(), testPass, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k := &Key{priv: priv, pub: pub, file: f}
		path := filepath.Join(t.TempDir(), "key.json")
		if err := k.Save(path); err != nil {
			t.Fatal(err)
		}
		if got, err := Load(path, testPass); !errors.Is(err, ErrCorrupt) || got != nil {
			t.Fatalf("version %d: Load: key %v, error %v; want ErrCorrupt", h.version, got, err)
		}
	}
}

// TestAADBindsHeader changes each header field in turn: the additional
// data of the seal must change with it, so that no field can be altered
// without Load failing. A version 1 header has no public key to bind.
func TestAADBindsHeader(t *testing.T) {
	k := newTestKey(t)
	base := k.file.header
	tests := []struct {
		name   string
		change func(h *header)
	}{
		{"version", func(h *header) { h.version = fileVersion1 }},
		{"address", func(h *header) { h.address[chain.AddressSize-1] ^= 1 }},
		{"public key", func(h *header) { h.publicKey[31] ^= 1 }},
		{"kdf time", func(h *header) { h.kdf.time++ }},
		{"kdf memory", func(h *header) { h.kdf.memoryKiB++ }},
		{"kdf threads", func(h *header) { h.kdf.threads++ }},
		{"salt", func(h *header) { h.salt[0] ^= 1 }},
		{"nonce", func(h *header) { h.nonce[nonceSize-1] ^= 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := base
			tt.change(&h)
			if bytes.Equal(h.aad(), base.aad()) {
				t.Fatal("additional data unchanged")
			}
		})
	}
	v1 := base
	v1.version = fileVersion1
	other := v1
	other.publicKey[0] ^= 1
	if !bytes.Equal(v1.aad(), other.aad()) {
		t.Fatal("a version 1 header binds a public key it does not have")
	}
}

// TestReadAddressChecksPublicKey is the attack on "node wallet address":
// a key file whose clear-text address was replaced by another valid
// address. ReadAddress must refuse it, since the address is not the one
// derived from the public key stored beside it. Replacing both with
// another key's is what replacing the whole file does; ReadAddress cannot
// tell, but Load can, since both are sealed as additional data.
func TestReadAddressChecksPublicKey(t *testing.T) {
	k, path := saveTestKey(t)
	m := readJSON(t, path)
	if m["public_key"] != k.pub.String() {
		t.Fatalf("file's public_key %v, want %s", m["public_key"], k.pub)
	}
	other, _, err := chain.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	write := func(m map[string]any) string {
		t.Helper()
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "key.json")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	m["address"] = other.Address().String()
	p := write(m)
	if addr, err := ReadAddress(p); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), p) {
		t.Fatalf("ReadAddress of a file with another address: %s, %v; want ErrCorrupt naming the file", addr, err)
	}

	m["public_key"] = other.String()
	p = write(m)
	if addr, err := ReadAddress(p); err != nil || addr != other.Address() {
		t.Fatalf("ReadAddress of a consistent file: %s, %v", addr, err)
	}
	if got, err := Load(p, testPass); !errors.Is(err, ErrBadPassphrase) || got != nil {
		t.Fatalf("Load of a file with another key's public key and address: %v, %v; want ErrBadPassphrase", got, err)
	}
}

// TestVersion1 reads testdata/key-v1.json, a version 1 file (no public
// key) written by the first version of this package with testParams and
// testPass. Load still opens it, since the seal binds its address and
// Load checks the address against the opened key; ReadAddress refuses it
// with ErrVersion1, since nothing in it lets the address be checked
// without the passphrase.
func TestVersion1(t *testing.T) {
	const (
		path = "testdata/key-v1.json"
		addr = "pm7b32aa0e5e5e1c26fc5bc677ff24d73d9c28f4eba6fb403d"
		pub  = "8d3bb03133a679f0481bbf9bf93e48849910b8f5cc2f75c9958648c9070250a2"
	)
	k, err := Load(path, testPass)
	if err != nil {
		t.Fatal(err)
	}
	if k.Address().String() != addr || k.pub.String() != pub {
		t.Fatalf("Load: address %s, public key %s; want %s, %s", k.Address(), k.pub, addr, pub)
	}
	if got, err := ReadAddress(path); !errors.Is(err, ErrVersion1) || errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
		t.Fatalf("ReadAddress: %s, %v; want ErrVersion1 naming the file", got, err)
	}

	// Saved again, it stays version 1 and byte for byte the same.
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "key.json")
	if err := k.Save(p); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("re-saved version 1 file:\n%s\nwant\n%s (%v)", got, want, err)
	}

	// The seal binds a version 1 file's address as before.
	other, _, err := chain.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(want, []byte(addr), []byte(other.Address().String()), 1)
	if err := os.WriteFile(p, tampered, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := Load(p, testPass); !errors.Is(err, ErrBadPassphrase) || got != nil {
		t.Fatalf("Load of a version 1 file with another address: %v, %v; want ErrBadPassphrase", got, err)
	}
	// A public key has no place in a version 1 file.
	withPub := bytes.Replace(want, []byte(`"address"`), []byte(`"public_key": "`+pub+`", "address"`), 1)
	if err := os.WriteFile(p, withPub, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := Load(p, testPass); !errors.Is(err, ErrCorrupt) || got != nil {
		t.Fatalf("Load of a version 1 file with a public key: %v, %v; want ErrCorrupt", got, err)
	}
}

func TestCorruptFiles(t *testing.T) {
	_, path := saveTestKey(t)
	valid, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseFile(valid); err != nil {
		t.Fatal(err)
	}

	// Every truncation is corrupt (the last byte is a newline, whose
	// absence is harmless).
	body := bytes.TrimRight(valid, "\n")
	for n := range len(body) {
		if _, err := parseFile(valid[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: %v", n, err)
		}
	}

	salt := hex.EncodeToString(make([]byte, saltSize))
	replace := func(old, new string) []byte {
		if !bytes.Contains(valid, []byte(old)) {
			t.Fatalf("%q not in the file", old)
		}
		return bytes.Replace(valid, []byte(old), []byte(new), 1)
	}
	m := readJSON(t, path)
	kdf := m["kdf"].(map[string]any)
	ciph := m["cipher"].(map[string]any)
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"whitespace", []byte(" \n")},
		{"null", []byte("null")},
		{"empty object", []byte("{}")},
		{"array", []byte("[1,2]")},
		{"garbage", []byte("\x00\xff\xfe garbage")},
		{"trailing object", append(bytes.Clone(valid), "{}"...)},
		{"trailing garbage", append(bytes.Clone(valid), "x"...)},
		{"two files", append(bytes.Clone(valid), valid...)},
		{"too large", append(bytes.Clone(valid), bytes.Repeat([]byte(" "), MaxFileSize)...)},
		{"negative time", replace(`"time": 1`, `"time": -1`)},
		{"fractional time", replace(`"time": 1`, `"time": 1.5`)},
		{"huge time", replace(`"time": 1`, `"time": 99999999999999999999`)},
		{"time as string", replace(`"time": 1`, `"time": "1"`)},
		{"version as string", replace(`"version": 2`, `"version": "2"`)},
		{"salt short", replace(kdf["salt"].(string), salt[2:])},
		{"salt long", replace(kdf["salt"].(string), salt+"00")},
		{"salt odd", replace(kdf["salt"].(string), salt[1:])},
		{"salt not hex", replace(kdf["salt"].(string), "zz"+salt[2:])},
		{"nonce short", replace(ciph["nonce"].(string), ciph["nonce"].(string)[2:])},
		{"nonce empty", replace(ciph["nonce"].(string), "")},
		{"ciphertext short", replace(ciph["ciphertext"].(string), ciph["ciphertext"].(string)[2:])},
		{"ciphertext long", replace(ciph["ciphertext"].(string), ciph["ciphertext"].(string)+"00")},
		{"ciphertext without tag", replace(ciph["ciphertext"].(string), ciph["ciphertext"].(string)[:2*seedSize])},
		{"address short", replace(m["address"].(string), m["address"].(string)[:10])},
		{"address prefix", replace(m["address"].(string), "PM"+m["address"].(string)[2:])},
		{"kdf not object", replace(`"kdf": {`, `"kdf": 1, "x": {`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseFile(tt.data); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("parseFile: %v", err)
			}
			p := filepath.Join(t.TempDir(), "key.json")
			if err := os.WriteFile(p, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			if k, err := Load(p, testPass); !errors.Is(err, ErrCorrupt) || k != nil {
				t.Fatalf("Load: key %v, error %v", k, err)
			}
			if _, err := ReadAddress(p); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("ReadAddress: %v", err)
			}
		})
	}

	// Not a file: file system errors, not ErrCorrupt, and no panic.
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	if _, err := Load(missing, testPass); !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrCorrupt) {
		t.Errorf("Load of a missing file: %v", err)
	}
	if _, err := ReadAddress(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadAddress of a missing file: %v", err)
	}
	if _, err := Load(dir, testPass); err == nil {
		t.Error("Load of a directory: no error")
	}
}

func TestKDFBounds(t *testing.T) {
	tests := []struct {
		name string
		p    kdfParams
		ok   bool
	}{
		{"smallest", kdfParams{time: 1, memoryKiB: 8, threads: 1}, true},
		{"largest", kdfParams{time: MaxKDFTime, memoryKiB: MaxKDFMemoryKiB, threads: MaxKDFThreads}, true},
		{"defaults", defaultKDFParams, true},
		{"time 0", kdfParams{time: 0, memoryKiB: 64, threads: 1}, false},
		{"time over", kdfParams{time: MaxKDFTime + 1, memoryKiB: 64, threads: 1}, false},
		{"time max uint32", kdfParams{time: 1<<32 - 1, memoryKiB: 64, threads: 1}, false},
		{"memory over", kdfParams{time: 1, memoryKiB: MaxKDFMemoryKiB + 1, threads: 1}, false},
		{"memory max uint32", kdfParams{time: 1, memoryKiB: 1<<32 - 1, threads: 1}, false},
		{"memory 0", kdfParams{time: 1, memoryKiB: 0, threads: 1}, false},
		{"memory below 8 KiB per lane", kdfParams{time: 1, memoryKiB: 8*4 - 1, threads: 4}, false},
		{"threads 0", kdfParams{time: 1, memoryKiB: 64, threads: 0}, false},
		{"threads over", kdfParams{time: 1, memoryKiB: 1024, threads: MaxKDFThreads + 1}, false},
		{"threads 255", kdfParams{time: 1, memoryKiB: 1 << 12, threads: 255}, false},
		// Within the first bounds, which let a crafted file stall Load for
		// over a minute with 1 GiB of memory.
		{"100 passes, 1 GiB, 64 lanes", kdfParams{time: 100, memoryKiB: 1 << 20, threads: 64}, false},
		{"11 passes", kdfParams{time: 11, memoryKiB: 64, threads: 1}, false},
		{"256 MiB + 1 KiB", kdfParams{time: 1, memoryKiB: 256<<10 + 1, threads: 1}, false},
		{"17 lanes", kdfParams{time: 1, memoryKiB: 1024, threads: 17}, false},
		{"10 passes, 256 MiB, 16 lanes", kdfParams{time: 10, memoryKiB: 256 << 10, threads: 16}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.check()
			if tt.ok != (err == nil) || err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("check(%+v) = %v, want ok %v", tt.p, err, tt.ok)
			}
		})
	}
}

// TestKDFBoundsOnLoad gives Load and ReadAddress files whose parameters
// are out of bounds, several of them ruinous if derived (4 TiB, 2^32
// passes, or 100 passes over 1 GiB, which the first bounds allowed), and
// checks that Load rejects them, naming the file and the bound, before
// allocating anything like the KDF's memory.
func TestKDFBoundsOnLoad(t *testing.T) {
	_, path := saveTestKey(t)
	tests := []struct {
		name  string
		edit  func(kdf map[string]any)
		bound string // in the error
	}{
		{"memory 256 MiB + 1 KiB", func(kdf map[string]any) { kdf["memory_kib"] = 256<<10 + 1 }, "262144"},
		{"memory 1 GiB", func(kdf map[string]any) { kdf["memory_kib"] = 1 << 20 }, "262144"},
		{"memory 4 TiB", func(kdf map[string]any) { kdf["memory_kib"] = 1<<32 - 1 }, "262144"},
		{"memory overflows uint32", func(kdf map[string]any) { kdf["memory_kib"] = 1 << 32 }, "memory_kib"},
		{"time 11", func(kdf map[string]any) { kdf["time"] = 11 }, "[1, 10]"},
		{"time 100", func(kdf map[string]any) { kdf["time"] = 100 }, "[1, 10]"},
		{"time 2^32-1", func(kdf map[string]any) { kdf["time"] = 1<<32 - 1 }, "[1, 10]"},
		{"time 0", func(kdf map[string]any) { kdf["time"] = 0 }, "[1, 10]"},
		{"threads 0", func(kdf map[string]any) { kdf["threads"] = 0 }, "[1, 16]"},
		{"threads 17", func(kdf map[string]any) { kdf["threads"] = 17 }, "[1, 16]"},
		{"threads 64", func(kdf map[string]any) { kdf["threads"] = 64 }, "[1, 16]"},
		{"threads 256", func(kdf map[string]any) { kdf["threads"] = 256 }, "[1, 16]"},
		{"threads 2^32-1", func(kdf map[string]any) { kdf["threads"] = 1<<32 - 1 }, "[1, 16]"},
		{"threads 257 (1 as uint8)", func(kdf map[string]any) { kdf["threads"] = 257 }, "[1, 16]"},
		{"memory under 8 KiB per lane", func(kdf map[string]any) { kdf["memory_kib"] = 15; kdf["threads"] = 2 }, "[16, 262144]"},
		{"100 passes over 1 GiB with 64 lanes", func(kdf map[string]any) {
			kdf["time"], kdf["memory_kib"], kdf["threads"] = 100, 1<<20, 64
		}, "[1, 16]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := readJSON(t, path)
			tt.edit(m["kdf"].(map[string]any))
			data, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), "key.json")
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			k, err := Load(p, testPass)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrCorrupt) || k != nil {
				t.Fatalf("Load: key %v, error %v; want ErrCorrupt", k, err)
			}
			if msg := err.Error(); !strings.Contains(msg, p) || !strings.Contains(msg, tt.bound) {
				t.Errorf("Load error %q does not name the file and %q", msg, tt.bound)
			}
			if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
				t.Fatalf("Load allocated %d bytes before rejecting the file", d)
			}
			if _, err := ReadAddress(p); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("ReadAddress: %v; want ErrCorrupt", err)
			}
		})
	}
}

func TestFileMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	_, path := saveTestKey(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != FileMode {
		t.Fatalf("mode %v, want %v", fi.Mode(), FileMode)
	}
}

func TestNoOverwrite(t *testing.T) {
	first, path := saveTestKey(t)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	second := newTestKey(t)
	if err := second.Save(path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Save over an existing file: %v", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("Save changed an existing file")
	}
	assertOnlyFile(t, path)
	if k, err := Load(path, testPass); err != nil || k.Address() != first.Address() {
		t.Fatalf("after refused Save: %v, %v", k, err)
	}

	// A missing directory is an error.
	if err := second.Save(filepath.Join(path+".d", "key.json")); err == nil {
		t.Fatal("Save into a missing directory succeeded")
	}
}

// assertOnlyFile fails unless path is the only entry in its directory
// (Save must not leave temporary files behind).
func assertOnlyFile(t *testing.T, path string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != filepath.Base(path) {
		t.Fatalf("directory holds %v, want only %s", names, filepath.Base(path))
	}
}

func TestStringHidesKey(t *testing.T) {
	k := newTestKey(t)
	seed := hex.EncodeToString(k.priv.Seed())
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		s := fmt.Sprintf(format, k)
		if strings.Contains(s, seed) || !strings.Contains(s, k.Address().String()) {
			t.Errorf("%s prints %q", format, s)
		}
	}
}

// TestReseal brings a version 1 file up to date: the resealed key has the
// same address and signs alike, its file is version 2, ReadAddress reads
// it, and it opens with the new passphrase only.
func TestReseal(t *testing.T) {
	k, err := Load("testdata/key-v1.json", testPass)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Reseal(nil); !errors.Is(err, ErrEmptyPassphrase) {
		t.Fatalf("empty passphrase: %v", err)
	}
	newPass := []byte("another passphrase")
	r, err := k.Reseal(newPass)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "key.json")
	if err := r.Save(p); err != nil {
		t.Fatal(err)
	}
	if a, err := ReadAddress(p); err != nil || a != k.Address() {
		t.Fatalf("ReadAddress of the resealed file: %s, %v; want %s", a, err, k.Address())
	}
	raw, err := os.ReadFile(p)
	if err != nil || !bytes.Contains(raw, []byte(`"version": 2`)) {
		t.Fatalf("resealed file is not version 2: %s %v", raw, err)
	}
	if _, err := Load(p, testPass); !errors.Is(err, ErrBadPassphrase) {
		t.Fatalf("old passphrase on the resealed file: %v", err)
	}
	back, err := Load(p, newPass)
	if err != nil {
		t.Fatal(err)
	}
	var tr1, tr2 chain.Transfer
	var network chain.Hash
	if err := k.SignTransfer(&tr1, network); err != nil {
		t.Fatal(err)
	}
	if err := back.SignTransfer(&tr2, network); err != nil {
		t.Fatal(err)
	}
	if tr1 != tr2 {
		t.Fatal("the resealed key signs differently")
	}
}
