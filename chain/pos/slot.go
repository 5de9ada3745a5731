package pos

import (
	"fmt"
	"math"
	"time"
)

// DevSlotDuration is the length of a slot on the dev chain: a pure-PoS
// block may be proposed every 2 seconds.
const DevSlotDuration = 2 * time.Second

// DevSlotsPerEpoch is the number of slots in an epoch of the pure-PoS dev
// chain, the same number as the dev chain's EpochLength in blocks.
const DevSlotsPerEpoch = 50

// MaxClockSkew is how far ahead of the verifier's clock a block's slot may
// start and still be accepted: 500 ms, Ethereum's
// MAXIMUM_GOSSIP_CLOCK_DISPARITY. It covers clocks kept by NTP (tens of
// milliseconds apart) with a wide margin, and is a quarter of a dev slot,
// so a proposer whose clock runs fast can gain at most that on honest
// nodes and never a whole slot.
const MaxClockSkew = 500 * time.Millisecond

// Slot returns the slot in progress at t on a chain whose slot 0 starts
// at genesisTime and whose slots last slotDuration: ⌊(t − genesisTime) /
// slotDuration⌋. It returns 0 for a t before genesisTime and for a
// slotDuration that is not positive (no such chain exists; SlotRules.Check
// refuses it).
func Slot(genesisTime time.Time, slotDuration time.Duration, t time.Time) uint64 {
	if slotDuration <= 0 || !t.After(genesisTime) {
		return 0
	}
	// Sub saturates at the largest Duration, so no overflow here.
	return uint64(t.Sub(genesisTime) / slotDuration)
}

// SlotStart returns the time at which slot starts: genesisTime + slot ·
// slotDuration. A slot too far ahead to be represented (beyond about 292
// years of slots from genesis) starts at the latest time a Duration
// reaches, which is never "now"; a slotDuration that is not positive gives
// genesisTime.
func SlotStart(genesisTime time.Time, slotDuration time.Duration, slot uint64) time.Time {
	if slotDuration <= 0 {
		return genesisTime
	}
	if slot > uint64(math.MaxInt64/int64(slotDuration)) {
		return genesisTime.Add(math.MaxInt64)
	}
	return genesisTime.Add(time.Duration(slot) * slotDuration)
}

// SlotRules are the timing rules a pure-PoS block's slot is checked
// against: the chain's clock (GenesisTime, SlotDuration, SlotsPerEpoch),
// the verifier's clock now, and the slot of the block's parent.
type SlotRules struct {
	GenesisTime   time.Time
	SlotDuration  time.Duration // DevSlotDuration on the dev chain
	SlotsPerEpoch uint64        // DevSlotsPerEpoch on the dev chain
	Now           time.Time     // the verifier's clock
	ParentSlot    uint64        // the parent block's slot (0 for genesis)
}

// Check returns an error unless SlotDuration and SlotsPerEpoch are
// positive. It is a caller's mistake, not a block's, so the error is not a
// RuleError.
func (r SlotRules) Check() error {
	if r.SlotDuration <= 0 || r.SlotsPerEpoch == 0 {
		return fmt.Errorf("pos: slot rules need a positive slot duration and slots per epoch, have %v and %d", r.SlotDuration, r.SlotsPerEpoch)
	}
	return nil
}

// Epoch returns the epoch of slot: slot / SlotsPerEpoch (0 when
// SlotsPerEpoch is 0, which Check refuses).
func (r SlotRules) Epoch(slot uint64) uint64 {
	if r.SlotsPerEpoch == 0 {
		return 0
	}
	return slot / r.SlotsPerEpoch
}

// CheckSlot returns nil when a block of slot may follow the parent at
// r.Now: slot is after ParentSlot (missed slots in between are allowed),
// else an ErrSlotNotAfterParent RuleError; and slot has started by Now +
// MaxClockSkew, else an ErrFutureSlot RuleError. A block refused as future
// is not invalid for ever: it may be accepted once its slot has come.
func (r SlotRules) CheckSlot(slot uint64) error {
	if err := r.Check(); err != nil {
		return err
	}
	if slot <= r.ParentSlot {
		return ruleError(ErrSlotNotAfterParent, "block slot %d is not after its parent's slot %d", slot, r.ParentSlot)
	}
	if current := Slot(r.GenesisTime, r.SlotDuration, r.Now.Add(MaxClockSkew)); slot > current {
		return ruleError(ErrFutureSlot, "block slot %d starts at %v, after now (%v) plus the %v clock skew allowance",
			slot, SlotStart(r.GenesisTime, r.SlotDuration, slot).UTC(), r.Now.UTC(), MaxClockSkew)
	}
	return nil
}
