package mempool

import "github.com/powmine/powmine/chain"

// Info summarizes the pool, for getmempoolinfo.
type Info struct {
	// Count is the number of pending transfers and Bytes their
	// serialized size; MaxBytes is the bound (Config.MaxPoolBytes).
	Count    int
	Bytes    int
	MaxBytes int

	// MinFeeRate is a fee rate that gets a transfer in now, other rules
	// permitting: Config.MinFeeRate, or when a transfer no longer fits
	// without evicting, one unit above the lowest pending fee rate if
	// that is higher.
	MinFeeRate FeeRate
}

// Info returns the pool's summary. It is safe for concurrent use.
func (p *Pool) Info() Info {
	p.mu.Lock()
	defer p.mu.Unlock()
	info := Info{Count: len(p.byID), Bytes: p.bytes, MaxBytes: p.maxBytes, MinFeeRate: p.minFeeRate}
	if p.bytes+chain.TransferSize > p.maxBytes && len(p.evict) > 0 {
		info.MinFeeRate = max(info.MinFeeRate, p.evict[0].FeeRate()+1)
	}
	return info
}

// Get returns the pending transfer with the given id. The transfer is
// shared and must not be modified. It is safe for concurrent use.
func (p *Pool) Get(id chain.Hash) (Entry, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.byID[id]; e != nil {
		return e.Entry, true
	}
	return Entry{}, false
}

// Has reports whether the transaction with the given id (a transfer,
// stake or finality transaction) is pending. It is safe for concurrent
// use.
func (p *Pool) Has(id chain.Hash) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.byID[id] != nil || p.fin[id] != nil
}
