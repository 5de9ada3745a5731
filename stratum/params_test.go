package stratum

import (
	"errors"
	"strings"
	"testing"
)

// Real lines. The params are verbatim from the captures quoted in
// shared/notes/stratum.md; the envelopes around them follow each client's
// format string (spacing and member order), which the notes do not quote.
var realLines = []string{
	// cpuminer 2.5.1
	`{"id": 1, "method": "mining.subscribe", "params": ["cpuminer/2.5.1"]}`,
	`{"id": 2, "method": "mining.authorize", "params": ["testuser", "x"]}`,
	`{"method": "mining.submit", "params": ["testuser", "67", "00000000", "6b05c962", "a0140500"], "id":4}`,
	// cpuminer-opt 26.1
	`{"id": 1, "method": "mining.subscribe", "params": ["cpuminer-opt-26.1-x64L"]}`,
	`{"id": 3, "method": "mining.extranonce.subscribe", "params": []}`,
	`{"id": 7, "method": "mining.suggest_difficulty", "params": ["0.010000"]}`,
	// BFGMiner 5.5.0
	`{"id": 0, "method": "mining.subscribe", "params": ["bfgminer/5.5.0-unknown"]}`,
	`{"id": "auth", "method": "mining.authorize", "params": ["testuser", "x"]}`,
	`{"params": ["65"], "id": "txlist65", "method": "mining.get_transactions"}`,
	`{"params": ["testuser", "65", "01000000", "6b05cbd3", "31211b00"], "id": 7, "method": "mining.submit"}`,
	// ESP-Miner (configure verbatim from the notes)
	`{"id":1,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"ffffffff"}]}`,
	`{"id": 3, "method": "mining.suggest_difficulty", "params": [1000]}`,
	// Server side, verbatim from the notes.
	`{"id":null,"method":"mining.set_difficulty","params":[0.01]}`,
	`{"id":1,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null}`,
	`{"id":11,"error":null,"result":true}`,
	// mining.notify of block 286819 with the notes' prevhash, version,
	// nbits and ntime (coinbase and branch made up).
	`{"params": ["1f", "975b9717f7d18ec1f2ad55e2559b5997b8da0e3317c803780000000100000000", "01000000010000", "ffffffff00", ["8a97295a2747b4f1a0b3948df3990344c0e19fa6b2b92b3a19c8e6badc141787"], "00000002", "19015f53", "53058b35", true], "id": null, "method": "mining.notify"}`,
}

func TestRealLines(t *testing.T) {
	var (
		sub  SubscribeParams
		auth AuthorizeParams
		s    SubmitParams
		sd   SuggestDifficultyParams
		conf ConfigureParams
		gt   GetTransactionsParams
		es   ExtranonceSubscribeParams
		set  SetDifficultyParams
		n    NotifyParams
		cr   ConfigureResult
	)
	decoders := map[string]decodable{
		MethodSubscribe: &sub, MethodAuthorize: &auth, MethodSubmit: &s, MethodSuggestDifficulty: &sd,
		MethodConfigure: &conf, MethodGetTransactions: &gt, MethodExtranonceSubscribe: &es,
		MethodSetDifficulty: &set, MethodNotify: &n,
	}
	for _, line := range realLines {
		m, err := ParseMessage([]byte(line))
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if m.Kind() == KindResponse {
			continue
		}
		if err := decoders[m.Method].Decode(m.Params); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		switch m.Method {
		case MethodSubscribe:
			if sub.UserAgent == "" || sub.SessionID != "" {
				t.Errorf("%s: %+v", line, sub)
			}
		case MethodAuthorize:
			if auth.User != "testuser" || auth.Password != "x" || auth.Address() != "testuser" || auth.Worker() != "" {
				t.Errorf("%s: %+v", line, auth)
			}
		case MethodSubmit:
			want := SubmitParams{Worker: "testuser", JobID: "67", Extranonce2: []byte{0, 0, 0, 0}, NTime: 0x6b05c962, Nonce: 0xa0140500}
			if string(m.ID) == "7" {
				want = SubmitParams{Worker: "testuser", JobID: "65", Extranonce2: []byte{1, 0, 0, 0}, NTime: 0x6b05cbd3, Nonce: 0x31211b00}
			}
			if s.Worker != want.Worker || s.JobID != want.JobID || string(s.Extranonce2) != string(want.Extranonce2) ||
				s.NTime != want.NTime || s.Nonce != want.Nonce || s.HasVersionBits {
				t.Errorf("%s: %+v", line, s)
			}
		case MethodSuggestDifficulty:
			if sd.Difficulty != 0.01 && sd.Difficulty != 1000 {
				t.Errorf("%s: %v", line, sd.Difficulty)
			}
		case MethodConfigure:
			if !conf.Has(ExtensionVersionRolling) || conf.VersionRollingMask != 0xffffffff {
				t.Errorf("%s: %+v", line, conf)
			}
		case MethodGetTransactions:
			if gt.JobID != "65" || string(m.ID) != `"txlist65"` {
				t.Errorf("%s: %+v", line, gt)
			}
		case MethodSetDifficulty:
			if set.Difficulty != 0.01 || m.Kind() != KindNotification {
				t.Errorf("%s: %+v", line, set)
			}
		case MethodNotify:
			if n.PrevHash.String() != "000000000000000117c80378b8da0e33559b5997f2ad55e2f7d18ec1975b9717" ||
				n.Version != 2 || n.Bits != 0x19015f53 || n.Time != 0x53058b35 || !n.CleanJobs || len(n.MerkleBranch) != 1 {
				t.Errorf("%s: %+v", line, n)
			}
		}
	}
	m, _ := ParseMessage([]byte(realLines[13]))
	if err := cr.Decode(m.Result); err != nil || !cr.VersionRolling || cr.VersionRollingMask != 0x1fffe000 {
		t.Fatalf("configure result: %+v, %v", cr, err)
	}
}

func TestSplitUser(t *testing.T) {
	for user, want := range map[string][2]string{
		"bc1qxyz.rig1": {"bc1qxyz", "rig1"}, "bc1qxyz": {"bc1qxyz", ""},
		"addr.rig.a": {"addr", "rig.a"}, "addr.": {"addr", ""}, "": {"", ""},
	} {
		if a, w := SplitUser(user); a != want[0] || w != want[1] {
			t.Errorf("SplitUser(%q) = %q, %q", user, a, w)
		}
	}
}

// paramDecoders returns a fresh decoder for every method's params and
// every result type, by name.
func paramDecoders() map[string]func() decodable {
	return map[string]func() decodable{
		MethodSubscribe:           func() decodable { return &SubscribeParams{} },
		MethodAuthorize:           func() decodable { return &AuthorizeParams{} },
		MethodConfigure:           func() decodable { return &ConfigureParams{} },
		MethodSubmit:              func() decodable { return &SubmitParams{} },
		MethodSuggestDifficulty:   func() decodable { return &SuggestDifficultyParams{} },
		MethodExtranonceSubscribe: func() decodable { return &ExtranonceSubscribeParams{} },
		MethodGetTransactions:     func() decodable { return &GetTransactionsParams{} },
		MethodNotify:              func() decodable { return &NotifyParams{} },
		MethodSetDifficulty:       func() decodable { return &SetDifficultyParams{} },
		MethodSetExtranonce:       func() decodable { return &SetExtranonceParams{} },
		MethodSetVersionMask:      func() decodable { return &SetVersionMaskParams{} },
		"subscribe result":        func() decodable { return &SubscribeResult{} },
		"configure result":        func() decodable { return &ConfigureResult{} },
	}
}

const (
	goodPrev = `"975b9717f7d18ec1f2ad55e2559b5997b8da0e3317c803780000000100000000"`
	goodHash = `"8a97295a2747b4f1a0b3948df3990344c0e19fa6b2b92b3a19c8e6badc141787"`
)

func TestDecodeErrors(t *testing.T) {
	bad := map[string][]string{
		MethodSubscribe: {`{}`, `[1]`, `["a","b","c"]`, `["a",2]`, `"x"`, `[`},
		MethodAuthorize: {``, `[]`, `[""]`, `[1,"x"]`, `["u",false]`, `["u","p","x"]`},
		MethodConfigure: {`[]`, `["version-rolling"]`, `[["version-rolling"],[]]`, `[[1],{}]`,
			`[["version-rolling"],{"version-rolling.mask":"123456789"}]`,
			`[["version-rolling"],{"version-rolling.mask":1}]`,
			`[["version-rolling"],{"version-rolling.mask":"xyz"}]`,
			`[["version-rolling"],{"version-rolling.min-bit-count":33}]`,
			`[["version-rolling"],{"version-rolling.min-bit-count":"2"}]`,
			`[[],{},3]`, `[["a","a","a","a","a","a","a","a","a","a","a","a","a","a","a","a","a"],{}]`},
		MethodSubmit: {`[]`, `["w","j","00","6b05c962"]`,
			`["w","j","00000000","6b05c962","a0140500","1fffe000","x"]`,
			`[1,"j","00000000","6b05c962","a0140500"]`, `["w",67,"00000000","6b05c962","a0140500"]`,
			`["w","j","000","6b05c962","a0140500"]`, `["w","j","","6b05c962","a0140500"]`,
			`["w","j","zz000000","6b05c962","a0140500"]`, `["w","j",0,"6b05c962","a0140500"]`,
			`["w","j","` + strings.Repeat("00", 33) + `","6b05c962","a0140500"]`,
			`["w","j","00000000","6b05c96","a0140500"]`, `["w","j","00000000","6b05c9622","a0140500"]`,
			`["w","j","00000000","6b05c962","a014050g"]`, `["w","j","00000000","6b05c962",2685666560]`,
			`["w","j","00000000","6b05c962","a0140500","1fffe00"]`, `["w","j","00000000","6b05c962","a0140500",null]`,
			`["w","j","00000000","6b05c962"," a014050"]`, `["w","j","00000000","6b05c962","\u0061014050"]`},
		MethodSuggestDifficulty:   {`[]`, `[0]`, `[-1]`, `["abc"]`, `["0x10"]`, `["inf"]`, `[true]`, `[1,2]`, `[1e999]`, `[null]`},
		MethodExtranonceSubscribe: {`[1]`, `{}`, `"x"`},
		MethodGetTransactions:     {`[1]`, `["a","b"]`},
		MethodNotify: {`[]`,
			`["1",` + goodPrev + `,"00","00",[],"00000002","19015f53","53058b35"]`,
			`["1",` + goodPrev + `,"00","00",[],"00000002","19015f53","53058b35",true,1]`,
			`["1","975b9717",` + `"00","00",[],"00000002","19015f53","53058b35",true]`,
			`["1",` + goodPrev + `,"0","00",[],"00000002","19015f53","53058b35",true]`,
			`["1",` + goodPrev + `,"00","00",["00"],"00000002","19015f53","53058b35",true]`,
			`["1",` + goodPrev + `,"00","00",` + goodHash + `,"00000002","19015f53","53058b35",true]`,
			`["1",` + goodPrev + `,"00","00",[],"2","19015f53","53058b35",true]`,
			`["1",` + goodPrev + `,"00","00",[],"00000002",436297555,"53058b35",true]`,
			`["1",` + goodPrev + `,"00","00",[],"00000002","19015f53","53058b35","true"]`,
			`["1",` + goodPrev + `,"00","00",[` + repeatJoin(goodHash, 33) + `],"00000002","19015f53","53058b35",true]`},
		MethodSetDifficulty:  {`[]`, `[0]`, `[-0.5]`, `["x"]`, `[1,2]`, `[[1]]`},
		MethodSetExtranonce:  {`["01020304"]`, `["",4]`, `["0102",0]`, `["0102",33]`, `["0102","4"]`, `[1,4]`, `["01020304",4,1]`},
		MethodSetVersionMask: {`[]`, `[""]`, `["1fffe0000"]`, `[536862720]`, `["1fffe000",1]`},
		"subscribe result": {`[]`, `[null,"01020304"]`, `[null,"0102030",4]`, `[null,"01020304",0]`,
			`[null,"01020304",33]`, `[null,"01020304","4"]`, `[null,"01020304",4,5]`, `{}`},
		"configure result": {`[]`, `{"version-rolling":"yes"}`, `{"version-rolling":true,"version-rolling.mask":"zz"}`, `{`},
	}
	decoders := paramDecoders()
	for name, inputs := range bad {
		for _, in := range inputs {
			err := decoders[name]().Decode([]byte(in))
			var se *Error
			if !errors.As(err, &se) || !errors.Is(err, ErrInvalidParams) || se.Code != CodeOther {
				t.Errorf("%s.Decode(%s) = %v, want an *Error wrapping ErrInvalidParams", name, in, err)
			}
		}
	}
}

func repeatJoin(s string, n int) string {
	out := s
	for range n - 1 {
		out += "," + s
	}
	return out
}

// TestDecodeLeavesReceiverOnError checks that a failed Decode keeps the
// earlier value.
func TestDecodeLeavesReceiverOnError(t *testing.T) {
	var s SubmitParams
	if err := s.Decode([]byte(`["w","j","01020304","6b05c962","a0140500","00002000"]`)); err != nil {
		t.Fatal(err)
	}
	before := s
	before.Extranonce2 = append([]byte(nil), s.Extranonce2...)
	if err := s.Decode([]byte(`["x","k","ffffffff","6b05c962","a014050"]`)); err == nil {
		t.Fatal("bad nonce accepted")
	}
	if s.Worker != before.Worker || s.JobID != before.JobID || string(s.Extranonce2) != string(before.Extranonce2) ||
		!s.HasVersionBits || s.VersionBits != 0x2000 {
		t.Fatalf("receiver changed: %+v", s)
	}
}

func TestSuggestDifficultyForms(t *testing.T) {
	for in, want := range map[string]float64{
		`[1000]`: 1000, `[0.0001]`: 0.0001, `["0.010000"]`: 0.01, `["16384"]`: 16384, `[1e-3]`: 0.001, `[ 42 ]`: 42,
	} {
		var p SuggestDifficultyParams
		if err := p.Decode([]byte(in)); err != nil || p.Difficulty != want {
			t.Errorf("Decode(%s) = %v, %v; want %v", in, p.Difficulty, err, want)
		}
	}
}

func TestSubscribeResultShapes(t *testing.T) {
	for in, wantID := range map[string]string{
		`[[["mining.set_difficulty","b4b6693b72a50c7116db18d6497cac52"],["mining.notify","ae6812eb4cd7735a302a8a9dd95cf71f"]],"08000002",4]`: "ae6812eb4cd7735a302a8a9dd95cf71f",
		`[["mining.notify","5a1b"],"08000002",4]`: "5a1b", // ckpool, public-pool
		`[null,"08000002",4]`:                     "",
	} {
		var r SubscribeResult
		if err := r.Decode([]byte(in)); err != nil || r.SubscriptionID != wantID ||
			string(r.Extranonce1) != "\x08\x00\x00\x02" || r.Extranonce2Size != 4 {
			t.Errorf("Decode(%s) = %+v, %v", in, r, err)
		}
	}
}
