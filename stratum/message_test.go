package stratum

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/powmine/powmine/chain"
)

// decodable is what every params and result type offers in tests.
type decodable interface {
	Decode([]byte) error
}

// roundTripParams lists one filled value of every params type and a fresh
// value of the same type to decode into.
func roundTripParams(t *testing.T) []struct {
	p   Params
	out decodable
} {
	prev, err := chain.NewHashFromStr("000000000000000117c80378b8da0e33559b5997f2ad55e2f7d18ec1975b9717")
	if err != nil {
		t.Fatal(err)
	}
	return []struct {
		p   Params
		out decodable
	}{
		{&SubscribeParams{UserAgent: "cpuminer/2.5.1"}, &SubscribeParams{}},
		{&SubscribeParams{UserAgent: "ua \"quoted\" \x01 ünï", SessionID: "deadbeef"}, &SubscribeParams{}},
		{&AuthorizeParams{User: "bc1qaddr.rig1", Password: "d=0.01"}, &AuthorizeParams{}},
		{&ConfigureParams{Extensions: []string{"version-rolling", "minimum-difficulty"},
			VersionRollingMask: 0x1fffe000, VersionRollingMinBitCount: 2}, &ConfigureParams{}},
		{&SubmitParams{Worker: "w.1", JobID: "67", Extranonce2: []byte{1, 0, 0, 0, 0, 0, 0, 0},
			NTime: 0x6b05c962, Nonce: 0xa0140500}, &SubmitParams{}},
		{&SubmitParams{Worker: "w", JobID: "x", Extranonce2: []byte{0xff, 0xee}, NTime: 1, Nonce: 0xffffffff,
			VersionBits: 0x1fffe000, HasVersionBits: true}, &SubmitParams{}},
		{&SuggestDifficultyParams{Difficulty: 0.0001}, &SuggestDifficultyParams{}},
		{&ExtranonceSubscribeParams{}, &ExtranonceSubscribeParams{}},
		{&GetTransactionsParams{JobID: "65"}, &GetTransactionsParams{}},
		{&NotifyParams{JobID: "1f", PrevHash: prev, Coinb1: []byte{1, 2, 3}, Coinb2: []byte{4, 5},
			MerkleBranch: []chain.Hash{{1}, {2, 3}}, Version: 0x20000000, Bits: 0x19015f53, Time: 0x53058b35,
			CleanJobs: true}, &NotifyParams{}},
		{&SetDifficultyParams{Difficulty: 16383.75}, &SetDifficultyParams{}},
		{&SetDifficultyParams{Difficulty: 1e-9}, &SetDifficultyParams{}},
		{&SetExtranonceParams{Extranonce1: []byte{0xde, 0xad, 0xbe, 0xef}, Extranonce2Size: 8}, &SetExtranonceParams{}},
		{&SetVersionMaskParams{Mask: 0x00c00000}, &SetVersionMaskParams{}},
	}
}

func TestParamsRoundTrip(t *testing.T) {
	for _, tc := range roundTripParams(t) {
		t.Run(tc.p.Method(), func(t *testing.T) {
			var line []byte
			if _, ok := tc.p.(*NotifyParams); ok {
				line = AppendNotification(nil, tc.p)
			} else {
				line = AppendRequest(nil, []byte("7"), tc.p)
			}
			if bytes.Count(line, []byte("\n")) != 1 || line[len(line)-1] != '\n' {
				t.Fatalf("not one line: %q", line)
			}
			lines, err := readAll(NewReader(bytes.NewReader(line)))
			if len(lines) != 1 {
				t.Fatalf("reader: %q, %v", lines, err)
			}
			m, err := ParseMessage([]byte(lines[0]))
			if err != nil {
				t.Fatalf("ParseMessage(%s): %v", line, err)
			}
			if m.Method != tc.p.Method() {
				t.Fatalf("method %q, want %q", m.Method, tc.p.Method())
			}
			if err := tc.out.Decode(m.Params); err != nil {
				t.Fatalf("Decode(%s): %v", m.Params, err)
			}
			if !reflect.DeepEqual(tc.out, tc.p) {
				t.Fatalf("round trip of %s:\n got %+v\nwant %+v", line, tc.out, tc.p)
			}
		})
	}
}

func TestResultRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		r   Result
		out decodable
	}{
		{&SubscribeResult{SubscriptionID: "ab12", Extranonce1: []byte{1, 2, 3, 4}, Extranonce2Size: 8}, &SubscribeResult{}},
		{&ConfigureResult{VersionRolling: true, VersionRollingMask: 0x1fffe000, Unsupported: []string{"info"}}, &ConfigureResult{}},
		{&ConfigureResult{}, &ConfigureResult{}},
	} {
		line := AppendResponse(nil, []byte(`"auth"`), tc.r)
		m, err := ParseMessage(bytes.TrimSuffix(line, []byte("\n")))
		if err != nil || m.Kind() != KindResponse || string(m.ID) != `"auth"` || m.ResponseError() != nil {
			t.Fatalf("%s: %+v, %v", line, m, err)
		}
		if err := tc.out.Decode(m.Result); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if !reflect.DeepEqual(tc.out, tc.r) {
			t.Fatalf("round trip of %s: got %+v", line, tc.out)
		}
	}
	ok, err := DecodeBoolResult([]byte("true"))
	if !ok || err != nil {
		t.Fatal("DecodeBoolResult(true)")
	}
	if _, err := DecodeBoolResult([]byte(`"yes"`)); err == nil {
		t.Fatal("DecodeBoolResult accepted a string")
	}
}

// TestIDEchoedVerbatim checks that ids keep their JSON type and text.
func TestIDEchoedVerbatim(t *testing.T) {
	for _, id := range []string{`4`, `"auth"`, `"txlist65"`, `12345678901234567890`, `null`, `-1`} {
		m, err := ParseMessage([]byte(`{"id": ` + id + ` , "method":"mining.authorize","params":["u","p"]}`))
		if err != nil {
			t.Fatal(err)
		}
		want := `{"id":` + id + `,"result":true,"error":null}` + "\n"
		if got := string(AppendResponse(nil, m.ID, BoolResult(true))); got != want {
			t.Errorf("response %s, want %s", got, want)
		}
	}
	// A missing id answers with null.
	if got := string(AppendResponse(nil, nil, BoolResult(false))); got != `{"id":null,"result":false,"error":null}`+"\n" {
		t.Errorf("missing id: %s", got)
	}
}

func TestAppendErrorResponse(t *testing.T) {
	// The shape the notes recommend, byte for byte.
	want := `{"id":4,"result":false,"error":[23,"low difficulty share",null],"reject-reason":"low difficulty share"}` + "\n"
	if got := string(AppendErrorResponse(nil, []byte("4"), NewError(CodeLowDifficulty, ""))); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	m, err := ParseMessage([]byte(want))
	if err != nil {
		t.Fatal(err)
	}
	if e := m.ResponseError(); e == nil || e.Code != CodeLowDifficulty || e.Message != "low difficulty share" {
		t.Fatalf("ResponseError = %+v", e)
	}
	// cpuminer-opt counts a reject as stale when the text has "job".
	if !strings.Contains(CodeJobNotFound.String(), "job") {
		t.Fatal("code 21 message lacks \"job\"")
	}
}

func TestResponseErrorShapes(t *testing.T) {
	tests := []struct {
		name, line string
		code       ErrorCode
		msg        string // "" = no error
	}{
		// From the notes, verbatim.
		{"accepted", `{"id":11,"error":null,"result":true}`, 0, ""},
		{"node-stratum-pool array", `{"id":4,"result":null,"error":[23,"low difficulty share of 0.0419907"]}`,
			23, "low difficulty share of 0.0419907"},
		{"ckpool reject-reason", `{"result":false,"error":null,"reject-reason":"Stale"}`, CodeOther, "Stale"},
		// The notes' miningcore shape with its elided parts filled in.
		{"miningcore object", `{"result":false,"error":{"code":23,"message":"low difficulty share (0.5)","data":null},"id":4}`,
			23, "low difficulty share (0.5)"},
		{"string", `{"id":4,"result":false,"error":"Invalid JobID"}`, CodeOther, "Invalid JobID"},
		{"array without message", `{"id":4,"result":false,"error":[21]}`, 21, "job not found"},
	}
	for _, tc := range tests {
		m, err := ParseMessage([]byte(tc.line))
		if err != nil || m.Kind() != KindResponse {
			t.Fatalf("%s: %v", tc.name, err)
		}
		e := m.ResponseError()
		if tc.msg == "" {
			if e != nil {
				t.Errorf("%s: unexpected error %v", tc.name, e)
			}
			continue
		}
		if e == nil || e.Code != tc.code || e.Message != tc.msg {
			t.Errorf("%s: got %+v, want code %d %q", tc.name, e, tc.code, tc.msg)
		}
	}
}

func TestParseMessageErrors(t *testing.T) {
	for _, line := range []string{
		``, `[]`, `"x"`, `{"id":1}`, `{"id":1,"method":3}`, `{"id":1,"method":""}`,
		`{"id":[1],"method":"mining.subscribe"}`, `{"id":true,"method":"x"}`, `{"id":{},"result":true}`,
		`{"id":1,"method":"mining.subscribe"`, `{"id":1,"method":"mining.subscribe","params":[]}x`,
	} {
		if _, err := ParseMessage([]byte(line)); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("ParseMessage(%q) = %v, want ErrInvalidMessage", line, err)
		}
	}
}

func TestMessageKinds(t *testing.T) {
	for line, want := range map[string]Kind{
		`{"id":1,"method":"mining.subscribe","params":[]}`:          KindRequest,
		`{"id":null,"method":"mining.notify","params":[]}`:          KindNotification,
		`{"method":"mining.set_difficulty","params":[1]}`:           KindNotification, // AntPool omits id
		`{"id":1,"result":true,"error":null}`:                       KindResponse,
		`{"id":1,"error":[20,"x",null]}`:                            KindResponse,
		`{"id":"a","method":"client.show_message","params":["hi"]}`: KindRequest,
		`{"id":1,"method":"mining.\u0073ubmit","params":[]}`:        KindRequest,
	} {
		m, err := ParseMessage([]byte(line))
		if err != nil || m.Kind() != want {
			t.Errorf("%s: kind %v, %v; want %v", line, m.Kind(), err, want)
		}
	}
	m, _ := ParseMessage([]byte(`{"id":1,"method":"mining.\u0073ubmit","params":[]}`))
	if m.Method != MethodSubmit {
		t.Errorf("escaped method decoded as %q", m.Method)
	}
}
