package config

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// Defaults of a BGP session.
const (
	DefaultHoldTime    = 90 * time.Second
	DefaultPeerPort    = 179
	DefaultRestartTime = 120 * time.Second
)

// BGPPeer is one valid BGPPeer.
type BGPPeer struct {
	Name          string
	MyASN         uint32
	PeerASN       uint32 // 0 when DynamicASN is set
	DynamicASN    heraldv1beta1.DynamicASNMode
	Address       netip.Addr
	Port          uint16
	SourceAddress netip.Addr // invalid when unset
	HoldTime      time.Duration
	KeepaliveTime time.Duration
	RouterID      netip.Addr // invalid when unset: the node's IPv4 address is used
	Nodes         Selectors
	// Password is the MD5 password given inline; PasswordSecret names the Secret that holds it.
	Password       string
	PasswordSecret string
	EBGPMultiHop   bool
	// RestartTime is zero without graceful restart.
	RestartTime time.Duration
	BFDProfile  string
	// IPv4 and IPv6 say which families the session carries.
	IPv4, IPv6 bool

	// created orders conflicts: the newer of two conflicting objects is the one reported.
	created time.Time
}

// IBGP says whether the session stays inside the node's AS.
func (p *BGPPeer) IBGP() bool {
	if p.DynamicASN != "" {
		return p.DynamicASN == heraldv1beta1.DynamicASNInternal
	}
	return p.PeerASN == p.MyASN
}

// BGPAdvertisement is one valid BGPAdvertisement, with community aliases resolved.
type BGPAdvertisement struct {
	Name                string
	Pools               PoolSelection
	AggregationLength   int
	AggregationLengthV6 int
	LocalPref           *uint32
	// Communities are "AA:NN" or "large:A:B:C", aliases resolved, sorted, without duplicates.
	Communities []string
	// Peers names the peers that get the routes; empty means every peer.
	Peers    map[string]bool
	Nodes    Selectors
	Services Selectors

	created time.Time
}

// SelectsPeer says whether the advertisement goes to the named peer.
func (a *BGPAdvertisement) SelectsPeer(name string) bool {
	return len(a.Peers) == 0 || a.Peers[name]
}

// BFDProfile is one BFDProfile with defaults applied.
type BFDProfile struct {
	Name                                            string
	ReceiveInterval, TransmitInterval, EchoInterval time.Duration
	DetectMultiplier, MinimumTTL                    int
	EchoMode, PassiveMode                           bool
}

func parseCommunities(objs []heraldv1beta1.Community, errs *Errors) map[string]string {
	const kind = "Community"
	aliases := map[string]string{}
	owner := map[string]string{}
	sorted := make([]*heraldv1beta1.Community, len(objs))
	for i := range objs {
		sorted[i] = &objs[i]
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, obj := range sorted {
		for j, c := range obj.Spec.Communities {
			field := fmt.Sprintf("spec.communities[%d]", j)
			v, err := normalizeCommunity(string(c.Value))
			if err != nil {
				errs.add(kind, obj.Name, field+".value", "%v", err)
				continue
			}
			if prev, ok := aliases[c.Name]; ok && prev != v {
				errs.add(kind, obj.Name, field+".name", "alias %q is already defined as %s in Community %q", c.Name, prev, owner[c.Name])
				continue
			}
			aliases[c.Name] = v
			owner[c.Name] = obj.Name
		}
	}
	return aliases
}

// normalizeCommunity checks a standard or large community and returns its canonical text.
func normalizeCommunity(s string) (string, error) {
	parts := strings.Split(s, ":")
	parse := func(p string, bits int) (uint64, bool) {
		n, err := strconv.ParseUint(p, 10, bits)
		return n, err == nil
	}
	switch {
	case len(parts) == 2:
		a, ok1 := parse(parts[0], 16)
		b, ok2 := parse(parts[1], 16)
		if ok1 && ok2 {
			return fmt.Sprintf("%d:%d", a, b), nil
		}
		return "", fmt.Errorf("%q: each part of a standard community must be between 0 and 65535", s)
	case len(parts) == 4 && parts[0] == "large":
		var n [3]uint64
		for i := range n {
			v, ok := parse(parts[i+1], 32)
			if !ok {
				return "", fmt.Errorf("%q: each part of a large community must be between 0 and 4294967295", s)
			}
			n[i] = v
		}
		return fmt.Sprintf("large:%d:%d:%d", n[0], n[1], n[2]), nil
	}
	return "", fmt.Errorf("%q is not a community 'AA:NN' or 'large:A:B:C'", s)
}

func parseBGPPeers(objs []heraldv1beta1.BGPPeer, bfd map[string]*BFDProfile, errs *Errors, pending *[]Reference) []*BGPPeer {
	const kind = "BGPPeer"
	var out []*BGPPeer
	for i := range objs {
		obj := &objs[i]
		sp := &obj.Spec
		p := &BGPPeer{Name: obj.Name, MyASN: uint32(sp.MyASN), DynamicASN: sp.DynamicASN, Port: DefaultPeerPort,
			HoldTime: DefaultHoldTime, Password: sp.Password, EBGPMultiHop: sp.EBGPMultiHop, BFDProfile: string(sp.BFDProfile),
			created: obj.CreationTimestamp.Time}
		ok := true
		if sp.PeerASN != nil {
			p.PeerASN = uint32(*sp.PeerASN)
		}
		if (sp.PeerASN == nil) == (sp.DynamicASN == "") {
			errs.add(kind, obj.Name, "spec", "exactly one of peerASN and dynamicASN must be set")
			ok = false
		}
		var err error
		if p.Address, err = netip.ParseAddr(string(sp.PeerAddress)); err != nil || p.Address.Zone() != "" {
			errs.add(kind, obj.Name, "spec.peerAddress", "%q is not an IP address", sp.PeerAddress)
			ok = false
		}
		if sp.SourceAddress != "" {
			if p.SourceAddress, err = netip.ParseAddr(string(sp.SourceAddress)); err != nil {
				errs.add(kind, obj.Name, "spec.sourceAddress", "%q is not an IP address", sp.SourceAddress)
				ok = false
			} else if p.Address.IsValid() && p.SourceAddress.Is4() != p.Address.Is4() {
				errs.add(kind, obj.Name, "spec.sourceAddress", "%s is not of the family of peerAddress %s", p.SourceAddress, p.Address)
				ok = false
			}
		}
		if sp.PeerPort != 0 {
			p.Port = uint16(sp.PeerPort)
		}
		if sp.HoldTime != nil {
			p.HoldTime = sp.HoldTime.Duration
		}
		p.KeepaliveTime = p.HoldTime / 3
		if sp.KeepaliveTime != nil {
			p.KeepaliveTime = sp.KeepaliveTime.Duration
		}
		if p.HoldTime != 0 && p.KeepaliveTime >= p.HoldTime {
			errs.add(kind, obj.Name, "spec.keepaliveTime", "%s must be shorter than holdTime %s", p.KeepaliveTime, p.HoldTime)
			ok = false
		}
		if sp.RouterID != "" {
			if p.RouterID, err = netip.ParseAddr(sp.RouterID); err != nil || !p.RouterID.Is4() {
				errs.add(kind, obj.Name, "spec.routerID", "%q is not an IPv4 address", sp.RouterID)
				ok = false
			}
		}
		if sp.PasswordSecret != nil {
			p.PasswordSecret = sp.PasswordSecret.Name
		}
		if sp.GracefulRestart != nil {
			p.RestartTime = DefaultRestartTime
			if sp.GracefulRestart.RestartTime != nil {
				p.RestartTime = sp.GracefulRestart.RestartTime.Duration
			}
		}
		if p.BFDProfile != "" && bfd[p.BFDProfile] == nil {
			*pending = append(*pending, Reference{Kind: kind, Name: obj.Name, Field: "spec.bfdProfile", TargetKind: "BFDProfile", Target: p.BFDProfile})
		}
		for _, f := range sp.AddressFamilies {
			p.IPv4 = p.IPv4 || f == heraldv1beta1.AddressFamilyIPv4
			p.IPv6 = p.IPv6 || f == heraldv1beta1.AddressFamilyIPv6
		}
		if !p.IPv4 && !p.IPv6 && p.Address.IsValid() {
			p.IPv4, p.IPv6 = p.Address.Is4(), p.Address.Is6()
		}
		var sok bool
		p.Nodes, sok = selectors(sp.NodeSelectors, kind, obj.Name, "spec.nodeSelectors", errs)
		ok = ok && sok
		if ok {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	// Two sessions to one router from one node would fight: the same address and port may be
	// used twice only with node selectors that keep them apart.
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			a, b := out[i], out[j]
			if a.Address != b.Address || a.Port != b.Port {
				continue
			}
			if b.created.Before(a.created) {
				a, b = b, a
			}
			switch {
			case len(a.Nodes) == 0 && len(b.Nodes) == 0:
				errs.add(kind, b.Name, "spec.peerAddress", "%s port %d is already the address of BGPPeer %q on every node; give one of them nodeSelectors", b.Address, b.Port, a.Name)
			case a.Nodes.overlap(b.Nodes):
				errs.add(kind, b.Name, "spec.nodeSelectors", "BGPPeer %q has the same address %s port %d on some of the same nodes; give them nodeSelectors that select different nodes", a.Name, b.Address, b.Port)
			}
		}
	}
	return out
}

// overlap says whether two node selections certainly share nodes, without knowing the nodes:
// when one selects every node, or both hold the same selector.
func (s Selectors) overlap(o Selectors) bool {
	if len(s) == 0 || len(o) == 0 {
		return true
	}
	for _, a := range s {
		for _, b := range o {
			if a.String() == b.String() {
				return true
			}
		}
	}
	return false
}

func parseBGPAdvertisements(objs []heraldv1beta1.BGPAdvertisement, pools []*Pool, poolsByName map[string]*Pool, peers []*BGPPeer, aliases map[string]string, errs *Errors, pending *[]Reference) []*BGPAdvertisement {
	const kind = "BGPAdvertisement"
	peerNames := map[string]bool{}
	for _, p := range peers {
		peerNames[p.Name] = true
	}
	var out []*BGPAdvertisement
	for i := range objs {
		obj := &objs[i]
		sp := &obj.Spec
		ad := &BGPAdvertisement{Name: obj.Name, AggregationLength: 32, AggregationLengthV6: 128, created: obj.CreationTimestamp.Time}
		ok := true
		var sok bool
		ad.Pools, sok = poolSelection(kind, obj.Name, sp.IPAddressPools, sp.IPAddressPoolSelectors, poolsByName, errs, pending)
		ok = ok && sok
		if sp.AggregationLength != nil {
			ad.AggregationLength = int(*sp.AggregationLength)
		}
		if sp.AggregationLengthV6 != nil {
			ad.AggregationLengthV6 = int(*sp.AggregationLengthV6)
		}
		if sp.LocalPref != nil {
			v := uint32(*sp.LocalPref)
			ad.LocalPref = &v
		}
		seen := map[string]bool{}
		complete := true
		for j, c := range sp.Communities {
			field := fmt.Sprintf("spec.communities[%d]", j)
			text := string(c)
			v, err := normalizeCommunity(text)
			if err != nil && !strings.Contains(text, ":") {
				alias, known := aliases[text]
				if !known {
					// The Community object may not exist yet: hold the advertisement back
					// rather than send routes without the community the user asked for.
					*pending = append(*pending, Reference{Kind: kind, Name: obj.Name, Field: field, TargetKind: TargetCommunityAlias, Target: text, Holds: true})
					complete = false
					continue
				}
				v, err = alias, nil
			}
			if err != nil {
				errs.add(kind, obj.Name, field, "%v", err)
				ok = false
				continue
			}
			if seen[v] {
				errs.add(kind, obj.Name, field, "%s is listed twice (directly or through an alias)", v)
				ok = false
				continue
			}
			seen[v] = true
			ad.Communities = append(ad.Communities, v)
		}
		sort.Strings(ad.Communities)
		if len(sp.Peers) > 0 {
			ad.Peers = map[string]bool{}
		}
		for _, name := range sp.Peers {
			ad.Peers[string(name)] = true
			if !peerNames[string(name)] {
				*pending = append(*pending, Reference{Kind: kind, Name: obj.Name, Field: "spec.peers", TargetKind: "BGPPeer", Target: string(name)})
			}
		}
		ad.Nodes, sok = selectors(sp.NodeSelectors, kind, obj.Name, "spec.nodeSelectors", errs)
		ok = ok && sok
		ad.Services, sok = selectors(sp.ServiceSelectors, kind, obj.Name, "spec.serviceSelectors", errs)
		ok = ok && sok
		// An aggregate shorter than a pool's CIDR would also claim addresses outside the pool.
		for _, p := range pools {
			if !ad.Pools.Selects(p) {
				continue
			}
			for k, r := range p.Ranges {
				pfx, isPrefix := r.Prefix()
				if !isPrefix {
					continue
				}
				agg, field := ad.AggregationLength, "spec.aggregationLength"
				if r.Is6() {
					agg, field = ad.AggregationLengthV6, "spec.aggregationLengthV6"
				}
				if agg < pfx.Bits() {
					errs.add(kind, obj.Name, field, "%d is shorter than IPAddressPool %q spec.addresses[%d] (%s): the aggregate would cover addresses outside the pool", agg, p.Name, k, pfx)
					ok = false
				}
			}
		}
		if ok && complete {
			out = append(out, ad)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	// The same pool to the same peer with two local preferences cannot both hold; the newer
	// advertisement is reported.
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			a, b := out[i], out[j]
			if a.LocalPref == nil || b.LocalPref == nil || *a.LocalPref == *b.LocalPref || !sharePoolAndPeer(a, b, pools, peers) {
				continue
			}
			if b.created.Before(a.created) {
				a, b = b, a
			}
			errs.add(kind, b.Name, "spec.localPref", "%d conflicts with localPref %d of BGPAdvertisement %q for the same pool and peers", *b.LocalPref, *a.LocalPref, a.Name)
		}
	}
	return out
}

func sharePoolAndPeer(a, b *BGPAdvertisement, pools []*Pool, peers []*BGPPeer) bool {
	pool := false
	for _, p := range pools {
		if a.Pools.Selects(p) && b.Pools.Selects(p) {
			pool = true
			break
		}
	}
	if !pool {
		return false
	}
	if len(peers) == 0 {
		return len(a.Peers) == 0 || len(b.Peers) == 0
	}
	for _, p := range peers {
		if a.SelectsPeer(p.Name) && b.SelectsPeer(p.Name) {
			return true
		}
	}
	return false
}

func parseBFDProfiles(objs []heraldv1beta1.BFDProfile) map[string]*BFDProfile {
	ms := func(v *int32, def int) time.Duration {
		if v == nil {
			return time.Duration(def) * time.Millisecond
		}
		return time.Duration(*v) * time.Millisecond
	}
	n := func(v *int32, def int) int {
		if v == nil {
			return def
		}
		return int(*v)
	}
	out := map[string]*BFDProfile{}
	for i := range objs {
		s := &objs[i].Spec
		out[objs[i].Name] = &BFDProfile{
			Name:            objs[i].Name,
			ReceiveInterval: ms(s.ReceiveInterval, 300), TransmitInterval: ms(s.TransmitInterval, 300), EchoInterval: ms(s.EchoInterval, 50),
			DetectMultiplier: n(s.DetectMultiplier, 3), MinimumTTL: n(s.MinimumTTL, 254),
			EchoMode: s.EchoMode, PassiveMode: s.PassiveMode,
		}
	}
	return out
}
