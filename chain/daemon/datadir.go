package daemon

import (
	"os"
	"path/filepath"
	"runtime"
)

// DefaultDataDir is where a network's data lives when --datadir is not
// given: the user's data directory (XDG_DATA_HOME or ~/.local/share on
// Linux, Application Support on macOS, LocalAppData on Windows) plus
// powmine/NETWORK.
func DefaultDataDir(network string) string {
	base := os.Getenv("XDG_DATA_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "."
		}
		switch runtime.GOOS {
		case "darwin":
			base = filepath.Join(home, "Library", "Application Support")
		case "windows":
			base = os.Getenv("LocalAppData")
		default:
			base = filepath.Join(home, ".local", "share")
		}
	}
	return filepath.Join(base, "powmine", network)
}

// DefaultWallet is the key file that node wallet and send use, and whose
// address cmd/miner pays when no --coinbase-addr is given.
func DefaultWallet() string { return filepath.Join(DefaultDataDir("dev"), "wallet.json") }
