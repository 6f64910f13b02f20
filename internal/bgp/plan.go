package bgp

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"
)

// ErrInvalid is wrapped by the errors Set returns for a Desired it refuses as a whole; nothing
// of it is applied.
var ErrInvalid = errors.New("invalid desired BGP state")

// ErrNotStarted is returned by Set before Start and after Close.
var ErrNotStarted = errors.New("bgp speaker not started or closed")

// attrs are the attributes of one prefix towards one peer, after merging Advertisements.
type attrs struct {
	communities []Community // sorted, unique
	localPref   *uint32     // iBGP only; nil for eBGP peers
}

func (a attrs) equal(b attrs) bool {
	if !slices.Equal(a.communities, b.communities) {
		return false
	}
	if (a.localPref == nil) != (b.localPref == nil) {
		return false
	}
	return a.localPref == nil || *a.localPref == *b.localPref
}

// plan validates d and returns the peers by name (with defaults filled in) and the paths each
// peer should carry.
func plan(d Desired) (map[string]Peer, map[string]map[netip.Prefix]attrs, error) {
	if !d.RouterID.Is4() {
		return nil, nil, fmt.Errorf("%w: router ID %v is not an IPv4 address", ErrInvalid, d.RouterID)
	}
	peers := make(map[string]Peer, len(d.Peers))
	for _, p := range d.Peers {
		p, err := withDefaults(p)
		if err != nil {
			return nil, nil, err
		}
		if _, dup := peers[p.Name]; dup {
			return nil, nil, fmt.Errorf("%w: peer %q: name used twice", ErrInvalid, p.Name)
		}
		peers[p.Name] = p
	}
	byAddr := make(map[netip.Addr]string, len(peers))
	for _, p := range peers {
		if other, dup := byAddr[p.Address]; dup {
			return nil, nil, fmt.Errorf("%w: peers %q and %q have the same address %v", ErrInvalid, other, p.Name, p.Address)
		}
		byAddr[p.Address] = p.Name
	}

	type merged struct {
		comms     map[Community]struct{}
		localPref *uint32
	}
	acc := make(map[string]map[netip.Prefix]*merged, len(peers))
	for _, a := range d.Advertisements {
		if !a.Prefix.IsValid() || a.Prefix != a.Prefix.Masked() {
			return nil, nil, fmt.Errorf("%w: advertisement of %v: not a valid masked prefix", ErrInvalid, a.Prefix)
		}
		for _, c := range a.Communities {
			if c == (Community{}) {
				return nil, nil, fmt.Errorf("%w: advertisement of %v: zero community", ErrInvalid, a.Prefix)
			}
		}
		for _, name := range a.Peers {
			p, ok := peers[name]
			if !ok {
				return nil, nil, fmt.Errorf("%w: advertisement of %v: unknown peer %q", ErrInvalid, a.Prefix, name)
			}
			if !p.families().Has(a.Prefix.Addr()) {
				return nil, nil, fmt.Errorf("%w: advertisement of %v: peer %q does not carry family %v", ErrInvalid, a.Prefix, name, p.families())
			}
			if a.Prefix.Addr().Is4() != p.Address.Is4() && !p.CrossFamilyNextHop.IsValid() {
				return nil, nil, fmt.Errorf("%w: advertisement of %v: peer %q needs CrossFamilyNextHop", ErrInvalid, a.Prefix, name)
			}
			if acc[name] == nil {
				acc[name] = map[netip.Prefix]*merged{}
			}
			m := acc[name][a.Prefix]
			if m == nil {
				m = &merged{comms: map[Community]struct{}{}}
				acc[name][a.Prefix] = m
			}
			for _, c := range a.Communities {
				m.comms[c] = struct{}{}
			}
			if a.LocalPref != nil && p.ibgp() && (m.localPref == nil || *a.LocalPref > *m.localPref) {
				lp := *a.LocalPref
				m.localPref = &lp
			}
		}
	}
	paths := make(map[string]map[netip.Prefix]attrs, len(acc))
	for name, byPrefix := range acc {
		out := make(map[netip.Prefix]attrs, len(byPrefix))
		for pfx, m := range byPrefix {
			cs := slices.SortedFunc(maps.Keys(m.comms), func(a, b Community) int {
				switch {
				case a.less(b):
					return -1
				case b.less(a):
					return 1
				}
				return 0
			})
			out[pfx] = attrs{communities: cs, localPref: m.localPref}
		}
		paths[name] = out
	}
	return peers, paths, nil
}

func withDefaults(p Peer) (Peer, error) {
	bad := func(what string) (Peer, error) {
		return Peer{}, fmt.Errorf("%w: peer %q: %s", ErrInvalid, p.Name, what)
	}
	switch {
	case p.Name == "":
		return bad("empty name")
	case !p.Address.IsValid():
		return bad("no address")
	case p.MyASN == 0:
		return bad("MyASN is required")
	case p.SourceAddress.IsValid() && p.SourceAddress.Is4() != p.Address.Is4():
		return bad("source address and address are of different families")
	case p.CrossFamilyNextHop.IsValid() && p.CrossFamilyNextHop.Is4() == p.Address.Is4():
		return bad("CrossFamilyNextHop must be of the other family than Address")
	case p.Families&^(FamilyIPv4|FamilyIPv6) != 0:
		return bad("unknown family")
	}
	p.Address = p.Address.Unmap()
	if p.Port == 0 {
		p.Port = 179
	}
	if p.HoldTime == 0 {
		p.HoldTime = 90 * time.Second
	}
	if p.HoldTime < 3*time.Second || p.HoldTime > 65535*time.Second {
		return bad("hold time must be between 3s and 65535s")
	}
	if p.KeepaliveTime == 0 {
		p.KeepaliveTime = p.HoldTime / 3
	}
	if p.KeepaliveTime < time.Second || p.KeepaliveTime > p.HoldTime {
		return bad("keepalive time must be between 1s and the hold time")
	}
	if p.GracefulRestart && p.RestartTime == 0 {
		p.RestartTime = 120 * time.Second
	}
	if p.RestartTime > 4095*time.Second {
		return bad("restart time must be at most 4095s")
	}
	return p, nil
}
