package pool

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/internal/atomicfile"
)

// The PPLNS window file (Config.WindowFile) keeps the shares not yet
// paid in full across restarts:
//
//	size  field
//	  16  windowMagic
//	   4  count, uint32 little-endian, at most MaxWindowShares
//	28*n  shares, oldest first: 20 address, 8 difficulty (float64 bits,
//	      little-endian; finite and positive)
//	  32  SHA-256 of everything before
const (
	windowMagic      = "powmine-pplns-1\n"
	windowShareSize  = chain.AddressSize + 8
	windowHeaderSize = len(windowMagic) + 4
	// maxWindowFileSize is the size of a file of MaxWindowShares shares.
	maxWindowFileSize = windowHeaderSize + MaxWindowShares*windowShareSize + sha256.Size
)

// ErrWindowFile is wrapped by the errors for a window file that cannot be
// read back.
var ErrWindowFile = errors.New("pool: bad PPLNS window file")

// marshal returns the window's shares in the window file format.
func (p *pplns) marshal() []byte {
	p.mu.Lock()
	b := make([]byte, 0, windowHeaderSize+p.n*windowShareSize+sha256.Size)
	b = append(b, windowMagic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(p.n))
	for i := range p.n {
		s := p.ring[(p.head+i)%len(p.ring)]
		b = append(b, s.addr[:]...)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.diff))
	}
	p.mu.Unlock()
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

// unmarshalWindow decodes a window file.
func unmarshalWindow(b []byte) ([]windowShare, error) {
	if len(b) < windowHeaderSize+sha256.Size || !bytes.HasPrefix(b, []byte(windowMagic)) {
		return nil, fmt.Errorf("%w: not a window file", ErrWindowFile)
	}
	body := b[:len(b)-sha256.Size]
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], b[len(body):]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrWindowFile)
	}
	n := binary.LittleEndian.Uint32(body[len(windowMagic):])
	if n > MaxWindowShares {
		return nil, fmt.Errorf("%w: %d shares, limit %d", ErrWindowFile, n, MaxWindowShares)
	}
	if len(body) != windowHeaderSize+int(n)*windowShareSize {
		return nil, fmt.Errorf("%w: %d bytes for %d shares", ErrWindowFile, len(b), n)
	}
	shares := make([]windowShare, n)
	for i := range shares {
		rec := body[windowHeaderSize+i*windowShareSize:]
		s := &shares[i]
		copy(s.addr[:], rec)
		s.diff = math.Float64frombits(binary.LittleEndian.Uint64(rec[chain.AddressSize:]))
		if !(s.diff > 0) || math.IsInf(s.diff, 0) {
			return nil, fmt.Errorf("%w: share %d has difficulty %g", ErrWindowFile, i, s.diff)
		}
	}
	return shares, nil
}

// saveLoop saves the window every WindowSaveInterval until the server
// quits (Run saves it once more when every connection is done).
func (s *Server) saveLoop() {
	t := time.NewTicker(s.cfg.WindowSaveInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-s.quit:
			return
		}
		if err := s.saveWindow(); err != nil {
			s.log.Error("PPLNS window", "err", err)
		}
	}
}

// saveWindow writes the window to Config.WindowFile, if set.
func (s *Server) saveWindow() error {
	if s.cfg.WindowFile == "" {
		return nil
	}
	if err := atomicfile.Write(s.cfg.WindowFile, s.pplns.marshal(), 0o600); err != nil {
		return fmt.Errorf("pool: save PPLNS window: %w", err)
	}
	return nil
}

// loadWindow fills the window from Config.WindowFile, if set and present.
func (s *Server) loadWindow() error {
	if s.cfg.WindowFile == "" {
		return nil
	}
	f, err := os.Open(s.cfg.WindowFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pool: read PPLNS window: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(maxWindowFileSize)+1))
	if err != nil {
		return fmt.Errorf("pool: read PPLNS window: %w", err)
	}
	if len(b) > maxWindowFileSize {
		return fmt.Errorf("%s: %w: over %d bytes (move it away to start with an empty window)", s.cfg.WindowFile, ErrWindowFile, maxWindowFileSize)
	}
	shares, err := unmarshalWindow(b)
	if err != nil {
		return fmt.Errorf("%s: %w (move it away to start with an empty window)", s.cfg.WindowFile, err)
	}
	for _, sh := range shares {
		s.pplns.add(sh.addr, sh.diff)
	}
	s.log.Info("PPLNS window loaded", "file", s.cfg.WindowFile, "shares", len(shares))
	return nil
}
