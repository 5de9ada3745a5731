//go:build race

package stratum

// raceEnabled reports a -race build, where sync.Pool (behind json.Valid)
// drops items at random, so allocation counts are not meaningful.
const raceEnabled = true
