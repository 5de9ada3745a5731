//go:build !race

package stratum

// raceEnabled reports a -race build; see race_test.go.
const raceEnabled = false
