package mempool

import (
	"container/heap"

	"github.com/powmine/powmine/chain"
)

// evictHeap is a min-heap of entries by lessRate: the first to evict on
// top. Each entry knows its index (evictAt).
type evictHeap []*entry

func (h evictHeap) Len() int           { return len(h) }
func (h evictHeap) Less(i, j int) bool { return lessRate(h[i], h[j]) }
func (h evictHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].evictAt, h[j].evictAt = i, j
}

// Push adds an *entry (heap.Interface).
func (h *evictHeap) Push(x any) {
	e := x.(*entry)
	e.evictAt = len(*h)
	*h = append(*h, e)
}

// Pop removes the last entry (heap.Interface).
func (h *evictHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.evictAt = -1
	return e
}

// indexHeap walks an evictHeap in order without modifying it: it holds
// indices into h, the smallest entry on top; popping index i and pushing
// its children 2i+1 and 2i+2 yields h's entries in ascending order.
type indexHeap struct {
	h   evictHeap
	idx []int
}

func (f *indexHeap) Len() int           { return len(f.idx) }
func (f *indexHeap) Less(i, j int) bool { return lessRate(f.h[f.idx[i]], f.h[f.idx[j]]) }
func (f *indexHeap) Swap(i, j int)      { f.idx[i], f.idx[j] = f.idx[j], f.idx[i] }

// Push adds an index (heap.Interface).
func (f *indexHeap) Push(x any) { f.idx = append(f.idx, x.(int)) }

// Pop removes the last index (heap.Interface).
func (f *indexHeap) Pop() any {
	i := f.idx[len(f.idx)-1]
	f.idx = f.idx[:len(f.idx)-1]
	return i
}

// headHeap orders senders' chains of pending transfers by the fee rate of
// their first remaining one, the highest on top (ties: earlier arrival),
// for mining order.
type headHeap []*[]*entry

func (h headHeap) Len() int           { return len(h) }
func (h headHeap) Less(i, j int) bool { return lessRate((*h[j])[0], (*h[i])[0]) }
func (h headHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }

// Push adds a chain (heap.Interface).
func (h *headHeap) Push(x any) { *h = append(*h, x.(*[]*entry)) }

// Pop removes the last chain (heap.Interface).
func (h *headHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// miningOrder returns up to limit entries (all when limit < 0) in mining
// order: repeatedly the highest fee-rate first pending transfer among the
// senders. p.mu must be held.
func (p *Pool) miningOrder(limit int) []*entry {
	if limit < 0 || limit > len(p.byID) {
		limit = len(p.byID)
	}
	h := make(headHeap, 0, len(p.bySender))
	for _, pending := range p.bySender {
		rest := pending
		h = append(h, &rest)
	}
	heap.Init(&h)
	out := make([]*entry, 0, limit)
	for len(out) < limit && h.Len() > 0 {
		top := h[0]
		out = append(out, (*top)[0])
		if *top = (*top)[1:]; len(*top) == 0 {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
	}
	return out
}

// Snapshot returns every pending transfer in mining order (see the
// package comment). The entries are copies; their transfers are shared
// and must not be modified. It is safe for concurrent use.
func (p *Pool) Snapshot() []Entry {
	p.mu.Lock()
	defer p.mu.Unlock()
	es := p.miningOrder(-1)
	out := make([]Entry, len(es))
	for i, e := range es {
		out[i] = e.Entry
	}
	return out
}

// Transactions returns up to max pending transactions for block
// templates: the votes and slashes first (see finalityOrder), then the
// transfers in mining order (it satisfies chain/mining's TxSource). The transfers
// are shared and must not be modified. A max of 0 or less yields none. It
// is safe for concurrent use.
func (p *Pool) Transactions(max int) []chain.Transaction {
	if max <= 0 {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.finalityOrder(max)
	for _, e := range p.miningOrder(max - len(out)) {
		out = append(out, e.Tx)
	}
	return out
}
