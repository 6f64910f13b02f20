package iprange

import (
	"encoding/binary"
	"math/big"
	"math/bits"
	"net/netip"
)

// u128 is an address as an unsigned 128-bit number, for the few sums that netip.Addr cannot do.
// IPv4 addresses take their IPv4-mapped form, so differences between two IPv4 addresses are
// still the plain IPv4 differences.
type u128 struct{ hi, lo uint64 }

func u128Of(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (x u128) sub(y u128) u128 {
	lo, borrow := bits.Sub64(x.lo, y.lo, 0)
	hi, _ := bits.Sub64(x.hi, y.hi, borrow)
	return u128{hi, lo}
}

// add1 wraps to zero at 2^128-1, which Prefix relies on for ::/0.
func (x u128) add1() u128 {
	lo, carry := bits.Add64(x.lo, 1, 0)
	return u128{x.hi + carry, lo}
}

func (x u128) and(y u128) u128 { return u128{x.hi & y.hi, x.lo & y.lo} }
func (x u128) xor(y u128) u128 { return u128{x.hi ^ y.hi, x.lo ^ y.lo} }
func (x u128) isZero() bool    { return x.hi == 0 && x.lo == 0 }

func (x u128) bitLen() int {
	if x.hi != 0 {
		return 64 + bits.Len64(x.hi)
	}
	return bits.Len64(x.lo)
}

func (x u128) big() *big.Int {
	n := new(big.Int).SetUint64(x.hi)
	n.Lsh(n, 64)
	return n.Or(n, new(big.Int).SetUint64(x.lo))
}
