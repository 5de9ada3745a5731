package chain

// BaseUnitsPerCoin is the number of base units in one coin. Every amount
// in this package is a uint64 count of base units.
const BaseUnitsPerCoin = 100_000_000

// maxHalvings is the number of halvings after which the subsidy is zero:
// shifting a uint64 right by 64 or more is zero.
const maxHalvings = 64

// CalcBlockSubsidy returns the new coins, in base units, a block at height
// may create on top of its fees: p.InitialSubsidy halved (shifted right)
// once per p.SubsidyHalvingInterval blocks, and zero from the 64th halving
// on, as Bitcoin Core's GetBlockSubsidy computes it. Mainnet pays 50 coins
// until height 209,999, 25 from 210,000, and nothing from height
// 13,440,000. A negative height yields 0; a halving interval of 0 or less
// keeps the initial subsidy. It is safe for concurrent use.
func CalcBlockSubsidy(height int64, p *Params) uint64 {
	if height < 0 {
		return 0
	}
	if p.SubsidyHalvingInterval <= 0 {
		return p.InitialSubsidy
	}
	halvings := height / p.SubsidyHalvingInterval
	if halvings >= maxHalvings {
		return 0
	}
	return p.InitialSubsidy >> uint(halvings)
}
