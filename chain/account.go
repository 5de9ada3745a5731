package chain

// Account is the state of one address in the account model: its balance
// in base units and the sequence number its next Transfer must carry. The
// zero Account is an address never used. The node keeps one per address
// at its tip; this package only defines the type.
type Account struct {
	Balance  uint64
	Sequence uint64
}
