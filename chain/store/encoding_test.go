package store

import (
	"bytes"
	"testing"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/storage"
)

// TestEncodingRoundTrip encodes and decodes index entries, undo records
// and accounts, including extreme values.
func TestEncodingRoundTrip(t *testing.T) {
	c := newTestChain(t, "enc", 1)
	g := c.genesis
	for _, e := range []storage.IndexEntry{
		{Hash: g.Hash(), Height: 0, Header: g.Header, Status: 0, Seq: 0},
		{Hash: g.Hash(), Height: 1<<63 - 1, Header: g.Header, Status: 0xff, Seq: 1<<64 - 1},
	} {
		got, err := decodeIndexEntry(indexKey(e.Height, e.Hash), appendIndexValue(nil, &e))
		if err != nil || got != e {
			t.Fatalf("index entry %+v came back as %+v, %v", e, got, err)
		}
	}
	for _, u := range []storage.Undo{
		{},
		{Accounts: []storage.AccountEntry{{Address: addr(0)}, {Address: addr(1), Account: chain.Account{Balance: 1<<64 - 1, Sequence: 1<<64 - 1}}}},
	} {
		got, err := decodeUndo(appendUndo(nil, &u))
		if err != nil || len(got.Accounts) != len(u.Accounts) {
			t.Fatalf("undo %+v came back as %+v, %v", u, got, err)
		}
		for i := range u.Accounts {
			if got.Accounts[i] != u.Accounts[i] {
				t.Fatalf("undo entry %d: %+v, want %+v", i, got.Accounts[i], u.Accounts[i])
			}
		}
	}
	for _, a := range []chain.Account{{Balance: 1}, {Sequence: 1}, {Balance: 1<<64 - 1, Sequence: 1<<64 - 1}} {
		if got, err := decodeAccount(appendAccount(nil, a)); err != nil || got != a {
			t.Fatalf("account %+v came back as %+v, %v", a, got, err)
		}
	}
}

// FuzzIndexEntry decodes arbitrary index keys and values: never a panic,
// and whatever decodes re-encodes to the same bytes.
func FuzzIndexEntry(f *testing.F) {
	c := newTestChain(f, "fuzz", 1)
	g := c.genesis
	for _, e := range []storage.IndexEntry{
		{Hash: g.Hash(), Height: 0, Header: g.Header, Status: storage.StatusDataStored | storage.StatusValid, Seq: 0},
		{Hash: g.Hash(), Height: 12345, Header: g.Header, Status: storage.StatusValidateFailed, Seq: 1 << 40},
	} {
		v := appendIndexValue(nil, &e)
		f.Add(indexKey(e.Height, e.Hash), v)
		f.Add(indexKey(e.Height, e.Hash), v[:len(v)-1])
	}
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, key, val []byte) {
		e, err := decodeIndexEntry(key, val)
		if err != nil {
			return
		}
		if k := indexKey(e.Height, e.Hash); !bytes.Equal(k, key) {
			t.Fatalf("key %x re-encodes to %x", key, k)
		}
		if v := appendIndexValue(nil, &e); !bytes.Equal(v, val) {
			t.Fatalf("value %x re-encodes to %x", val, v)
		}
		if e.Header.Hash() != e.Hash {
			t.Fatal("decoded an entry whose header does not match its hash")
		}
	})
}

// FuzzUndo decodes arbitrary undo, account and validator values: never a panic, and
// whatever decodes re-encodes to the same bytes.
func FuzzUndo(f *testing.F) {
	f.Add(appendUndo(nil, &storage.Undo{}))
	f.Add(appendUndo(nil, &storage.Undo{Accounts: []storage.AccountEntry{
		{Address: chain.Address{1}}, {Address: chain.Address{2}, Account: chain.Account{Balance: 300, Sequence: 1<<64 - 1}},
	}}))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add(appendAccount(nil, chain.Account{Balance: 5, Sequence: 1}))
	f.Add(appendUndo(nil, &storage.Undo{Validators: []storage.ValidatorEntry{{Key: chain.PublicKey{3}, Validator: chain.Validator{Stake: 7, ActivationEpoch: 1}}}}))
	f.Add(appendValidator(nil, chain.Validator{Owner: chain.Address{4}, Stake: 10, ActivationEpoch: 2, ExitEpoch: 5}))
	f.Add(appendValidator(nil, chain.Validator{Owner: chain.Address{4}, Stake: 10, ActivationEpoch: 2, Withdrawing: 3, WithdrawEpoch: 4}))
	// Finality-format records (decodeUndoFinality): a meta record, a
	// deleted vote record (empty value) and the beacon, with and without
	// validator entries.
	fin := []storage.FinalityEntry{
		{Key: storage.FinalityMetaKey, Value: storage.FinalityMeta{Justified: chain.Checkpoint{Epoch: 2, Hash: chain.Hash{2}}}.Encode()},
		{Key: storage.VoteKey(3, chain.PublicKey{5})},
		{Key: storage.BeaconKey, Value: storage.EncodeBeacon(storage.Beacon{Slot: 9, Epoch: 1, Mix: chain.Hash{6}, Valid: 1})},
	}
	f.Add(appendUndo(nil, &storage.Undo{Finality: fin}))
	f.Add(appendUndo(nil, &storage.Undo{Accounts: []storage.AccountEntry{{Address: chain.Address{1}}},
		Validators: []storage.ValidatorEntry{{Key: chain.PublicKey{3}, Validator: chain.Validator{Stake: 7, ActivationEpoch: 1}}}, Finality: fin[:1]}))
	f.Fuzz(func(t *testing.T, val []byte) {
		if v, err := decodeValidator(val); err == nil {
			if enc := appendValidator(nil, v); !bytes.Equal(enc, val) {
				t.Fatalf("validator %x re-encodes to %x", val, enc)
			}
		}
		if u, err := decodeUndo(val); err == nil {
			if v := appendUndo(nil, u); !bytes.Equal(v, val) {
				t.Fatalf("undo %x re-encodes to %x", val, v)
			}
		}
		if a, err := decodeAccount(val); err == nil {
			if v := appendAccount(nil, a); !bytes.Equal(v, val) {
				t.Fatalf("account %x re-encodes to %x", val, v)
			}
		}
	})
}
