package pool

import (
	"cmp"
	"math"
	"slices"
	"sync"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/template"
)

// MaxPayouts bounds the coinbase outputs of a pool template, below
// chain.MaxCoinbaseOutputs so that a mining.notify line stays within
// stratum.MaxLineSize (an output is about 29 bytes, 58 hex characters).
const MaxPayouts = 200

// payoutScale is the total of the integer weights handed to the builder.
const payoutScale = 1 << 40

// windowShare is one accepted share of the PPLNS window.
type windowShare struct {
	addr chain.Address
	diff float64
}

// pplns is the window of the last accepted shares, difficulty-weighted,
// in a ring of at most MaxWindowShares entries (allocated as it grows).
type pplns struct {
	mu     sync.Mutex
	ring   []windowShare
	head   int // oldest
	n      int
	total  float64
	window float64 // total difficulty kept; 0 keeps MaxWindowShares shares
}

func newPPLNS() *pplns { return &pplns{} }

// add appends a share and drops the oldest ones beyond the window.
func (p *pplns) add(addr chain.Address, diff float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == len(p.ring) {
		if len(p.ring) < MaxWindowShares {
			grown := make([]windowShare, max(64, 2*len(p.ring)))
			for i := range p.n {
				grown[i] = p.ring[(p.head+i)%len(p.ring)]
			}
			p.ring, p.head = grown, 0
		} else {
			p.popLocked()
		}
	}
	p.ring[(p.head+p.n)%len(p.ring)] = windowShare{addr, diff}
	p.n++
	p.total += diff
	p.trimLocked()
}

func (p *pplns) popLocked() {
	p.total -= p.ring[p.head].diff
	p.head = (p.head + 1) % len(p.ring)
	p.n--
}

// trimLocked drops the oldest shares while the rest still fill the window.
func (p *pplns) trimLocked() {
	for p.window > 0 && p.n > 1 && p.total-p.ring[p.head].diff >= p.window {
		p.popLocked()
	}
}

// payouts sets the window to window (total difficulty) and returns the
// payouts of the shares in it: each address weighted by its share of the
// window's difficulty, the MaxPayouts largest; fallback alone when the
// window is empty.
func (p *pplns) payouts(window float64, fallback chain.Address) []template.Payout {
	p.mu.Lock()
	p.window = window
	p.trimLocked()
	sums := make(map[chain.Address]float64)
	total := 0.0
	for i := range p.n {
		s := p.ring[(p.head+i)%len(p.ring)]
		sums[s.addr] += s.diff
		total += s.diff
	}
	p.total = total // drop the float drift of the running sum
	p.mu.Unlock()
	if len(sums) == 0 || !(total > 0) {
		return []template.Payout{{Address: fallback, Weight: 1}}
	}
	out := make([]template.Payout, 0, len(sums))
	for a, d := range sums {
		w := uint64(math.Round(d / total * payoutScale))
		out = append(out, template.Payout{Address: a, Weight: max(w, 1)})
	}
	slices.SortFunc(out, func(x, y template.Payout) int {
		if c := cmp.Compare(y.Weight, x.Weight); c != 0 {
			return c
		}
		return slices.Compare(x.Address[:], y.Address[:])
	})
	if len(out) > MaxPayouts {
		out = out[:MaxPayouts]
	}
	return out
}
