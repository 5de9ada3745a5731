module github.com/powmine/powmine

go 1.26

require (
	github.com/klauspost/cpuid/v2 v2.4.2
	github.com/minio/sha256-simd v1.0.1
	golang.org/x/sys v0.41.0
)
