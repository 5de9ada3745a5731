// Command-line generators for the sha256d assembly kernels, one main
// package per kernel (shani/, avx2/, avx512/). Each writes its .s file and
// Go stub declarations beside the sha256d package; run `go generate ./...`
// here to regenerate all of them. This is a module of its own so that the
// project itself does not depend on avo.
package asm
