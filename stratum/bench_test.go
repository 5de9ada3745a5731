package stratum

import (
	"encoding/hex"
	"encoding/json"
	"testing"
)

// submitLine is BFGMiner's submit (params verbatim from the notes) with
// version bits added.
var submitLine = []byte(`{"params": ["testuser", "65", "01000000", "6b05cbd3", "31211b00", "00002000"], "id": 7, "method": "mining.submit"}`)

func TestSubmitDecodeNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	var s SubmitParams
	allocs := testing.AllocsPerRun(1000, func() {
		m, err := ParseMessage(submitLine)
		if err != nil || m.Method != MethodSubmit {
			t.Fatal(err)
		}
		if err := s.Decode(m.Params); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("a submit line costs %v allocations", allocs)
	}
}

// BenchmarkDecodeSubmit decodes a mining.submit line into SubmitParams:
// "walker" with this package, "encoding_json" with encoding/json into the
// same fields, for comparison.
func BenchmarkDecodeSubmit(b *testing.B) {
	b.Run("walker", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(submitLine)))
		var s SubmitParams
		for b.Loop() {
			m, err := ParseMessage(submitLine)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Decode(m.Params); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(submitLine)))
		var s SubmitParams
		for b.Loop() {
			var m struct {
				ID     json.RawMessage `json:"id"`
				Method string          `json:"method"`
				Params []string        `json:"params"`
			}
			if err := json.Unmarshal(submitLine, &m); err != nil {
				b.Fatal(err)
			}
			s.Worker, s.JobID = m.Params[0], m.Params[1]
			s.Extranonce2, _ = hex.DecodeString(m.Params[2])
			s.NTime = mustU32(b, m.Params[3])
			s.Nonce = mustU32(b, m.Params[4])
			s.VersionBits, s.HasVersionBits = mustU32(b, m.Params[5]), true
		}
	})
}

func mustU32(b *testing.B, s string) uint32 {
	v, err := u32Field("bench", "x", []byte(`"`+s+`"`), true)
	if err != nil {
		b.Fatal(err)
	}
	return v
}
