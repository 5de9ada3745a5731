//go:build !purego

package sha256d

// asmBuild reports whether this build compiles the assembly kernels.
const asmBuild = true
