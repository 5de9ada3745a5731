package chain

import (
	"crypto/ed25519"
	"encoding/binary"
	"math/big"
	"sync"
	"testing"
)

// testParams are mainnet's rules with regression-test difficulty, so that
// a test block needs a couple of nonces to meet its target.
var testParams = func() Params {
	p := MainNetParams
	p.Name = "test"
	p.PowLimit = new(big.Int).Sub(new(big.Int).Lsh(bigOne, 255), bigOne)
	p.PowLimitBits = testBits
	p.NoRetargeting = true
	return p
}()

// testBits is the easiest target below testParams.PowLimit.
const testBits = 0x207fffff

// testKey returns a deterministic key pair for account i.
func testKey(i int) (PublicKey, ed25519.PrivateKey) {
	var seed [ed25519.SeedSize]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(i)+1)
	priv := ed25519.NewKeyFromSeed(seed[:])
	return PublicKey(priv.Public().(ed25519.PublicKey)), priv
}

// testAddr returns a deterministic address for account i.
func testAddr(i int) Address {
	pub, _ := testKey(i)
	return pub.Address()
}

// signedTransfer returns a transfer from account from to account to,
// signed by from's key.
func signedTransfer(tb testing.TB, from, to int, amount, fee, seq uint64) Transaction {
	tb.Helper()
	_, priv := testKey(from)
	t := &Transfer{To: testAddr(to), Amount: amount, Fee: fee, Sequence: seq}
	if err := t.Sign(priv, testParams.GenesisHash); err != nil {
		tb.Fatal(err)
	}
	return Transaction{Transfer: t}
}

// unsignedTransfer returns a transfer with an empty signature; seq makes it
// unique. Good for checks that run before signatures.
func unsignedTransfer(seq uint64) Transaction {
	pub, _ := testKey(0)
	return Transaction{Transfer: &Transfer{From: pub, To: testAddr(1), Amount: 1, Fee: 1, Sequence: seq}}
}

// coinbaseTx returns a coinbase at height paying amount to account 0.
func coinbaseTx(height uint32, amount uint64) Transaction {
	return Transaction{Coinbase: &Coinbase{
		Height:     height,
		Extranonce: []byte{0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1},
		Outputs:    []Output{{Address: testAddr(0), Amount: amount}},
	}}
}

// buildBlock returns a block of txs with the right merkle root and a
// nonce that meets testBits.
func buildBlock(tb testing.TB, txs ...Transaction) *Block {
	tb.Helper()
	b := &Block{
		Header: Header{
			Version:   1,
			PrevBlock: testParams.GenesisHash,
			Timestamp: 1700000000,
			Bits:      testBits,
		},
		Transactions: txs,
	}
	b.Header.MerkleRoot, _ = b.MerkleRoot()
	solve(tb, &b.Header)
	return b
}

// solve sets h.Nonce to the first nonce that meets h.Bits under testParams.
func solve(tb testing.TB, h *Header) {
	tb.Helper()
	for h.Nonce = 0; h.Nonce < 1000; h.Nonce++ {
		if CheckHeaderSanity(h, &testParams) == nil {
			return
		}
	}
	tb.Fatal("no nonce found")
}

// bigBlockTransfers is the number of transfers in bigBlock.
const bigBlockTransfers = 1000

// bigBlock is a valid block with a coinbase and 1,000 signed transfers
// from 1,000 accounts. Signing takes a while, so it is built once.
var bigBlock = sync.OnceValue(func() *Block {
	txs := []Transaction{coinbaseTx(1, 50*BaseUnitsPerCoin)}
	for i := range bigBlockTransfers {
		_, priv := testKey(i)
		t := &Transfer{To: testAddr(i + 1), Amount: uint64(1000 + i), Fee: 10, Sequence: 0}
		if err := t.Sign(priv, testParams.GenesisHash); err != nil {
			panic(err)
		}
		txs = append(txs, Transaction{Transfer: t})
	}
	b := &Block{
		Header:       Header{Version: 1, PrevBlock: testParams.GenesisHash, Timestamp: 1700000000, Bits: testBits},
		Transactions: txs,
	}
	b.Header.MerkleRoot, _ = b.MerkleRoot()
	for ; CheckHeaderSanity(&b.Header, &testParams) != nil; b.Header.Nonce++ {
	}
	return b
})

// cloneBlock returns a deep copy of b.
func cloneBlock(tb testing.TB, b *Block) *Block {
	tb.Helper()
	enc, err := b.MarshalBinary()
	if err != nil {
		tb.Fatal(err)
	}
	var out Block
	if err := out.UnmarshalBinary(enc); err != nil {
		tb.Fatal(err)
	}
	return &out
}
