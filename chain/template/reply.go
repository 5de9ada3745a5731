package template

// Reply is the getblocktemplate reply of chain/daemon as miners read it:
// Bitcoin Core's fields where they apply, and the coinbase split around
// its extranonce (Template.CoinbaseParts) with the coinbase's merkle
// branch, as Stratum sends them. Hashes are in display order, Bits and
// the branch in hex.
type Reply struct {
	Version           int32     `json:"version"`
	PreviousBlockHash string    `json:"previousblockhash"`
	Height            int64     `json:"height"`
	Bits              string    `json:"bits"`
	Target            string    `json:"target"`
	CurTime           uint32    `json:"curtime"`
	MinTime           uint32    `json:"mintime"`
	CoinbaseValue     uint64    `json:"coinbasevalue"`
	CoinbasePrefix    string    `json:"coinbaseprefix"`
	CoinbaseSuffix    string    `json:"coinbasesuffix"`
	ExtranonceSize    int       `json:"extranoncesize"`
	MerkleBranch      []string  `json:"merklebranch"`
	Transactions      []ReplyTx `json:"transactions"`
	LongPollID        string    `json:"longpollid"`
}

// ReplyTx is one transfer of a Reply.
type ReplyTx struct {
	Data string `json:"data"` // the serialized transaction, hex
	TxID string `json:"txid"`
	Fee  uint64 `json:"fee"`
}
