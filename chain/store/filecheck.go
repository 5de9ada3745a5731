package store

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt's meta page, as it lays it out (go.etcd.io/bbolt/internal/common:
// a 16-byte page header, then Meta in native byte order).
const (
	boltPageHeaderSize = 16
	boltMagic          = 0xED0CDAED
	boltVersion        = 2
	boltMetaSumSize    = 56 // magic .. txid, the bytes the checksum covers
	boltMetaSize       = boltMetaSumSize + 8
)

// checkFileSize refuses a bbolt file shorter than its meta pages say it
// is (a truncated copy, a full disk): bbolt maps such a file and dies
// with SIGBUS when it reads past the end, which no recover catches. A
// missing, empty or unreadable file passes; bbolt creates or reports it.
func checkFileSize(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() == 0 {
		return nil
	}
	size := st.Size()
	pageSize := int64(os.Getpagesize())
	for i := range 2 {
		m, ok := readBoltMeta(f, int64(i)*pageSize)
		if !ok {
			continue
		}
		ps := int64(binary.NativeEndian.Uint32(m[8:]))
		if i == 0 {
			pageSize = ps
		}
		pgid := binary.NativeEndian.Uint64(m[40:])
		if need := int64(pgid) * ps; pgid > 1<<40 || need > size {
			return fmt.Errorf("store: open %s: truncated bbolt file: %d bytes, its meta page %d says %d pages of %d bytes",
				path, size, i, pgid, ps)
		}
	}
	return nil
}

// readBoltMeta reads the meta at the page at off and reports whether it
// is a valid bbolt meta (magic, version, checksum, a sane page size).
func readBoltMeta(r io.ReaderAt, off int64) ([]byte, bool) {
	buf := make([]byte, boltPageHeaderSize+boltMetaSize)
	if _, err := r.ReadAt(buf, off); err != nil {
		return nil, false
	}
	m := buf[boltPageHeaderSize:]
	h := fnv.New64a()
	h.Write(m[:boltMetaSumSize])
	ps := binary.NativeEndian.Uint32(m[8:])
	return m, binary.NativeEndian.Uint32(m) == boltMagic && binary.NativeEndian.Uint32(m[4:]) == boltVersion &&
		binary.NativeEndian.Uint64(m[boltMetaSumSize:]) == h.Sum64() && ps >= 512 && ps <= 1<<20
}
