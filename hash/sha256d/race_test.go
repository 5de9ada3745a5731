//go:build race

package sha256d

// raceEnabled is set when the tests run under the race detector, which
// slows the portable kernel several times.
const raceEnabled = true
