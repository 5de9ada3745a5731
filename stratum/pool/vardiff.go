package pool

import (
	"time"
)

// vardiffTolerance: a retarget that changes the difficulty by less than
// this fraction is skipped.
const vardiffTolerance = 0.1

// vardiffLocked retargets the connection's difficulty once RetargetShares
// shares or RetargetInterval time have passed since the last retarget:
// the new difficulty makes the observed share rate match ShareInterval,
// moving at most VardiffMaxStep times up or down, within the configured
// range and not below the client's suggestion. The change is sent with
// set_difficulty and takes effect with the next notify; when latest is
// not nil it is re-sent at once so that the client switches now. It
// reports whether the difficulty changed.
func (c *conn) vardiffLocked(now time.Time, latest *job) bool {
	cfg := &c.s.cfg
	elapsed := now.Sub(c.vdStart)
	if c.vdShares < cfg.RetargetShares && elapsed < cfg.RetargetInterval {
		return false
	}
	factor := 1.0 / VardiffMaxStep
	if c.vdShares > 0 {
		per := elapsed.Seconds() / float64(c.vdShares)
		factor = cfg.ShareInterval.Seconds() / max(per, 1e-9)
	}
	factor = min(max(factor, 1.0/VardiffMaxStep), VardiffMaxStep)
	c.vdShares, c.vdStart = 0, now
	d := max(c.s.clampDifficulty(c.diff*factor), c.floor)
	if r := d / c.diff; r > 1-vardiffTolerance && r < 1+vardiffTolerance {
		return false
	}
	c.setDifficultyLocked(d)
	if latest != nil {
		c.appendJobLocked(latest, false)
	}
	return true
}
