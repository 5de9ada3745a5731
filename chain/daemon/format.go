package daemon

import (
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/powmine/powmine/chain"
)

// coins formats base units as a JSON number of coins with eight decimals,
// exactly (no float rounding), as Core prints amounts.
func coins(units uint64) json.Number {
	return json.Number(fmt.Sprintf("%d.%08d", units/chain.BaseUnitsPerCoin, units%chain.BaseUnitsPerCoin))
}

// diff1 is the target of difficulty 1 (bits 0x1d00ffff), the unit of
// Core's "difficulty".
var diff1 = chain.CompactToBig(0x1d00ffff)

// difficulty returns diff1 / target as Core's GetDifficulty does.
func difficulty(bits uint32) float64 {
	t := chain.CompactToBig(bits)
	if t.Sign() <= 0 {
		return 0
	}
	d, _ := new(big.Rat).SetFrac(diff1, t).Float64()
	return d
}

// workHex prints cumulative work as Core's 64-digit chainwork.
func workHex(w *big.Int) string { return fmt.Sprintf("%064x", w) }
