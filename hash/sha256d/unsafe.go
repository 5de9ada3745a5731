package sha256d

import "unsafe"

// unsafeSlice views the count words at p as a slice; kernels receive their
// candidate buffer as a pointer so that assembly and Go share one signature.
func unsafeSlice(p *uint32, count uint32) []uint32 {
	return unsafe.Slice(p, count)
}
