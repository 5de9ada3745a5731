//go:build !race

package pool

// raceEnabled reports a -race build; see race_test.go.
const raceEnabled = false
