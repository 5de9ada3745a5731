package store

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/chain/storage"
	bolt "go.etcd.io/bbolt"
)

// TestOpenErrors opens files this package cannot use.
func TestOpenErrors(t *testing.T) {
	c := newTestChain(t, "open", 1)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	random := make([]byte, 64<<10)
	_, _ = rand.Read(random)
	// A real store, truncated to its first page.
	good := filepath.Join(dir, "good.db")
	db, err := Open(good, c.p)
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	full, _ := os.ReadFile(good)
	// A bbolt file written by someone else.
	other := filepath.Join(dir, "other.db")
	bdb, err := bolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = bdb.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("stuff")); return err })
	_ = bdb.Close()

	tests := []struct {
		name string
		path string
		want error // nil: any error
	}{
		{"text file", write("text.db", []byte(strings.Repeat("not a database\n", 1000))), nil},
		{"random bytes", write("random.db", random), nil},
		{"truncated store", write("trunc.db", full[:1024]), nil},
		{"store cut after its meta pages", write("trunc2.db", full[:3*4096]), nil},
		{"foreign bbolt file", other, ErrNotStore},
		{"directory", dir, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(tt.path, c.p, WithLockTimeout(100*time.Millisecond))
			if err == nil {
				_ = db.Close()
				t.Fatal("Open succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.path) {
				t.Fatalf("error %q does not name the file", err)
			}
			t.Log(err)
		})
	}
}

// scenarioFile runs the test scenario on a new store, closes it and
// returns the chain, the scenario, the file's path and its bytes.
func scenarioFile(t *testing.T, name string) (*testChain, *scenario, string, []byte) {
	t.Helper()
	c := newTestChain(t, name, 5)
	s := c.buildScenario()
	db, path := openTemp(t, c)
	runScenario(t, c, s, db)
	_ = db.Close()
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return c, s, path, full
}

// TestTruncatedFile cuts a used store at every page boundary: Open and a
// node on it must fail cleanly or work, never crash (bbolt alone dies
// with SIGBUS on such files).
func TestTruncatedFile(t *testing.T) {
	c, _, _, full := scenarioFile(t, "trunc")
	refused := 0
	for cut := 4096; cut < len(full); cut += 4096 {
		p := filepath.Join(t.TempDir(), "cut.db")
		if err := os.WriteFile(p, full[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := Open(p, c.p)
		if err != nil {
			refused++
			continue
		}
		_, _ = node.New(c.config(db))
		_ = db.Close()
	}
	if refused == 0 {
		t.Fatalf("no cut of a %d-byte store was refused", len(full))
	}
}

// rawUpdate changes the file of db behind its back.
func rawUpdate(t *testing.T, db *DB, fn func(tx *bolt.Tx) error) {
	t.Helper()
	if err := db.bolt.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// TestSchemaAndNetwork refuses a newer or older schema and another
// network's file.
func TestSchemaAndNetwork(t *testing.T) {
	c := newTestChain(t, "alpha", 1)
	other := newTestChain(t, "beta", 1)
	db, path := openTemp(t, c)
	if _, err := node.New(c.config(db)); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()

	_, err := Open(path, other.p)
	if !errors.Is(err, ErrWrongNetwork) || !strings.Contains(err.Error(), `"alpha"`) {
		t.Fatalf("Open with another network: %v, want ErrWrongNetwork naming alpha", err)
	}
	db, err = Open(path, c.p)
	if err != nil {
		t.Fatal(err)
	}
	rawUpdate(t, db, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaSchema, binary.BigEndian.AppendUint32(nil, SchemaVersion+1))
	})
	_ = db.Close()
	if _, err := Open(path, c.p); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open of a newer schema: %v, want ErrNewerSchema", err)
	}
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaSchema, binary.BigEndian.AppendUint32(nil, SchemaVersion-1))
	}); err != nil {
		t.Fatal(err)
	}
	_ = bdb.Close()
	if _, err := Open(path, c.p); !errors.Is(err, ErrOlderSchema) {
		t.Fatalf("Open of an older schema: %v, want ErrOlderSchema", err)
	}
	if _, err := Open(path, nil); err == nil {
		t.Fatal("Open without params succeeded")
	}
	if _, err := Open(path, c.p, WithLockTimeout(0)); err == nil {
		t.Fatal("Open with a zero lock timeout succeeded")
	}
}

// lockHelperEnv names the file TestLockHelper tries to open.
const lockHelperEnv = "STORE_TEST_LOCKED_PATH"

// TestLockedFile checks that a second process, and a second DB in this
// one, get ErrLocked after the lock timeout instead of hanging.
func TestLockedFile(t *testing.T) {
	c := newTestChain(t, "lock", 1)
	_, path := openTemp(t, c)

	start := time.Now()
	_, err := Open(path, c.p, WithLockTimeout(200*time.Millisecond))
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Fatalf("second Open: %v, want ErrLocked naming the file", err)
	}
	// bbolt retries every 50 ms and gives up once the next retry would
	// pass the timeout.
	if d := time.Since(start); d < 100*time.Millisecond || d > 5*time.Second {
		t.Fatalf("second Open gave up after %v", d)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("LOCKED")) {
		t.Fatalf("second process: %v\n%s", err, out)
	}
}

// TestLockHelper is the second process of TestLockedFile.
func TestLockHelper(t *testing.T) {
	path := os.Getenv(lockHelperEnv)
	if path == "" {
		t.Skip("helper for TestLockedFile")
	}
	c := newTestChain(t, "lock", 1)
	db, err := Open(path, c.p) // the default timeout
	if err == nil {
		_ = db.Close()
		t.Fatal("opened a locked file")
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("error %v, want ErrLocked", err)
	}
	os.Stdout.WriteString("LOCKED\n")
}

// TestCorruptValues writes bad values with raw bbolt and checks that
// Load, Block and Undo fail with a CorruptError naming bucket and key.
func TestCorruptValues(t *testing.T) {
	c := newTestChain(t, "corrupt", 2)
	g := c.genesis
	gh := g.Hash()
	blk := c.next(g, 1, 0)
	goodIndex := appendIndexValue(nil, &storage.IndexEntry{Header: g.Header, Status: storage.StatusDataStored})
	gkey := indexKey(0, gh)

	tests := []struct {
		name   string
		bucket []byte
		key    []byte
		val    []byte
		read   func(db *DB) error
	}{
		{"index truncated", bucketIndex, gkey, goodIndex[:40], load},
		{"index empty", bucketIndex, gkey, []byte{}, load},
		{"index format", bucketIndex, gkey, append([]byte{9}, goodIndex[1:]...), load},
		{"index trailing", bucketIndex, gkey, append(bytes.Clone(goodIndex), 0), load},
		{"index seq non-canonical", bucketIndex, gkey, append(bytes.Clone(goodIndex[:len(goodIndex)-1]), 0x80, 0x00), load},
		{"index header mismatch", bucketIndex, indexKey(0, chain.Hash{1}), goodIndex, load},
		{"index key short", bucketIndex, gh[:], goodIndex, load},
		{"index height overflow", bucketIndex, indexKey(-1, gh), goodIndex, load},
		{"index duplicate hash", bucketIndex, indexKey(7, gh), goodIndex, load},
		{"account garbage", bucketAccounts, addrKey(1), []byte{1, 0xff}, load},
		{"account zero", bucketAccounts, addrKey(1), []byte{1, 0, 0}, load},
		{"account key short", bucketAccounts, []byte{1, 2, 3}, []byte{1, 1, 0}, load},
		{"tip short", bucketMeta, metaTip, gh[:31], load},
		{"block garbage", bucketBlocks, gh[:], []byte("garbage"), func(db *DB) error { _, err := db.Block(gh); return err }},
		{"block under the wrong key", bucketBlocks, gh[:], mustMarshal(t, blk), func(db *DB) error { _, err := db.Block(gh); return err }},
		{"undo truncated", bucketUndo, gh[:], appendUndo(nil, &storage.Undo{Accounts: []storage.AccountEntry{{Address: addr(0)}}})[:10],
			func(db *DB) error { _, err := db.Undo(gh); return err }},
		{"undo huge count", bucketUndo, gh[:], []byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f}, func(db *DB) error { _, err := db.Undo(gh); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openTemp(t, c)
			if _, err := node.New(c.config(db)); err != nil {
				t.Fatal(err)
			}
			rawUpdate(t, db, func(tx *bolt.Tx) error { return tx.Bucket(tt.bucket).Put(tt.key, tt.val) })
			err := tt.read(db)
			var cerr *CorruptError
			if !errors.Is(err, ErrCorrupt) || !errors.As(err, &cerr) {
				t.Fatalf("error %v, want a CorruptError", err)
			}
			if cerr.Bucket != string(tt.bucket) || !bytes.Equal(cerr.Key, tt.key) {
				t.Fatalf("error names bucket %q key %x, want %q %x", cerr.Bucket, cerr.Key, tt.bucket, tt.key)
			}
			if !strings.Contains(err.Error(), string(tt.bucket)) {
				t.Fatalf("message %q does not name the bucket", err)
			}
			// The node refuses to start on it (for what it loads).
			if _, err := node.New(c.config(db)); err == nil && tt.bucket[0] != 'b' && tt.bucket[0] != 'u' {
				t.Fatal("node started on a corrupt store")
			}
		})
	}
}

// load is a read for TestCorruptValues.
func load(db *DB) error { _, err := db.Load(); return err }

// mustMarshal encodes b.
func mustMarshal(t *testing.T, b *chain.Block) []byte {
	t.Helper()
	v, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestCommitAtomic makes Commits fail at each stage, and with a value the
// store refuses late in the batch, and checks that nothing was applied.
func TestCommitAtomic(t *testing.T) {
	c := newTestChain(t, "atomic", 2)
	db, _ := openTemp(t, c)
	n, err := node.New(c.config(db))
	if err != nil {
		t.Fatal(err)
	}
	b1 := c.next(c.genesis, 1, 0, transfer(t, 0, 1, 5, 1, 0))
	if _, err := n.ProcessBlock(b1); err != nil {
		t.Fatal(err)
	}
	before := node.NewMemStore()
	if err := before.Commit(snapshotBatch(t, db)); err != nil {
		t.Fatal(err)
	}
	b2 := c.next(b1, 1, 0)
	gh, h1, h2 := c.genesis.Hash(), b1.Hash(), b2.Hash()
	full := func() *storage.Batch {
		return &storage.Batch{
			Blocks:     []*chain.Block{b2},
			Index:      []storage.IndexEntry{{Hash: h2, Height: 2, Header: b2.Header, Status: storage.StatusDataStored | storage.StatusValid, Seq: 9}},
			PutUndo:    []storage.UndoEntry{{Hash: h2, Undo: &storage.Undo{}}},
			DeleteUndo: []chain.Hash{h1},
			Accounts:   []storage.AccountEntry{{Address: addr(0)}, {Address: addr(5), Account: chain.Account{Balance: 1}}},
			Validators: []storage.ValidatorEntry{{Key: chain.PublicKey{7}, Validator: chain.Validator{Stake: 1, ActivationEpoch: 1}}},
			Finality:   []storage.FinalityEntry{{Key: storage.JustifiedKey(1), Value: h1[:]}, {Key: storage.SlashedKey(chain.PublicKey{7}), Value: storage.SlashedValue}},
			Tip:        &h2,
		}
	}
	hashes := []chain.Hash{gh, h1, h2}
	for _, stage := range []string{"blocks", "index", "undo", "accounts", "validators", "finality", "tip"} {
		db.commitHook = func(s string) error {
			if s == stage {
				return errors.New("injected at " + s)
			}
			return nil
		}
		if err := db.Commit(full()); err == nil || !strings.Contains(err.Error(), stage) {
			t.Fatalf("Commit failing at %s: %v", stage, err)
		}
		wantSameStore(t, "after failure at "+stage, before, db, hashes)
	}
	db.commitHook = nil

	refused := map[string]func(b *storage.Batch){
		"negative height": func(b *storage.Batch) {
			b.Index = append(b.Index, storage.IndexEntry{Hash: h1, Height: -1, Header: b1.Header})
		},
		"header mismatch": func(b *storage.Batch) {
			b.Index = append(b.Index, storage.IndexEntry{Hash: gh, Height: 1, Header: b1.Header})
		},
		"nil undo": func(b *storage.Batch) { b.PutUndo = append(b.PutUndo, storage.UndoEntry{Hash: h1}) },
		"unencodable block": func(b *storage.Batch) {
			b.Blocks = append(b.Blocks, &chain.Block{Transactions: []chain.Transaction{{}}})
		},
	}
	for name, spoil := range refused {
		b := full()
		spoil(b)
		if err := db.Commit(b); err == nil {
			t.Fatalf("%s: Commit succeeded", name)
		}
		wantSameStore(t, name, before, db, hashes)
	}
	// And the full batch does go through.
	if err := db.Commit(full()); err != nil {
		t.Fatal(err)
	}
	if s := mustLoad(t, db); s.Tip != h2 {
		t.Fatalf("tip %v after the good commit, want %v", s.Tip, h2)
	}
}

// snapshotBatch returns a Batch that recreates db's content in a MemStore.
func snapshotBatch(t *testing.T, db *DB) *storage.Batch {
	t.Helper()
	s := mustLoad(t, db)
	b := &storage.Batch{Index: s.Index, Accounts: s.Accounts, Validators: s.Validators, Finality: s.Finality, Tip: &s.Tip}
	for _, e := range s.Index {
		if blk, err := db.Block(e.Hash); err == nil {
			b.Blocks = append(b.Blocks, blk)
		}
		if u, err := db.Undo(e.Hash); err == nil {
			b.PutUndo = append(b.PutUndo, storage.UndoEntry{Hash: e.Hash, Undo: u})
		}
	}
	return b
}

// addrKey returns account i's address as a key.
func addrKey(i int) []byte { a := addr(i); return a[:] }

// TestDamagedPages damages one page of a store file at a time (random
// bytes over part of a page, or a whole page zeroed or filled) and opens
// it: the store must be refused with an error, or every read must return
// an error or a value, never panic. A branch, leaf or freelist page
// destroyed whole must be refused at open (bbolt's consistency check
// reaches every page). Pages are damaged only within the file's length
// (a truncated file is TestTruncatedFile's).
func TestDamagedPages(t *testing.T) {
	c, s, path, full := scenarioFile(t, "damage")
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	pageSize := b.Info().PageSize
	pages := len(full) / pageSize
	types := make([]string, pages) // "" for a page inside an overflow run
	err = b.View(func(tx *bolt.Tx) error {
		for id := 0; id < pages; id++ {
			info, err := tx.Page(id)
			if err != nil {
				return err
			}
			if info != nil {
				types[id] = info.Type
				for o := 1; o <= info.OverflowCount && id+o < pages; o++ {
					types[id+o] = info.Type
				}
				id += info.OverflowCount
			}
		}
		return nil
	})
	_ = b.Close()
	if err != nil {
		t.Fatal(err)
	}

	var used []int // pages in use; most of a small file is free
	for id, typ := range types {
		if typ != "free" && typ != "" {
			used = append(used, id)
		}
	}
	rng := mrand.New(mrand.NewPCG(1, 2))
	outcomes := map[string]int{}
	for i := range 150 {
		damaged := slices.Clone(full)
		page := rng.IntN(pages)
		if i%4 != 0 {
			page = used[rng.IntN(len(used))]
		}
		region := damaged[page*pageSize : (page+1)*pageSize]
		whole := i%3 != 0
		switch i % 3 {
		case 0: // random bytes over part of the page
			off := rng.IntN(pageSize - 64)
			for j := range 64 {
				region[off+j] = byte(rng.Uint32())
			}
		case 1:
			clear(region)
		case 2:
			for j := range region {
				region[j] = 0xff
			}
		}
		p := filepath.Join(t.TempDir(), "damaged.db")
		if err := os.WriteFile(p, damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := Open(p, c.p)
		if err != nil {
			outcomes["refused at open"]++
			continue
		}
		if used := types[page] == "branch" || types[page] == "leaf" || types[page] == "freelist"; whole && used {
			t.Errorf("case %d: %s page %d destroyed, yet Open accepted the file", i, types[page], page)
		}
		n, err := node.New(c.config(db))
		readErrs := 0
		for _, b := range s.blocks {
			if _, e := db.Block(b.Hash()); e != nil && !errors.Is(e, storage.ErrNotFound) {
				readErrs++
			}
			if _, e := db.Undo(b.Hash()); e != nil && !errors.Is(e, storage.ErrNotFound) {
				readErrs++
			}
		}
		switch {
		case db.Err() != nil:
			outcomes["damage found by a read"]++
			if !errors.Is(db.Err(), ErrDamaged) {
				t.Fatalf("case %d: damage reported as %v", i, db.Err())
			}
			select {
			case <-db.Damaged():
			default:
				t.Fatalf("case %d: Err set but Damaged not closed", i)
			}
			if _, err := db.Block(s.blocks[0].Hash()); !errors.Is(err, ErrDamaged) {
				t.Fatalf("case %d: read after damage: %v, want ErrDamaged", i, err)
			}
		case err != nil:
			outcomes["node refused the values"]++
		case readErrs > 0:
			outcomes["a read refused a value"]++
		default:
			_ = n.Tip()
			outcomes[fmt.Sprintf("no effect (%s page)", cmp.Or(types[page], "free"))]++
		}
		_ = db.Close()
	}
	t.Log(outcomes)
	if outcomes["refused at open"] == 0 {
		t.Fatal("no damaged file was refused at open")
	}
}

// TestConsistencyCheck writes a freelist that lists a page the blocks
// bucket still uses: every value still decodes, so only bbolt's
// consistency check can tell, and Open must refuse the file.
func TestConsistencyCheck(t *testing.T) {
	c := newTestChain(t, "check", 5)
	db, path := openTemp(t, c)
	runScenario(t, c, c.buildScenario(), db)
	_ = db.Close()
	db, err := Open(path, c.p)
	if err != nil {
		t.Fatalf("undamaged file refused: %v", err)
	}
	_ = db.Close()

	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var root uint64
	_ = b.View(func(tx *bolt.Tx) error {
		root = uint64(tx.Bucket(bucketBlocks).Root())
		return nil
	})
	_ = b.Close()
	if root == 0 {
		t.Fatal("the blocks bucket is inline: the scenario should fill a page")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Both meta pages name a freelist page (offset 48 of the meta page:
	// 16 bytes of page header, then magic, version, page size, flags and
	// the 16-byte root bucket); rewrite each as a freelist of one page.
	pageSize := int(binary.NativeEndian.Uint32(raw[boltPageHeaderSize+8:]))
	for meta := range 2 {
		free := binary.NativeEndian.Uint64(raw[meta*pageSize+48:])
		page := raw[int(free)*pageSize : int(free+1)*pageSize]
		clear(page)
		binary.NativeEndian.PutUint64(page[0:], free)
		binary.NativeEndian.PutUint16(page[8:], 0x10) // freelist page
		binary.NativeEndian.PutUint16(page[10:], 1)
		binary.NativeEndian.PutUint64(page[16:], root)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, c.p)
	if err == nil {
		_ = db.Close()
	}
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open of a file whose freelist holds a used page: %v, want ErrDamaged naming the file", err)
	}
	t.Log(err)
}

// TestCommitReplacesBlock: a Batch whose Blocks hold a stored block's
// hash again replaces it, as chain/node does to put a proof-of-stake
// block's good seal in place of a failed one (the hash does not cover the
// seal), in one Commit, and the replacement survives a reopen.
func TestCommitReplacesBlock(t *testing.T) {
	c := newTestChain(t, "replace", 1)
	db, path := openTemp(t, c)
	n, err := node.New(c.config(db))
	if err != nil {
		t.Fatal(err)
	}
	b1 := c.next(c.genesis, 1, 0)
	if _, err := n.ProcessBlock(b1); err != nil {
		t.Fatal(err)
	}
	h1 := b1.Hash()
	for _, seal := range []byte{1, 2} {
		cp := *b1
		cp.Seal = &chain.BlockSeal{seal}
		if err := db.Commit(&storage.Batch{Blocks: []*chain.Block{&cp}}); err != nil {
			t.Fatal(err)
		}
		got, err := db.Block(h1)
		if err != nil || got.Seal == nil || got.Seal[0] != seal {
			t.Fatalf("block after the replacement by seal %d: %v, %v", seal, got, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2, _ := reopen(t, c, path)
	if got, err := db2.Block(h1); err != nil || got.Seal == nil || got.Seal[0] != 2 {
		t.Fatalf("block after a reopen: %v, %v", got, err)
	}
}
