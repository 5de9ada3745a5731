package node

import (
	"sync"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
)

// TestNotifyMayReadNode checks that Notify may call the read methods while
// another ProcessBlock connects a block: delivery used to hold a mutex
// that ProcessBlock took while holding the state lock, so a Notify calling
// Account deadlocked against it. Events must still arrive in order.
func TestNotifyMayReadNode(t *testing.T) {
	h := newHarness(t, false, Config{})
	var mu sync.Mutex
	var heights []int64
	h.node.cfg.Notify = func(e Event) {
		time.Sleep(20 * time.Millisecond) // let the next ProcessBlock take the lock
		h.node.Account(addr(0))
		h.node.Tip()
		mu.Lock()
		heights = append(heights, e.Height)
		mu.Unlock()
	}
	a := h.next(h.genesis, 0)
	b := h.next(a, 1)
	c := h.next(b, 2)
	var wg sync.WaitGroup
	for _, blk := range []*chain.Block{a, b, c} {
		wg.Go(func() {
			if _, err := h.node.ProcessBlock(blk); err != nil {
				t.Error(err)
			}
		})
		time.Sleep(5 * time.Millisecond)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("ProcessBlock and Notify deadlocked")
	}
	if len(heights) != 3 || heights[0] != 1 || heights[1] != 2 || heights[2] != 3 {
		t.Fatalf("events at heights %v, want [1 2 3]", heights)
	}
}
