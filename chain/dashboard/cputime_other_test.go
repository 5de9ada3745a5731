//go:build !unix

package dashboard

import "time"

// cpuTime returns 0: no CPU time is measured on this system.
func cpuTime() time.Duration { return 0 }
