package node

import (
	"time"

	"github.com/powmine/powmine/chain"
)

// OrphanInfo describes a block of the orphan pool.
type OrphanInfo struct {
	Hash, Parent chain.Hash
	// Height is the height its coinbase claims, unchecked until the
	// parent arrives (-1 without a coinbase).
	Height int64
	// Arrived is when the node received it.
	Arrived time.Time
}

// Orphans returns the blocks of the orphan pool that have not expired,
// oldest first: at most Config.MaxOrphans of them. It is safe for
// concurrent use and waits for no block being processed.
func (n *Node) Orphans() []OrphanInfo {
	now := n.cfg.Now()
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.orphans.list(now)
}

// list returns the live orphans, oldest first.
func (p *orphanPool) list(now time.Time) []OrphanInfo {
	out := make([]OrphanInfo, 0, len(p.byHash))
	for _, o := range p.order {
		if o == nil || p.byHash[o.hash] != o || !now.Before(o.expires) {
			continue
		}
		info := OrphanInfo{Hash: o.hash, Parent: o.block.Header.PrevBlock, Height: -1, Arrived: o.expires.Add(-OrphanTTL)}
		if txs := o.block.Transactions; len(txs) > 0 && txs[0].Coinbase != nil {
			info.Height = int64(txs[0].Coinbase.Height)
		}
		out = append(out, info)
	}
	return out
}
