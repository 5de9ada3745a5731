package daemon

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/store"
)

// TestMineDevGenesis mines a dev genesis at a new time: DevParamsFor takes
// it, anchors ASERT at it, and a block on schedule keeps its target. At
// DevParams' genesis time it finds DevParams' genesis.
func TestMineDevGenesis(t *testing.T) {
	const at = 1_800_000_000
	g, err := mineDevGenesis(at)
	if err != nil {
		t.Fatal(err)
	}
	p, err := chain.DevParamsFor(g)
	if err != nil {
		t.Fatal(err)
	}
	if p.GenesisHash != g.Hash() || p.GenesisBlock != g || p.GenesisHeader.Timestamp != at {
		t.Fatalf("params do not describe the genesis: %+v", p.GenesisHeader)
	}
	if p.ASERTAnchor.ParentTime != at-5 || p.ASERTAnchor.Bits != g.Header.Bits {
		t.Fatalf("anchor %+v", p.ASERTAnchor)
	}
	if err := chain.CheckProofOfWork(g.Hash(), g.Header.Bits, p.PowLimit); err != nil {
		t.Fatal(err)
	}
	// A block on schedule right after genesis keeps the genesis target.
	c := chain.HeaderContext{PrevHash: p.GenesisHash, PrevHeight: 0, PrevBits: g.Header.Bits, PrevTime: at, MedianTime: at}
	if got := c.NextBits(&p); got != g.Header.Bits {
		t.Fatalf("next bits %#x, want the genesis target %#x", got, g.Header.Bits)
	}

	fixed, err := mineDevGenesis(chain.DevParams.GenesisHeader.Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	if fixed.Hash() != chain.DevParams.GenesisHash {
		t.Fatalf("mined at the dev genesis time: %v (nonce %d), want DevParams' genesis %v",
			fixed.Hash(), fixed.Header.Nonce, chain.DevParams.GenesisHash)
	}
}

// TestDevParamsStoreMissing: a data directory whose genesis.bin names a
// chain but whose chain.db is empty or gone is refused, naming both
// files, instead of starting a new chain over it.
func TestDevParamsStoreMissing(t *testing.T) {
	dir := t.TempDir()
	if _, err := DevParams(dir, time.Unix(1_800_000_000, 0)); err != nil {
		t.Fatal(err)
	}
	storePath := filepath.Join(dir, storeFile)
	if err := os.Truncate(storePath, 0); err != nil {
		t.Fatal(err)
	}
	_, err := DevParams(dir, time.Now())
	if !errors.Is(err, ErrStoreMissing) || !strings.Contains(err.Error(), storePath) || !strings.Contains(err.Error(), "is empty") {
		t.Fatalf("empty store: %v", err)
	}
	if err := os.Remove(storePath); err != nil {
		t.Fatal(err)
	}
	_, err = DevParams(dir, time.Now())
	if !errors.Is(err, ErrStoreMissing) || !strings.Contains(err.Error(), genesisFile) || !strings.Contains(err.Error(), "is missing") {
		t.Fatalf("missing store: %v", err)
	}
	if _, err := os.Stat(storePath); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("DevParams created a store over the refused directory: %v", err)
	}
}

// TestDevParamsInterruptedStart covers a first start stopped at each
// step: after the store was created but before the genesis block was
// committed (a new chain is made), and after the commit but before
// genesis.bin was written (genesis.bin is restored from the store, and
// the chain goes on).
func TestDevParamsInterruptedStart(t *testing.T) {
	t.Run("store without a chain", func(t *testing.T) {
		dir := t.TempDir()
		g, err := mineDevGenesis(1_800_000_000)
		if err != nil {
			t.Fatal(err)
		}
		other, err := devParams(g, "")
		if err != nil {
			t.Fatal(err)
		}
		db, err := store.Open(filepath.Join(dir, storeFile), other) // meta only, no tip
		if err != nil {
			t.Fatal(err)
		}
		_ = db.Close()
		p, err := DevParams(dir, time.Unix(1_900_000_000, 0))
		if err != nil {
			t.Fatal(err)
		}
		if p.GenesisHash == other.GenesisHash {
			t.Fatal("the genesis of the interrupted start was kept although its store held no chain")
		}
		startOn(t, dir, p)
	})
	t.Run("chain without genesis.bin", func(t *testing.T) {
		dir := t.TempDir()
		p1, err := DevParams(dir, time.Unix(1_800_000_000, 0))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dir, genesisFile)); err != nil {
			t.Fatal(err)
		}
		p2, err := DevParams(dir, time.Unix(1_900_000_000, 0))
		if err != nil {
			t.Fatal(err)
		}
		if p2.GenesisHash != p1.GenesisHash {
			t.Fatalf("genesis %v after genesis.bin was lost, want the stored chain's %v", p2.GenesisHash, p1.GenesisHash)
		}
		if _, err := os.Stat(filepath.Join(dir, genesisFile)); err != nil {
			t.Fatalf("genesis.bin not restored: %v", err)
		}
		startOn(t, dir, p2)
	})
}

// startOn opens a daemon on dir and checks that its tip is p's genesis.
func startOn(t *testing.T, dir string, p *chain.Params) {
	t.Helper()
	d, err := New(Config{Params: p, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if tip := d.Node().Tip(); tip.Hash != p.GenesisHash || tip.Height != 0 {
		t.Fatalf("tip %v at %d, want the genesis %v", tip.Hash, tip.Height, p.GenesisHash)
	}
}

// TestRunStopsOnDamagedStore damages the store's pages under a running
// node: the read that meets the damage fails with store.ErrDamaged, and
// Run stops with it instead of serving from a broken store.
func TestRunStopsOnDamagedStore(t *testing.T) {
	dir := t.TempDir()
	p, err := DevParams(dir, time.Unix(1_800_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{Params: p, DataDir: dir, RPCListener: ln})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	done := make(chan error, 1)
	go func() { done <- d.Run(context.Background()) }()

	// Every page but the two meta pages filled with 0xff: bbolt's
	// mapping of the file sees it at once.
	f, err := os.OpenFile(filepath.Join(dir, storeFile), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	page := int64(os.Getpagesize())
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xff}, int(st.Size()-2*page)), 2*page); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	if _, err := d.Node().Block(p.GenesisHash); !errors.Is(err, store.ErrDamaged) {
		t.Fatalf("read of a damaged store: %v, want store.ErrDamaged", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, store.ErrDamaged) || !strings.Contains(err.Error(), storeFile) {
			t.Fatalf("Run stopped with %v, want store.ErrDamaged naming %s", err, storeFile)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run went on serving a damaged store")
	}
}

// TestDevParamsNewDirectory: DevParams makes the data directory (and its
// parents) for a new chain, readable by its owner only.
func TestDevParamsNewDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	p, err := DevParams(dir, time.Unix(1_800_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("data directory: %v %v", st.Mode(), err)
	}
	startOn(t, dir, p)
}

// TestJoinDevParams: a new data directory joins the chain of another's
// genesis.bin, keeps it across restarts, and refuses another chain.
func TestJoinDevParams(t *testing.T) {
	dirA, dirB, dirC := t.TempDir(), filepath.Join(t.TempDir(), "b"), t.TempDir()
	pa, err := DevParams(dirA, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dirA, genesisFile)
	for range 2 { // a new directory, then the same one again
		pb, err := JoinDevParams(dirB, file)
		if err != nil || pb.GenesisHash != pa.GenesisHash {
			t.Fatalf("JoinDevParams: %v, %v", pb, err)
		}
		if got, err := DevParams(dirB, time.Now()); err != nil || got.GenesisHash != pa.GenesisHash {
			t.Fatalf("DevParams after joining: %v, %v", got, err)
		}
	}
	if _, err := DevParams(dirC, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := JoinDevParams(dirC, file); !errors.Is(err, ErrOtherChain) {
		t.Fatalf("joining with another chain's directory: %v, want ErrOtherChain", err)
	}
	if _, err := JoinDevParams(dirB, filepath.Join(dirB, "nope")); err == nil {
		t.Fatal("a missing genesis file was accepted")
	}
}
