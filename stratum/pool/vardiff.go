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
// moving at most VardiffMaxStep times up or down from the difficulty the
// client mines at (the last one sent), within the configured range and
// not below the client's suggested floor. j is the job the difficulty is
// for (the latest, or the one about to be sent; nil before the first),
// whose block difficulty caps what is sent (appendJobLocked): a change
// that moves the capped difficulty by less than vardiffTolerance is
// skipped. A change is sent with set_difficulty and takes effect with the
// next notify; with resend, a variant of j (another id and ntime, see
// sentJob) is sent at once so that the client switches now. It reports
// whether the difficulty changed.
func (c *conn) vardiffLocked(now time.Time, j *job, resend bool) bool {
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
	base := c.sentDiff
	if base == 0 {
		base = c.diff
	}
	d := max(c.s.clampDifficulty(base*factor), c.floor)
	sent := d
	if j != nil {
		sent = min(d, j.netDiff)
	}
	if r := sent / base; r > 1-vardiffTolerance && r < 1+vardiffTolerance {
		if j != nil && d >= j.netDiff && c.diff >= j.netDiff {
			c.setDifficultyLocked(d) // capped either way: nothing to send
		}
		return false
	}
	c.setDifficultyLocked(d)
	if resend && j != nil {
		c.appendJobLocked(j, false)
	}
	return true
}
