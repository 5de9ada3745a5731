package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/hash/sha256d"
	"github.com/powmine/powmine/internal/atomicfile"
)

// genesisFile is where a dev data directory keeps its genesis block.
const genesisFile = "genesis.bin"

// DevParams returns the parameters of the local dev chain in dataDir: its
// genesis block is made (at now) the first time and kept in
// dataDir/genesis.bin, so every later start continues the same chain. An
// empty dataDir gives a new chain each call.
func DevParams(dataDir string, now time.Time) (*chain.Params, error) {
	path := filepath.Join(dataDir, genesisFile)
	raw, err := os.ReadFile(path)
	switch {
	case dataDir == "" || errors.Is(err, fs.ErrNotExist):
		g, err := mineDevGenesis(uint32(now.Unix()))
		if err != nil {
			return nil, err
		}
		if dataDir != "" {
			if err := writeFileAtomic(path, g); err != nil {
				return nil, err
			}
		}
		p, err := chain.DevParamsFor(g)
		return &p, err
	case err != nil:
		return nil, fmt.Errorf("daemon: read dev genesis: %w", err)
	}
	var g chain.Block
	if err := g.UnmarshalBinary(raw); err != nil {
		return nil, fmt.Errorf("daemon: %s is corrupt or from an earlier version (remove the data directory to start a new dev chain): %w", path, err)
	}
	p, err := chain.DevParamsFor(&g)
	if err != nil {
		return nil, fmt.Errorf("daemon: %s is not a dev genesis block: %w", path, err)
	}
	return &p, nil
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
