package node

import (
	"time"

	"github.com/powmine/powmine/chain"
)

// Orphan pool limits (btcd keeps 100 orphans for an hour).
const (
	// MaxOrphans is the default for Config.MaxOrphans.
	MaxOrphans = 100

	// MaxOrphanBytes is the default for Config.MaxOrphanBytes: the
	// serialized size of all orphans together.
	MaxOrphanBytes = 32 << 20

	// OrphanTTL is how long an orphan waits for its parent.
	OrphanTTL = time.Hour
)

// orphan is a block whose parent is unknown.
type orphan struct {
	block   *chain.Block
	hash    chain.Hash
	size    int
	expires time.Time
}

// orphanPool holds blocks whose parent is unknown, keyed by their hash and
// by their parent's hash, oldest first. It is not safe for concurrent use.
type orphanPool struct {
	maxCount int
	maxBytes int
	byHash   map[chain.Hash]*orphan
	byParent map[chain.Hash][]*orphan
	order    []*orphan // arrival order; removed entries are nil-ed lazily
	bytes    int
}

func newOrphanPool(maxCount, maxBytes int) *orphanPool {
	return &orphanPool{
		maxCount: maxCount,
		maxBytes: maxBytes,
		byHash:   make(map[chain.Hash]*orphan),
		byParent: make(map[chain.Hash][]*orphan),
	}
}

// has reports whether the pool holds the block.
func (p *orphanPool) has(hash chain.Hash) bool {
	_, ok := p.byHash[hash]
	return ok
}

// add puts b into the pool, first dropping expired orphans, then the
// oldest ones until it fits. A block larger than the byte budget is not
// kept.
func (p *orphanPool) add(b *chain.Block, hash chain.Hash, now time.Time) {
	p.expire(now)
	size := b.SerializeSize()
	if size > p.maxBytes || p.maxCount <= 0 {
		return
	}
	for len(p.byHash) >= p.maxCount || p.bytes+size > p.maxBytes {
		p.removeOldest()
	}
	o := &orphan{block: b, hash: hash, size: size, expires: now.Add(OrphanTTL)}
	p.byHash[hash] = o
	parent := b.Header.PrevBlock
	p.byParent[parent] = append(p.byParent[parent], o)
	if len(p.order) >= 2*p.maxCount+16 {
		p.compact()
	}
	p.order = append(p.order, o)
	p.bytes += size
}

// compact drops the entries of order that are no longer in the pool.
func (p *orphanPool) compact() {
	live := p.order[:0]
	for _, o := range p.order {
		if o != nil && p.byHash[o.hash] == o {
			live = append(live, o)
		}
	}
	clear(p.order[len(live):])
	p.order = live
}

// expire drops orphans whose time is up.
func (p *orphanPool) expire(now time.Time) {
	for len(p.order) > 0 {
		o := p.order[0]
		if o != nil && p.byHash[o.hash] == o && now.Before(o.expires) {
			return
		}
		p.order = p.order[1:]
		if o != nil && p.byHash[o.hash] == o {
			p.remove(o)
		}
	}
}

// removeOldest drops the oldest orphan.
func (p *orphanPool) removeOldest() {
	for len(p.order) > 0 {
		o := p.order[0]
		p.order = p.order[1:]
		if o != nil && p.byHash[o.hash] == o {
			p.remove(o)
			return
		}
	}
}

// remove deletes o from the maps (not from order, which is cleaned lazily).
func (p *orphanPool) remove(o *orphan) {
	delete(p.byHash, o.hash)
	parent := o.block.Header.PrevBlock
	siblings := p.byParent[parent]
	for i, s := range siblings {
		if s == o {
			siblings = append(siblings[:i], siblings[i+1:]...)
			break
		}
	}
	if len(siblings) == 0 {
		delete(p.byParent, parent)
	} else {
		p.byParent[parent] = siblings
	}
	p.bytes -= o.size
}

// takeChildren removes and returns the orphans whose parent is parent.
func (p *orphanPool) takeChildren(parent chain.Hash) []*chain.Block {
	children := p.byParent[parent]
	if len(children) == 0 {
		return nil
	}
	out := make([]*chain.Block, 0, len(children))
	for _, o := range append([]*orphan(nil), children...) {
		out = append(out, o.block)
		p.remove(o)
	}
	return out
}

// len returns the number of orphans.
func (p *orphanPool) len() int { return len(p.byHash) }
