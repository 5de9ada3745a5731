package chain

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// stakeTestParams are testParams with stake enabled: epochs of 10 blocks,
// a 10-coin minimum deposit, 4 validators, unlock 2 epochs after exit.
var stakeTestParams = func() Params {
	p := testParams
	p.EpochLength = 10
	p.MinDeposit = 10 * BaseUnitsPerCoin
	p.MaxValidators = 4
	p.WithdrawDelayEpochs = 2
	p.MaxVotesPerBlock = 3
	p.MaxSlashesPerBlock = 1
	p.VoteReward = BaseUnitsPerCoin / 100
	p.SlashReporterShareDenom = 16
	return p
}()

// signedDeposit returns a deposit by account owner for the validator key
// of account validator, signed by both for stakeTestParams' network.
func signedDeposit(tb testing.TB, owner, validator int, amount, fee, seq uint64) Transaction {
	tb.Helper()
	_, ownerKey := testKey(owner)
	_, valKey := testKey(validator)
	d := &Deposit{Amount: amount, Fee: fee, Sequence: seq}
	if err := d.Sign(ownerKey, valKey, stakeTestParams.GenesisHash); err != nil {
		tb.Fatal(err)
	}
	return Transaction{Deposit: d}
}

// signedWithdraw returns a withdraw (an exit) by account owner for the
// validator key of account validator.
func signedWithdraw(tb testing.TB, owner, validator int, fee, seq uint64) Transaction {
	tb.Helper()
	return signedPartialWithdraw(tb, owner, validator, 0, fee, seq)
}

// signedPartialWithdraw returns a withdraw of amount by account owner for
// the validator key of account validator.
func signedPartialWithdraw(tb testing.TB, owner, validator int, amount, fee, seq uint64) Transaction {
	tb.Helper()
	_, ownerKey := testKey(owner)
	val, _ := testKey(validator)
	w := &Withdraw{Validator: val, Amount: amount, Fee: fee, Sequence: seq}
	if err := w.Sign(ownerKey, stakeTestParams.GenesisHash); err != nil {
		tb.Fatal(err)
	}
	return Transaction{Withdraw: w}
}

// TestStakeEncoding checks the layout field by field, the sizes, the
// round trip and the transaction id of both stake types.
func TestStakeEncoding(t *testing.T) {
	owner, _ := testKey(1)
	val, _ := testKey(7)
	sig := func(b byte) (s Signature) {
		for i := range s {
			s[i] = b
		}
		return s
	}
	le := func(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	s1, s2 := sig(0xa1), sig(0xb2)
	tests := []struct {
		name string
		tx   Transaction
		want []byte
		typ  TxType
	}{
		{"deposit", Transaction{Deposit: &Deposit{From: owner, Validator: val, Amount: 1e9, Fee: 300, Sequence: 4, Signature: s1, ValidatorSignature: s2}},
			cat([]byte{2, 3}, owner[:], val[:], le(1e9), le(300), le(4), s1[:], s2[:]), TxTypeDeposit},
		{"withdraw", Transaction{Withdraw: &Withdraw{From: owner, Validator: val, Fee: 200, Sequence: 5, Signature: s1}},
			cat([]byte{2, 4}, owner[:], val[:], le(0), le(200), le(5), s1[:]), TxTypeWithdraw},
		{"partial withdraw", Transaction{Withdraw: &Withdraw{From: owner, Validator: val, Amount: 3e9, Fee: 200, Sequence: 5, Signature: s1}},
			cat([]byte{2, 4}, owner[:], val[:], le(3e9), le(200), le(5), s1[:]), TxTypeWithdraw},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.tx.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("encoding\n got %x\nwant %x", got, tc.want)
			}
			if tc.tx.Type() != tc.typ || tc.tx.SerializeSize() != len(tc.want) {
				t.Fatalf("type %d size %d, want %d %d", tc.tx.Type(), tc.tx.SerializeSize(), tc.typ, len(tc.want))
			}
			if tc.tx.TxID() != Hash(doubleSHA256(tc.want)) {
				t.Fatal("txid is not the double SHA-256 of the encoding")
			}
			var back Transaction
			if err := back.UnmarshalBinary(got); err != nil {
				t.Fatal(err)
			}
			again, _ := back.MarshalBinary()
			if !bytes.Equal(again, got) || back.Type() != tc.typ {
				t.Fatal("round trip differs")
			}
		})
	}
	if DepositSize != 218 || WithdrawSize != 154 {
		t.Fatalf("DepositSize %d, WithdrawSize %d", DepositSize, WithdrawSize)
	}
}

// TestStakeStrictDecoding: every truncation, a trailing byte and an
// unknown type are refused with the right sentinel.
func TestStakeStrictDecoding(t *testing.T) {
	for _, tx := range []Transaction{signedDeposit(t, 1, 7, 20*BaseUnitsPerCoin, 1, 0), signedWithdraw(t, 1, 7, 1, 1)} {
		enc, _ := tx.MarshalBinary()
		for n := range len(enc) {
			var got Transaction
			err := got.UnmarshalBinary(enc[:n])
			if !errors.Is(err, ErrMalformed) || !errors.Is(err, ErrTruncated) {
				t.Fatalf("type %d cut at %d: %v, want ErrTruncated", tx.Type(), n, err)
			}
		}
		var got Transaction
		if err := got.UnmarshalBinary(append(enc, 0)); !errors.Is(err, ErrNonCanonical) {
			t.Fatalf("trailing byte: %v, want ErrNonCanonical", err)
		}
		bad := bytes.Clone(enc)
		bad[1] = 5
		if err := got.UnmarshalBinary(bad); !errors.Is(err, ErrUnknownType) {
			t.Fatalf("type 5: %v, want ErrUnknownType", err)
		}
		if got.Type() != 0 {
			t.Fatal("a failed decode changed the transaction")
		}
	}
}

// TestStakeNotWellFormed: two bodies at once encode to nothing.
func TestStakeNotWellFormed(t *testing.T) {
	d, w := signedDeposit(t, 1, 7, 1, 1, 0), signedWithdraw(t, 1, 7, 1, 1)
	for _, tx := range []Transaction{
		{Deposit: d.Deposit, Withdraw: w.Withdraw},
		{Transfer: unsignedTransfer(0).Transfer, Deposit: d.Deposit},
		{Coinbase: coinbaseTx(1, 1).Coinbase, Withdraw: w.Withdraw},
	} {
		if tx.Type() != 0 || tx.SerializeSize() != 0 || tx.TxID() != (Hash{}) || tx.IsStake() {
			t.Fatal("a transaction with two bodies looks well formed")
		}
		if _, err := tx.MarshalBinary(); !errors.As(err, new(AssertError)) {
			t.Fatalf("marshal: %v, want AssertError", err)
		}
		if _, ok := tx.Debit(); ok {
			t.Fatal("Debit of a malformed transaction")
		}
	}
}

// TestStakeSignatures: each signature covers every field and its own
// domain; the proof of possession must come from the validator key.
func TestStakeSignatures(t *testing.T) {
	net := stakeTestParams.GenesisHash
	d := signedDeposit(t, 1, 7, 20*BaseUnitsPerCoin, 1, 0).Deposit
	if !d.Verify(net) {
		t.Fatal("valid deposit does not verify")
	}
	if d.Verify(Hash{1}) {
		t.Fatal("deposit verifies on another network")
	}
	if bytes.Equal(d.SigningMessage(net), d.PossessionMessage(net)) {
		t.Fatal("owner and validator sign the same message")
	}
	// Someone else's validator key, with a possession proof of the owner's.
	stolen := *d
	stolen.Validator, _ = testKey(9)
	if stolen.Verify(net) {
		t.Fatal("a deposit for a key that did not sign verifies")
	}
	swapped := *d
	swapped.ValidatorSignature = d.Signature
	if swapped.Verify(net) {
		t.Fatal("the owner's signature passes as the validator's")
	}
	for name, mut := range map[string]func(*Deposit){
		"amount":   func(x *Deposit) { x.Amount++ },
		"fee":      func(x *Deposit) { x.Fee++ },
		"sequence": func(x *Deposit) { x.Sequence++ },
		"owner":    func(x *Deposit) { x.From, _ = testKey(3) },
	} {
		x := *d
		mut(&x)
		if x.Verify(net) {
			t.Errorf("deposit with changed %s verifies", name)
		}
	}
	w := signedWithdraw(t, 1, 7, 1, 1).Withdraw
	if !w.Verify(net) {
		t.Fatal("valid withdraw does not verify")
	}
	for name, mut := range map[string]func(*Withdraw){
		"validator": func(x *Withdraw) { x.Validator, _ = testKey(8) },
		"fee":       func(x *Withdraw) { x.Fee++ },
		"sequence":  func(x *Withdraw) { x.Sequence++ },
	} {
		x := *w
		mut(&x)
		if x.Verify(net) {
			t.Errorf("withdraw with changed %s verifies", name)
		}
	}
	if err := d.Sign(nil, nil, net); err == nil {
		t.Fatal("Sign accepted empty keys")
	}
	if err := w.Sign(nil, net); err == nil {
		t.Fatal("Sign accepted an empty key")
	}
}

// TestCheckStakeSanity: each context-free stake rule yields its code.
func TestCheckStakeSanity(t *testing.T) {
	p := &stakeTestParams
	overflow := signedDeposit(t, 1, 7, ^uint64(0), 1, 0)
	badSig := signedDeposit(t, 1, 7, 20*BaseUnitsPerCoin, 1, 0)
	badSig.Deposit.ValidatorSignature[0] ^= 1
	badW := signedWithdraw(t, 1, 7, 1, 0)
	badW.Withdraw.Signature[5] ^= 1
	tests := []struct {
		name string
		tx   Transaction
		p    *Params
		want ErrorCode // -1: no error
	}{
		{"deposit", signedDeposit(t, 1, 7, 10*BaseUnitsPerCoin, 1, 0), p, -1},
		{"withdraw", signedWithdraw(t, 1, 7, 0, 0), p, -1},
		{"below minimum", signedDeposit(t, 1, 7, 10*BaseUnitsPerCoin-1, 1, 0), p, ErrDepositTooSmall},
		{"overflow", overflow, p, ErrAmountOverflow},
		{"bad validator signature", badSig, p, ErrBadSignature},
		{"bad withdraw signature", badW, p, ErrBadSignature},
		{"stake disabled", signedDeposit(t, 1, 7, 10*BaseUnitsPerCoin, 1, 0), &testParams, ErrStakeDisabled},
		{"withdraw disabled", signedWithdraw(t, 1, 7, 0, 0), &testParams, ErrStakeDisabled},
	}
	for _, tc := range tests {
		err := CheckTransactionSanity(&tc.tx, tc.p)
		var rerr RuleError
		switch {
		case tc.want < 0 && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want >= 0 && (!errors.As(err, &rerr) || rerr.Code != tc.want):
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestCheckBlockSanityStake: a block with stake transactions passes, and
// counts their fees; a bad one is refused with its code.
func TestCheckBlockSanityStake(t *testing.T) {
	p := &stakeTestParams
	dep := signedDeposit(t, 1, 7, 10*BaseUnitsPerCoin, ^uint64(0)-5, 0)
	blk := buildBlock(t, coinbaseTx(1, 1), signedTransfer(t, 2, 3, 1, 10, 0), signedWithdraw(t, 4, 8, 3, 0))
	if err := CheckBlockSanity(blk, p, BFNone); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		blk  *Block
		want ErrorCode
	}{
		{"fees overflow", buildBlock(t, coinbaseTx(1, 1), signedTransfer(t, 2, 3, 1, 10, 0), dep), ErrAmountOverflow},
		{"small deposit", buildBlock(t, coinbaseTx(1, 1), signedDeposit(t, 1, 7, 1, 1, 0)), ErrDepositTooSmall},
		{"bad signature", func() *Block {
			w := signedWithdraw(t, 4, 8, 3, 0)
			w.Withdraw.Fee++
			return buildBlock(t, coinbaseTx(1, 1), w)
		}(), ErrBadSignature},
	} {
		err := CheckBlockSanity(tc.blk, p, BFNone)
		var rerr RuleError
		if !errors.As(err, &rerr) || rerr.Code != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestEpochs(t *testing.T) {
	p := &stakeTestParams
	for _, tc := range []struct {
		height   int64
		epoch    uint64
		boundary bool
	}{{0, 0, true}, {1, 0, false}, {9, 0, false}, {10, 1, true}, {25, 2, false}, {-1, 0, false}} {
		if p.Epoch(tc.height) != tc.epoch || p.IsEpochBoundary(tc.height) != tc.boundary {
			t.Errorf("height %d: epoch %d boundary %v", tc.height, p.Epoch(tc.height), p.IsEpochBoundary(tc.height))
		}
	}
	v := Validator{Stake: 1, ActivationEpoch: 2, ExitEpoch: 4}
	for e, want := range []bool{false, false, true, true, false, false} {
		if v.ActiveAt(uint64(e)) != want {
			t.Errorf("epoch %d: active %v", e, !want)
		}
	}
	if (Validator{ActivationEpoch: 1}).ActiveAt(1000) != true || (Validator{}).ActiveAt(5) {
		t.Error("ExitEpoch 0 or a zero validator")
	}
}
