package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/chain/store"
	"github.com/powmine/powmine/hash/sha256d"
	"github.com/powmine/powmine/internal/atomicfile"
)

// genesisFile is where a dev data directory keeps its genesis block.
const genesisFile = "genesis.bin"

// ErrStoreMissing is returned by DevParams for a data directory whose
// genesis file says it holds a chain but whose store is missing or empty:
// the blocks are gone, and starting a new chain there would hide it.
var ErrStoreMissing = errors.New("daemon: the data directory's store is missing or empty")

// DevParams returns the parameters of the local dev chain in dataDir. The
// first time, it mines a genesis block (at now), creates the store with
// that block committed, and only then writes dataDir/genesis.bin, so every
// later start continues the same chain and a start stopped at any point
// leaves either a whole new chain or none:
//   - genesis.bin present: the chain it names, whose store must exist and
//     not be empty (else ErrStoreMissing, naming both files);
//   - genesis.bin missing but a store holding a chain: genesis.bin is
//     written again from the store's genesis block;
//   - neither (or a store that holds no chain, left by a first start that
//     stopped before its genesis block was committed, and removed): a new
//     chain.
//
// An empty dataDir gives a new chain each call, kept nowhere. A data
// directory may hold a proof-of-stake dev chain (see DevPoSParams): its
// parameters are returned; the caller checks Params.Consensus.
func DevParams(dataDir string, now time.Time) (*chain.Params, error) {
	return devChain(dataDir, now, mineDevGenesis)
}

// DevPoSParams is DevParams for a proof-of-stake dev chain: a new chain's
// genesis block is chain.DevPoSGenesisTemplate(now, validator), which
// registers validator's key with the genesis stake (see
// chain.DevPoSParamsFor). A data directory that holds a chain already
// gives that chain's parameters, whatever validator is; the caller checks
// Params.Consensus.
func DevPoSParams(dataDir string, now time.Time, validator chain.PublicKey) (*chain.Params, error) {
	return devChain(dataDir, now, func(t uint32) (*chain.Block, error) { return chain.DevPoSGenesisTemplate(t, validator), nil })
}

// devChain is DevParams with newGenesis making a new chain's genesis
// block.
func devChain(dataDir string, now time.Time, newGenesis func(uint32) (*chain.Block, error)) (*chain.Params, error) {
	if dataDir == "" {
		g, err := newGenesis(uint32(now.Unix()))
		if err != nil {
			return nil, err
		}
		return devParams(g, "")
	}
	path := filepath.Join(dataDir, genesisFile)
	storePath := filepath.Join(dataDir, storeFile)
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		var g chain.Block
		if err := g.UnmarshalBinary(raw); err != nil {
			return nil, fmt.Errorf("daemon: %s is corrupt or from an earlier version (remove the data directory to start a new dev chain): %w", path, err)
		}
		if st, err := os.Stat(storePath); err != nil || st.Size() == 0 {
			what := "is missing"
			if err == nil {
				what = "is empty"
			}
			return nil, fmt.Errorf("%w: %s holds the genesis block of a dev chain, but its store %s %s: restore the store, "+
				"or remove %s to start a new dev chain there", ErrStoreMissing, path, storePath, what, path)
		}
		return devParams(&g, path)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("daemon: read dev genesis: %w", err)
	}

	if st, err := os.Stat(storePath); err == nil && st.Size() > 0 {
		g, err := store.ReadGenesis(storePath, store.DefaultLockTimeout)
		if err == nil {
			if err := writeFileAtomic(path, g); err != nil {
				return nil, err
			}
			return devParams(g, path)
		}
		if !errors.Is(err, store.ErrNoChain) {
			return nil, fmt.Errorf("daemon: %s is missing and its genesis block cannot be read from %s: %w", path, storePath, err)
		}
		if err := os.Remove(storePath); err != nil {
			return nil, fmt.Errorf("daemon: remove the store %s that holds no chain: %w", storePath, err)
		}
	}
	g, err := newGenesis(uint32(now.Unix()))
	if err != nil {
		return nil, err
	}
	p, err := devParams(g, path)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("daemon: data directory: %w", err)
	}
	if err := createStore(storePath, p); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, g); err != nil {
		return nil, err
	}
	return p, nil
}

// devParams returns the dev parameters for genesis block g, read from
// path (for messages; empty when g was mined just now).
// A genesis block with the limit bits is a proof-of-stake one (a
// proof-of-work dev genesis has the harder dev genesis bits).
func devParams(g *chain.Block, path string) (*chain.Params, error) {
	devFor := chain.DevParamsFor
	if g.Header.Bits == chain.DevParams.PowLimitBits {
		devFor = chain.DevPoSParamsFor
	}
	p, err := devFor(g)
	if err != nil {
		if path != "" {
			return nil, fmt.Errorf("daemon: %s is not a dev genesis block: %w", path, err)
		}
		return nil, err
	}
	return &p, nil
}

// createStore creates the store at path for p and commits p's genesis
// block to it.
func createStore(path string, p *chain.Params) error {
	db, err := store.Open(path, p)
	if err != nil {
		return err
	}
	_, err = node.New(node.Config{Params: p, Genesis: p.GenesisBlock, Store: db})
	return errors.Join(err, db.Close())
}

// mineDevGenesis returns chain.DevGenesisTemplate(time) with the first
// nonce, counting from 0, that meets its target, found with the fastest
// hash kernel of this CPU. About one nonce in 2^22 meets the target, so
// the chance that none of the 2^32 does is below e^-1000; it is an error
// all the same.
func mineDevGenesis(time uint32) (*chain.Block, error) {
	b := chain.DevGenesisTemplate(time)
	target, err := chain.BigToHash(chain.CompactToBig(b.Header.Bits))
	if err != nil {
		return nil, fmt.Errorf("daemon: dev genesis target: %w", err)
	}
	hdr := b.Header.Serialize()
	t := [sha256d.Size]byte(target)
	job := sha256d.NewJob(&hdr, &t)
	k := sha256d.Choose().Kernel
	s := sha256d.NewScanner(k)
	const step = 1 << 20
	var hits []uint32
	for start := uint64(0); len(hits) == 0 && start < sha256d.MaxScan; start += step {
		hits = s.Scan(job, uint32(start), step, hits)
	}
	if len(hits) == 0 {
		return nil, errors.New("daemon: no nonce meets the dev genesis target")
	}
	b.Header.Nonce = hits[0]
	return b, nil
}

// writeFileAtomic writes a block to path so that a crash leaves either
// no file or the whole one.
func writeFileAtomic(path string, b *chain.Block) error {
	raw, err := b.MarshalBinary()
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, raw, 0o600); err != nil {
		return fmt.Errorf("daemon: write dev genesis: %w", err)
	}
	return nil
}

// ErrOtherChain is returned by JoinDevParams for a data directory that
// holds another dev chain than the genesis file names.
var ErrOtherChain = errors.New("daemon: the data directory holds another chain")

// JoinDevParams returns the parameters of the dev chain whose genesis
// block is in file (another node's genesis.bin), to join that chain. A
// data directory without a chain gets the genesis block as its own
// genesis.bin and a new store holding it; one that holds a chain already
// must hold this one (else ErrOtherChain). An empty dataDir keeps the
// chain nowhere.
func JoinDevParams(dataDir, file string) (*chain.Params, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("daemon: read genesis: %w", err)
	}
	var g chain.Block
	if err := g.UnmarshalBinary(raw); err != nil {
		return nil, fmt.Errorf("daemon: %s is not a genesis block: %w", file, err)
	}
	p, err := devParams(&g, file)
	if err != nil || dataDir == "" {
		return p, err
	}
	path, storePath := filepath.Join(dataDir, genesisFile), filepath.Join(dataDir, storeFile)
	_, genesisErr := os.Stat(path)
	st, storeErr := os.Stat(storePath)
	if genesisErr == nil || storeErr == nil && st.Size() > 0 {
		have, err := DevParams(dataDir, time.Now())
		if err != nil {
			return nil, err
		}
		if have.GenesisHash != p.GenesisHash {
			return nil, fmt.Errorf("%w: %s has genesis %v, %s has %v", ErrOtherChain, dataDir, have.GenesisHash, file, p.GenesisHash)
		}
		return have, nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("daemon: data directory: %w", err)
	}
	if err := createStore(storePath, p); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, &g); err != nil {
		return nil, err
	}
	return p, nil
}
