module github.com/powmine/powmine/hash/sha256d/_asm

go 1.26

require github.com/mmcloughlin/avo v0.6.0 // indirect
