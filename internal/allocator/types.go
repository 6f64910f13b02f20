package allocator

import (
	"math/big"
	"net/netip"
	"strconv"

	"github.com/heraldlb/herald/internal/iprange"
)

// Pool is one IPAddressPool as the allocator needs it.
type Pool struct {
	// Name identifies the pool in requests, assignments and errors; unique among pools.
	Name string
	// Ranges are the pool's addresses, IPv4 and IPv6 mixed, in any order. They must not overlap
	// each other or another pool's.
	Ranges []iprange.Range
	// AutoAssign lets the pool serve requests that name neither a pool nor an address.
	AutoAssign bool
	// AvoidBuggyIPs keeps IPv4 addresses ending in .0 and .255 out of use, even when asked for.
	AvoidBuggyIPs bool
	// Priority orders pools for auto-assignment: lower first, then by Name.
	Priority int
}

// Family is an IP family a Service asks for.
type Family uint8

// The IP families. The zero Family is invalid, so that a forgotten field is caught.
const (
	IPv4 Family = 4
	IPv6 Family = 6
)

// String returns "IPv4" or "IPv6", as Kubernetes writes them.
func (f Family) String() string {
	switch f {
	case IPv4:
		return "IPv4"
	case IPv6:
		return "IPv6"
	}
	return "Family(" + strconv.Itoa(int(f)) + ")"
}

func familyOf(a netip.Addr) Family {
	if a.Is4() {
		return IPv4
	}
	return IPv6
}

// slot numbers the families for the two-element arrays that hold per-family state.
func (f Family) slot() int {
	if f == IPv6 {
		return 1
	}
	return 0
}

// FamilyPolicy says how many families a Service wants, as its ipFamilyPolicy does.
type FamilyPolicy uint8

// The family policies. The zero value is SingleStack, the Kubernetes default.
const (
	// SingleStack takes one address, of Request.Families[0].
	SingleStack FamilyPolicy = iota
	// PreferDualStack takes both families from the first pool that has both free, else the first
	// family alone.
	PreferDualStack
	// RequireDualStack takes both families from one pool or fails.
	RequireDualStack
)

// String returns the policy's Kubernetes name.
func (p FamilyPolicy) String() string {
	switch p {
	case SingleStack:
		return "SingleStack"
	case PreferDualStack:
		return "PreferDualStack"
	case RequireDualStack:
		return "RequireDualStack"
	}
	return "FamilyPolicy(" + strconv.Itoa(int(p)) + ")"
}

// Port is one port a Service exposes; two Services sharing an address must not both use one.
type Port struct {
	Protocol string // "TCP", "UDP" or "SCTP"; compared as given
	Port     int32
}

// Request is what one Service asks of the allocator. The caller translates the Service into it
// and has already decided, from the pools' selectors, which pools the Service may use.
type Request struct {
	// Key names the Service, "namespace/name". One Key holds at most one Assignment.
	Key string
	// Families are the Service's IP families in order, primary first: one or two, distinct.
	Families []Family
	// FamilyPolicy says whether the second family is wanted, required, or not at all.
	FamilyPolicy FamilyPolicy
	// Pool, if set, is the only pool to take addresses from; it may have AutoAssign false.
	Pool string
	// Addresses, if set, are the exact addresses wanted: at most one per family, all in one
	// eligible pool. A family of a dual-stack Service without one here is picked from that pool.
	Addresses []netip.Addr
	// EligiblePools names the pools this Service may use at all; order does not matter. Names of
	// pools the allocator does not have are ignored.
	EligiblePools []string
	// SharingKey lets Services with the same non-empty key share an address.
	SharingKey string
	// Ports are the Service's ports, which must not collide with a sharer's.
	Ports []Port
	// LocalTrafficSelector is non-empty, the canonical form of the Service's pod selector, iff
	// its externalTrafficPolicy is Local. Sharers must then all select the same pods, because the
	// address can only be announced from nodes where those pods run.
	LocalTrafficSelector string
}

// Assignment is what a Service holds.
type Assignment struct {
	// Pool is the pool every address came from.
	Pool string
	// Addresses holds one address per family, in the order of Request.Families.
	Addresses []netip.Addr
}

// PoolStats counts a pool's addresses, exactly for any pool size.
type PoolStats struct {
	// AssignedV4 and AssignedV6 count the addresses held by at least one Service; an address
	// shared by several Services counts once.
	AssignedV4, AssignedV6 int
	// AvailableV4 and AvailableV6 count the addresses that could still be handed out: the pool's
	// size, less the .0 and .255 addresses if the pool avoids them, less those assigned.
	AvailableV4, AvailableV6 *big.Int
}
