package sha256d

import (
	"testing"
	"unsafe"
)

// TestJobStateLayout pins the byte offsets that the assembly generators use.
func TestJobStateLayout(t *testing.T) {
	var st jobState
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"mid", unsafe.Offsetof(st.mid), 0},
		{"w", unsafe.Offsetof(st.w), 32},
		{"t7", unsafe.Offsetof(st.t7), 44},
		{"state3", unsafe.Offsetof(st.state3), 48},
		{"state4", unsafe.Offsetof(st.state4), 80},
		{"wpart", unsafe.Offsetof(st.wpart), 112},
		{"kw", unsafe.Offsetof(st.kw), 368},
		{"size", unsafe.Sizeof(st), 624},
	} {
		if c.got != c.want {
			t.Errorf("jobState.%s at %d, generators assume %d", c.name, c.got, c.want)
		}
	}
}
