package bgp

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Family is a set of address families carried over one session.
type Family uint8

// The families a session can carry; FamilyIPv4|FamilyIPv6 carries both over one session.
const (
	FamilyIPv4 Family = 1 << iota
	FamilyIPv6
)

// Has reports whether f includes the family of addr.
func (f Family) Has(addr netip.Addr) bool {
	if addr.Is4() {
		return f&FamilyIPv4 != 0
	}
	return f&FamilyIPv6 != 0
}

func (f Family) String() string {
	switch f {
	case FamilyIPv4:
		return "ipv4"
	case FamilyIPv6:
		return "ipv6"
	case FamilyIPv4 | FamilyIPv6:
		return "ipv4+ipv6"
	}
	return "none"
}

// Peer is one BGP session from this node. Peers are compared as values: any change re-creates
// the session.
type Peer struct {
	// Name identifies the peer in Advertisements, SessionState and metrics; unique.
	Name string
	// Address is the router's address; Port its TCP port (default 179).
	Address netip.Addr
	Port    uint16
	// MyASN is this node's ASN on the session, PeerASN the router's; equal means iBGP. A
	// PeerASN of 0 takes the router's ASN from its OPEN message (the session is eBGP unless
	// that ASN is MyASN).
	MyASN, PeerASN uint32
	// SourceAddress is the local address the session binds to; zero lets the kernel choose.
	SourceAddress netip.Addr
	// HoldTime (default 90s) and KeepaliveTime (default HoldTime/3) are proposed in OPEN.
	HoldTime, KeepaliveTime time.Duration
	// Password enables TCP MD5 signatures (RFC 2385); needs CAP_NET_ADMIN.
	Password string
	// EBGPMultiHop lets an eBGP router be more than one hop away (TTL 255 instead of 1).
	EBGPMultiHop bool
	// GracefulRestart negotiates RFC 4724 with RestartTime (default 120s, at most 4095s): the
	// time the router keeps this node's routes while the speaker restarts.
	GracefulRestart bool
	RestartTime     time.Duration
	// Families carried over the session; zero means the family of Address.
	Families Family
	// CrossFamilyNextHop is this node's address of the other family than Address, used as the
	// next hop of prefixes of that family; required only when Families includes it.
	CrossFamilyNextHop netip.Addr
}

func (p Peer) families() Family {
	if p.Families != 0 {
		return p.Families
	}
	if p.Address.Is4() {
		return FamilyIPv4
	}
	return FamilyIPv6
}

func (p Peer) ibgp() bool { return p.MyASN == p.PeerASN }

// Community is a BGP community: a standard one (RFC 1997, AA:NN) or a large one (RFC 8092,
// A:B:C). The zero value is not a valid community. Communities are comparable.
type Community struct {
	large bool
	a     uint32 // standard: the whole 32-bit value; large: global administrator
	b, c  uint32 // large: local data parts
}

// StandardCommunity returns the community asn:value.
func StandardCommunity(asn, value uint16) Community {
	return Community{a: uint32(asn)<<16 | uint32(value)}
}

// LargeCommunity returns the large community global:local1:local2.
func LargeCommunity(global, local1, local2 uint32) Community {
	return Community{large: true, a: global, b: local1, c: local2}
}

// ParseCommunity parses "AA:NN" (standard) or "A:B:C" (large).
func ParseCommunity(s string) (Community, error) {
	parts := strings.Split(s, ":")
	switch len(parts) {
	case 2:
		var v [2]uint16
		for i, p := range parts {
			n, err := strconv.ParseUint(p, 10, 16)
			if err != nil {
				return Community{}, fmt.Errorf("parse community %q: %w", s, err)
			}
			v[i] = uint16(n)
		}
		return StandardCommunity(v[0], v[1]), nil
	case 3:
		var v [3]uint32
		for i, p := range parts {
			n, err := strconv.ParseUint(p, 10, 32)
			if err != nil {
				return Community{}, fmt.Errorf("parse large community %q: %w", s, err)
			}
			v[i] = uint32(n)
		}
		return LargeCommunity(v[0], v[1], v[2]), nil
	}
	return Community{}, fmt.Errorf("parse community %q: want AA:NN or A:B:C", s)
}

// IsLarge reports whether c is a large community.
func (c Community) IsLarge() bool { return c.large }

func (c Community) String() string {
	if c.large {
		return fmt.Sprintf("%d:%d:%d", c.a, c.b, c.c)
	}
	return fmt.Sprintf("%d:%d", c.a>>16, c.a&0xffff)
}

func (c Community) less(d Community) bool {
	if c.large != d.large {
		return !c.large
	}
	if c.a != d.a {
		return c.a < d.a
	}
	if c.b != d.b {
		return c.b < d.b
	}
	return c.c < d.c
}

// Advertisement announces Prefix to the named peers with the given attributes. Several
// Advertisements of one prefix to one peer merge: the union of their communities, and the
// highest LocalPref.
type Advertisement struct {
	Prefix      netip.Prefix
	Peers       []string
	Communities []Community
	// LocalPref is sent to iBGP peers only (eBGP does not carry it); nil sends GoBGP's default
	// of 100 to iBGP peers.
	LocalPref *uint32
}

// Desired is the whole BGP state this node should have.
type Desired struct {
	// RouterID is the BGP identifier of this node, an IPv4 address.
	RouterID       netip.Addr
	Peers          []Peer
	Advertisements []Advertisement
}

// State is a BGP session's finite state machine state (RFC 4271).
type State uint8

// The session states.
const (
	StateIdle State = iota
	StateConnect
	StateActive
	StateOpenSent
	StateOpenConfirm
	StateEstablished
)

func (s State) String() string {
	switch s {
	case StateConnect:
		return "Connect"
	case StateActive:
		return "Active"
	case StateOpenSent:
		return "OpenSent"
	case StateOpenConfirm:
		return "OpenConfirm"
	case StateEstablished:
		return "Established"
	}
	return "Idle"
}

// SessionState is what the status objects show of one session.
type SessionState struct {
	Peer    string
	Address netip.Addr
	State   State
	// EstablishedSince is when the session last became Established; zero unless Established.
	EstablishedSince time.Time
	// PrefixesSent counts the prefixes advertised on the session, PrefixesReceived those the
	// router sent (kept, never installed nor re-advertised).
	PrefixesSent, PrefixesReceived uint64
	// LastError is the last error seen on the session (a failed connection, a NOTIFICATION,
	// a GoBGP warning); empty if none since the peer was configured.
	LastError string
}

// MarshalText writes the community as String does.
func (c Community) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText parses the community as ParseCommunity does.
func (c *Community) UnmarshalText(b []byte) error {
	v, err := ParseCommunity(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}
