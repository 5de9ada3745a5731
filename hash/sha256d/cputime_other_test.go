//go:build !unix

package sha256d

import "time"

// processCPU returns 0: no CPU time is measured on this system.
func processCPU() time.Duration { return 0 }
