//go:build race

package pool

// raceEnabled reports a -race build: fewer load-test clients (the race
// detector caps goroutines at 8128) and no allocation counts.
const raceEnabled = true
