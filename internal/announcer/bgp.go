package announcer

import (
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/heraldlb/herald/internal/bgp"
	"github.com/heraldlb/herald/internal/config"
)

// BGPPlan is what this node advertises over BGP.
type BGPPlan struct {
	// Peers are the BGPPeers that select this node, sorted by name. Sessions are kept with them
	// even when there is nothing to advertise.
	Peers []*config.BGPPeer
	// Advertisements are one per BGPAdvertisement and address (aggregated to the
	// advertisement's length); internal/bgp merges those of one prefix and peer.
	Advertisements []bgp.Advertisement
	// Services maps each advertised Service key to the peers that get one of its prefixes.
	Services map[string][]string
}

// BGP computes what this node advertises: every Service address in a pool that a
// BGPAdvertisement covers, to the peers that select this node and that the advertisement names,
// if this node may serve the Service (not excluded, selected by the advertisement, and with
// externalTrafficPolicy Local only while it runs a ready endpoint; with Cluster while any
// endpoint exists). Addresses outside every pool are never advertised.
func BGP(in Input) BGPPlan {
	plan := BGPPlan{Services: map[string][]string{}}
	if in.Config == nil {
		return plan
	}
	var self *Node
	for i := range in.Nodes {
		if in.Nodes[i].Name == in.Self {
			self = &in.Nodes[i]
		}
	}
	if self == nil {
		return plan
	}
	for _, p := range in.Config.BGPPeers {
		if p.Nodes.Matches(self.Labels) {
			plan.Peers = append(plan.Peers, p)
		}
	}
	if self.Excluded || len(plan.Peers) == 0 {
		return plan
	}
	svcs := slices.Clone(in.Services)
	sort.Slice(svcs, func(i, j int) bool { return svcs[i].Key < svcs[j].Key })
	for i := range svcs {
		s := &svcs[i]
		if !hasEndpoint(s, in.Self) {
			continue
		}
		for _, addr := range s.Addresses {
			pool := in.Config.PoolOf(addr)
			if pool == nil {
				continue
			}
			for _, ad := range in.Config.BGPAdvertisements {
				if !ad.Pools.Selects(pool) || !ad.Services.Matches(s.Labels) || !ad.Nodes.Matches(self.Labels) {
					continue
				}
				var peers []string
				for _, p := range plan.Peers {
					if ad.SelectsPeer(p.Name) && (addr.Is4() && p.IPv4 || addr.Is6() && p.IPv6) {
						peers = append(peers, p.Name)
					}
				}
				if len(peers) == 0 {
					continue
				}
				bits := ad.AggregationLength
				if addr.Is6() {
					bits = ad.AggregationLengthV6
				}
				prefix, err := addr.Prefix(bits)
				if err != nil {
					continue
				}
				plan.Advertisements = append(plan.Advertisements, bgp.Advertisement{
					Prefix: prefix, Peers: peers, Communities: communities(ad.Communities), LocalPref: ad.LocalPref,
				})
				plan.Services[s.Key] = sortedUnique(append(plan.Services[s.Key], peers...))
			}
		}
	}
	return plan
}

// communities converts config's canonical community texts ("AA:NN", "large:A:B:C").
func communities(texts []string) []bgp.Community {
	var out []bgp.Community
	for _, t := range texts {
		c, err := bgp.ParseCommunity(strings.TrimPrefix(t, "large:"))
		if err == nil {
			out = append(out, c)
		}
	}
	return out
}

// PrefixesOf lists the prefixes of the plan's advertisements, sorted, for status objects.
func (p BGPPlan) PrefixesOf(addrs []netip.Addr) []string {
	var out []string
	for _, a := range p.Advertisements {
		for _, addr := range addrs {
			if a.Prefix.Contains(addr) {
				out = append(out, a.Prefix.String())
			}
		}
	}
	return sortedUnique(out)
}
