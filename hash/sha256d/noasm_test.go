//go:build purego || !amd64

package sha256d

// asmBuild reports whether this build compiles the assembly kernels.
const asmBuild = false
