package chain

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
)

// Deposit locks Amount base units of the account of From (the owner) as
// the stake of the validator whose key is Validator, and pays Fee to the
// block's miner. Sequence is the owner's account sequence, shared with
// its transfers, so a deposit cannot be replayed.
//
// Both keys sign: Signature is the owner's, over the deposit signing
// message, and ValidatorSignature is the validator key's, over the same
// fields under another domain string. The second signature is a proof of
// possession: without it anyone could register somebody else's validator
// key with coins of their own, and since a key holds one deposit at a
// time, squat it, or make its holder answer for stake it never agreed to
// lock. Since it covers the owner, the amount and the sequence, it is
// also the validator's consent to this very deposit, and cannot be
// reused for another.
//
// A validator key holds at most one deposit: it is registered by its
// deposit and stays registered until its stake is unlocked. The state
// rules (MinDeposit, MaxValidators, balance, sequence) are checked when
// the block is connected; see the package comment.
type Deposit struct {
	From               PublicKey
	Validator          PublicKey
	Amount             uint64 // base units
	Fee                uint64 // base units
	Sequence           uint64
	Signature          Signature // the owner's, set by Sign
	ValidatorSignature Signature // the validator key's, set by Sign
}

// Withdraw takes Amount base units of the stake of the validator
// Validator back to its owner; Amount 0, or the whole stake, asks that
// the validator leave the validator set. Only the validator's owner (the
// account that deposited) may ask: From must be the owner's key, Fee and
// Sequence work as in a transfer. The validator key does not sign: it may
// sign votes, but the coins are the owner's.
//
// A whole withdraw (an exit) takes effect at the next epoch boundary,
// where the validator leaves the set. A partial one leaves the validator
// active: from the next epoch boundary its weight is its stake less
// Amount, which must leave at least MinDeposit, and it may have one
// partial withdraw pending at a time. Either way the coins stay locked,
// and are burned if the validator is slashed, until WithdrawDelayEpochs
// epochs after that boundary, when they are paid back to the owner
// automatically (see Params and the package comment).
type Withdraw struct {
	From      PublicKey
	Validator PublicKey
	Amount    uint64 // base units; 0 for the whole stake
	Fee       uint64 // base units
	Sequence  uint64
	Signature Signature // the owner's, set by Sign
}

// Sizes of the stake transactions' serialized forms.
const (
	// depositUnsignedSize is a deposit's serialization without its
	// signatures: what both signatures cover (after a domain string).
	depositUnsignedSize = txPrefixSize + 2*PublicKeySize + 3*8

	// DepositSize is the serialized size of every deposit.
	DepositSize = depositUnsignedSize + 2*SignatureSize

	// withdrawUnsignedSize is a withdraw's serialization without its
	// signature.
	withdrawUnsignedSize = txPrefixSize + 2*PublicKeySize + 3*8

	// WithdrawSize is the serialized size of every withdraw.
	WithdrawSize = withdrawUnsignedSize + SignatureSize
)

// Domain strings of the stake signatures; each differs from the others and
// from the transfer's, so that no signature is valid for another message.
const (
	depositSigDomain    = "powmine deposit signature v1\x00"
	possessionSigDomain = "powmine validator possession v1\x00"
	withdrawSigDomain   = "powmine withdraw signature v1\x00"
)

// appendUnsigned appends the deposit's serialization without the
// signatures to b.
func (d *Deposit) appendUnsigned(b []byte) []byte {
	b = append(b, TxVersion, byte(TxTypeDeposit))
	b = append(b, d.From[:]...)
	b = append(b, d.Validator[:]...)
	b = binary.LittleEndian.AppendUint64(b, d.Amount)
	b = binary.LittleEndian.AppendUint64(b, d.Fee)
	return binary.LittleEndian.AppendUint64(b, d.Sequence)
}

// append appends the deposit's serialization to b.
func (d *Deposit) append(b []byte) []byte {
	b = append(d.appendUnsigned(b), d.Signature[:]...)
	return append(b, d.ValidatorSignature[:]...)
}

// appendUnsigned appends the withdraw's serialization without the
// signature to b.
func (w *Withdraw) appendUnsigned(b []byte) []byte {
	b = append(b, TxVersion, byte(TxTypeWithdraw))
	b = append(b, w.From[:]...)
	b = append(b, w.Validator[:]...)
	b = binary.LittleEndian.AppendUint64(b, w.Amount)
	b = binary.LittleEndian.AppendUint64(b, w.Fee)
	return binary.LittleEndian.AppendUint64(b, w.Sequence)
}

// append appends the withdraw's serialization to b.
func (w *Withdraw) append(b []byte) []byte {
	return append(w.appendUnsigned(b), w.Signature[:]...)
}

// decodeDeposit reads a deposit body.
func (d *decoder) decodeDeposit(dep *Deposit) {
	d.copyTo(dep.From[:], "deposit owner")
	d.copyTo(dep.Validator[:], "deposit validator")
	dep.Amount = d.uint64("deposit amount")
	dep.Fee = d.uint64("deposit fee")
	dep.Sequence = d.uint64("deposit sequence")
	d.copyTo(dep.Signature[:], "deposit signature")
	d.copyTo(dep.ValidatorSignature[:], "deposit validator signature")
}

// decodeWithdraw reads a withdraw body.
func (d *decoder) decodeWithdraw(w *Withdraw) {
	d.copyTo(w.From[:], "withdraw owner")
	d.copyTo(w.Validator[:], "withdraw validator")
	w.Amount = d.uint64("withdraw amount")
	w.Fee = d.uint64("withdraw fee")
	w.Sequence = d.uint64("withdraw sequence")
	d.copyTo(w.Signature[:], "withdraw signature")
}

// stakeMessage builds domain ‖ network ‖ unsigned into a buffer large
// enough for every stake message.
func stakeMessage(domain string, network Hash, unsigned func([]byte) []byte) []byte {
	m := make([]byte, 0, len(possessionSigDomain)+HashSize+depositUnsignedSize)
	m = append(m, domain...)
	m = append(m, network[:]...)
	return unsigned(m)
}

// SigningMessage returns what the owner's key signs for the network whose
// genesis hash is network: "powmine deposit signature v1", a zero byte,
// the genesis hash, then the deposit's serialization without signatures.
func (d *Deposit) SigningMessage(network Hash) []byte {
	return stakeMessage(depositSigDomain, network, d.appendUnsigned)
}

// PossessionMessage returns what the validator's key signs: the same as
// SigningMessage under the domain "powmine validator possession v1".
func (d *Deposit) PossessionMessage(network Hash) []byte {
	return stakeMessage(possessionSigDomain, network, d.appendUnsigned)
}

// Sign sets d.From and d.Validator to the public keys of owner and
// validator and signs the deposit with both for network. It fails only
// for a private key of the wrong length.
func (d *Deposit) Sign(owner, validator ed25519.PrivateKey, network Hash) error {
	if len(owner) != ed25519.PrivateKeySize || len(validator) != ed25519.PrivateKeySize {
		return fmt.Errorf("chain: deposit keys have %d and %d bytes, want %d", len(owner), len(validator), ed25519.PrivateKeySize)
	}
	d.From = PublicKey(owner.Public().(ed25519.PublicKey))
	d.Validator = PublicKey(validator.Public().(ed25519.PublicKey))
	d.Signature = Signature(ed25519.Sign(owner, d.SigningMessage(network)))
	d.ValidatorSignature = Signature(ed25519.Sign(validator, d.PossessionMessage(network)))
	return nil
}

// Verify reports whether both signatures are valid for network under
// the chain's signature rule (ZIP-215, as transfers). It is safe for
// concurrent use.
func (d *Deposit) Verify(network Hash) bool {
	return verifySignature(&d.From, d.SigningMessage(network), &d.Signature) &&
		verifySignature(&d.Validator, d.PossessionMessage(network), &d.ValidatorSignature)
}

// SigningMessage returns what the owner's key signs for network:
// "powmine withdraw signature v1", a zero byte, the genesis hash, then
// the withdraw's serialization without the signature.
func (w *Withdraw) SigningMessage(network Hash) []byte {
	return stakeMessage(withdrawSigDomain, network, w.appendUnsigned)
}

// Sign sets w.From to owner's public key and signs the withdraw for
// network. It fails only for a private key of the wrong length.
func (w *Withdraw) Sign(owner ed25519.PrivateKey, network Hash) error {
	if len(owner) != ed25519.PrivateKeySize {
		return fmt.Errorf("chain: private key has %d bytes, want %d", len(owner), ed25519.PrivateKeySize)
	}
	w.From = PublicKey(owner.Public().(ed25519.PublicKey))
	w.Signature = Signature(ed25519.Sign(owner, w.SigningMessage(network)))
	return nil
}

// Verify reports whether the owner's signature is valid for network
// under the chain's signature rule (ZIP-215, as transfers). It is safe
// for concurrent use.
func (w *Withdraw) Verify(network Hash) bool {
	return verifySignature(&w.From, w.SigningMessage(network), &w.Signature)
}

// Debit is what a signed transaction (a transfer, deposit or withdraw)
// takes from its sender's account: the sender's key, the sequence it
// must carry, the fee for the miner, and Cost, everything debited (amount
// plus fee; the fee alone for a withdraw). Cost may have wrapped around
// for a transaction that fails CheckTransactionSanity (ErrAmountOverflow).
type Debit struct {
	From     PublicKey
	Fee      uint64
	Sequence uint64
	Cost     uint64
}

// Debit returns what tx takes from its sender's account, and false for a
// coinbase or a transaction that is not well formed.
func (tx *Transaction) Debit() (Debit, bool) {
	switch tx.Type() {
	case TxTypeTransfer:
		t := tx.Transfer
		return Debit{From: t.From, Fee: t.Fee, Sequence: t.Sequence, Cost: t.Amount + t.Fee}, true
	case TxTypeDeposit:
		d := tx.Deposit
		return Debit{From: d.From, Fee: d.Fee, Sequence: d.Sequence, Cost: d.Amount + d.Fee}, true
	case TxTypeWithdraw:
		w := tx.Withdraw
		return Debit{From: w.From, Fee: w.Fee, Sequence: w.Sequence, Cost: w.Fee}, true
	}
	return Debit{}, false
}

// IsStake reports whether tx is a well-formed deposit or withdraw.
func (tx *Transaction) IsStake() bool {
	typ := tx.Type()
	return typ == TxTypeDeposit || typ == TxTypeWithdraw
}

// Validator is the state of one registered validator key: its owner (the
// address that deposited, to which the stake returns), its stake in base
// units, the first epoch in which it is active, and the epoch from which
// it no longer is (0 while no exit was accepted). A validator is active
// in epoch e when ActivationEpoch <= e and, if ExitEpoch is not 0,
// e < ExitEpoch. ActivationEpoch is at least 1, so the zero Validator
// means "not registered".
//
// Withdrawing is the amount of its pending partial withdraw (0 when
// none): still part of Stake, locked and slashable, but no longer
// weighing from WithdrawEpoch on (see StakeAt and ElectionStakeAt); it is
// paid back, and leaves Stake, at the first block of epoch
// UnlockEpoch.
type Validator struct {
	Owner           Address
	Stake           uint64
	ActivationEpoch uint64
	ExitEpoch       uint64
	Withdrawing     uint64
	WithdrawEpoch   uint64
}

// ActiveAt reports whether v is active in epoch e.
func (v Validator) ActiveAt(e uint64) bool {
	return v.ActivationEpoch != 0 && v.ActivationEpoch <= e && (v.ExitEpoch == 0 || e < v.ExitEpoch)
}

// StakeAt returns v's weight in epoch e (for votes, justification
// thresholds and the proposer election): Stake, less a pending partial
// withdraw from its WithdrawEpoch on. It says nothing of whether v is
// active in e.
func (v Validator) StakeAt(e uint64) uint64 {
	if v.Withdrawing != 0 && e >= v.WithdrawEpoch {
		return v.Stake - v.Withdrawing
	}
	return v.Stake
}

// ElectionDelayEpochs is how many stake epochs a change of the validator
// set waits before the proposer election of a proof-of-stake chain sees
// it: a new validator, active (its votes count) from the epoch after its
// deposit's, is drawn only from ElectionDelayEpochs epochs after that,
// and a partial withdraw lowers a validator's weight in the election
// only ElectionDelayEpochs epochs after its WithdrawEpoch (see
// ElectionStakeAt). A deposit in a block of slot s is so drawn only in
// slot epochs from s/EpochLength + 3 on: a block's slot is at least its
// height, and the gap in slots between two blocks at least the gap in
// heights, so a block of stake epoch a+3 (a being the deposit's height
// epoch + 1) comes more than 3·EpochLength slots after the deposit. The
// seed of those slot epochs is the beacon at the end of slot epoch
// s/EpochLength + 1 or later, which nobody knew when the deposit was
// made, so a depositor cannot choose its key or amount (its stretch of
// the stake range), nor a withdrawer its amount (where the stretches of
// the validators after it fall), against a seed it knows. Two epochs
// would not do: the last proposer of the deposit's own epoch knows that
// epoch's final mix.
const ElectionDelayEpochs = 3

// ElectionStakeAt returns v's weight in the proposer election of stake
// epoch e: Stake, less a pending partial withdraw from ElectionDelayEpochs
// after its WithdrawEpoch on (StakeAt lowers the weight of its votes at
// WithdrawEpoch already).
func (v Validator) ElectionStakeAt(e uint64) uint64 {
	if v.Withdrawing != 0 && e >= v.WithdrawEpoch+ElectionDelayEpochs {
		return v.Stake - v.Withdrawing
	}
	return v.Stake
}

// UnlockEpoch returns the epoch whose first block pays back v's pending
// partial withdraw: WithdrawDelayEpochs after its WithdrawEpoch, and on a
// proof-of-stake chain not before ElectionDelayEpochs after it, so that
// the election never sees the stake drop before its delay.
func (v Validator) UnlockEpoch(p *Params) uint64 {
	delay := p.WithdrawDelayEpochs
	if p.Consensus == ConsensusPoS {
		delay = max(delay, ElectionDelayEpochs)
	}
	return v.WithdrawEpoch + delay
}

// IsExit reports whether w asks for the whole stake of v, its validator:
// Amount 0 or v.Stake.
func (w *Withdraw) IsExit(v Validator) bool {
	return w.Amount == 0 || w.Amount == v.Stake
}

// CheckWithdrawState checks w, signed by from, against v, the state of
// its validator: ErrUnknownValidator when v is the zero Validator,
// ErrNotValidatorOwner when from is not its owner, ErrValidatorExiting
// when it already asked to leave; for a partial withdraw (see IsExit)
// also ErrWithdrawPending while another partial withdraw is locked, and
// ErrStakeBelowMinimum when it would leave less than p.MinDeposit.
func CheckWithdrawState(v Validator, w *Withdraw, from Address, p *Params) error {
	switch {
	case v == (Validator{}):
		return ruleError(ErrUnknownValidator, "withdraw for unknown validator %v", w.Validator)
	case v.Owner != from:
		return ruleError(ErrNotValidatorOwner, "withdraw from %v for validator %v of %v", from, w.Validator, v.Owner)
	case v.ExitEpoch != 0:
		return ruleError(ErrValidatorExiting, "withdraw for validator %v, already exiting at epoch %d", w.Validator, v.ExitEpoch)
	case w.IsExit(v):
		return nil
	case v.Withdrawing != 0:
		return ruleError(ErrWithdrawPending, "withdraw of %d for validator %v, which has %d pending until epoch %d",
			w.Amount, w.Validator, v.Withdrawing, v.UnlockEpoch(p))
	case w.Amount > v.Stake || v.Stake-w.Amount < p.MinDeposit:
		return ruleError(ErrStakeBelowMinimum, "withdraw of %d from validator %v of stake %d would leave less than MinDeposit %d",
			w.Amount, w.Validator, v.Stake, p.MinDeposit)
	}
	return nil
}

// StakeEnabled reports whether the network accepts stake transactions:
// it needs a positive EpochLength.
func (p *Params) StakeEnabled() bool { return p.EpochLength > 0 }

// Epoch returns the epoch of the block at height: height / EpochLength.
// The block at height e·EpochLength is the first of epoch e (its
// checkpoint). It returns 0 when stake is not enabled or height is
// negative.
func (p *Params) Epoch(height int64) uint64 {
	if p.EpochLength <= 0 || height < 0 {
		return 0
	}
	return uint64(height / p.EpochLength)
}

// IsEpochBoundary reports whether the block at height is the first of
// its epoch, where the validator set changes and stakes unlock.
func (p *Params) IsEpochBoundary(height int64) bool {
	return p.EpochLength > 0 && height >= 0 && height%p.EpochLength == 0
}

// checkStakeShape runs CheckTransactionSanity's checks of a deposit or
// withdraw but the signatures: ErrAmountOverflow when a deposit's amount
// plus fee overflows, ErrStakeDisabled when p does not enable stake, and
// ErrDepositTooSmall for a deposit below p.MinDeposit.
func checkStakeShape(tx *Transaction, p *Params) error {
	if !p.StakeEnabled() {
		return ruleError(ErrStakeDisabled, "network %s has no stake (EpochLength %d)", p.Name, p.EpochLength)
	}
	d := tx.Deposit
	if d == nil {
		return nil
	}
	if d.Amount+d.Fee < d.Amount {
		return ruleError(ErrAmountOverflow, "deposit amount %d plus fee %d overflows", d.Amount, d.Fee)
	}
	if d.Amount < p.MinDeposit {
		return ruleError(ErrDepositTooSmall, "deposit of %d for validator %v is below MinDeposit %d", d.Amount, d.Validator, p.MinDeposit)
	}
	return nil
}

// verifyStake reports whether tx, a deposit or a withdraw, carries valid
// signatures for network.
func verifyStake(tx *Transaction, network Hash) bool {
	if d := tx.Deposit; d != nil {
		return d.Verify(network)
	}
	return tx.Withdraw.Verify(network)
}

// checkStakeTxs runs the stake checks of CheckBlockSanity on the block's
// transactions, in block order: checkStakeShape's rules for each, then
// their signatures (ErrBadSignature).
func checkStakeTxs(b *Block, ids []Hash, p *Params) error {
	txs := b.Transactions
	for i := range txs {
		if !txs[i].IsStake() {
			continue
		}
		if err := checkStakeShape(&txs[i], p); err != nil {
			rerr := err.(RuleError)
			rerr.Description += fmt.Sprintf(" (transaction %d, %v)", i, ids[i])
			return rerr
		}
	}
	for i := range txs {
		if txs[i].IsStake() && !verifyStake(&txs[i], p.GenesisHash) {
			return ruleError(ErrBadSignature, "block %v: transaction %d (%v) has an invalid signature", b.Hash(), i, ids[i])
		}
	}
	return nil
}

// checkStakeTx is CheckTransactionSanity for a deposit or withdraw:
// checkStakeShape's rules, then the signatures (ErrBadSignature).
func checkStakeTx(tx *Transaction, p *Params) error {
	if err := checkStakeShape(tx, p); err != nil {
		return err
	}
	if !verifyStake(tx, p.GenesisHash) {
		d, _ := tx.Debit()
		return ruleError(ErrBadSignature, "stake transaction of type %d from %v has an invalid signature", tx.Type(), d.From.Address())
	}
	return nil
}
