//go:build race

package sim

// raceEnabled reports a -race build, where the race detector slows the
// signature checks of the 100-validator finality runs about tenfold.
const raceEnabled = true
