package announcer

import (
	"net/netip"
	"slices"
	"sort"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/heraldlb/herald/internal/config"
	"github.com/heraldlb/herald/internal/election"
)

// Service is what the announcer needs of one LoadBalancer Service.
type Service struct {
	// Key is "namespace/name".
	Key string
	// Labels are the Service's labels, for advertisements' service selectors.
	Labels labels.Set
	// Addresses are the Service's load balancer addresses (from its status).
	Addresses []netip.Addr
	// LocalTraffic is true for externalTrafficPolicy Local: only nodes with a ready endpoint may
	// announce.
	LocalTraffic bool
	// EndpointNodes are the nodes that run a ready (or, while terminating, serving) endpoint.
	EndpointNodes map[string]bool
}

// Node is what the announcer needs of one node.
type Node struct {
	Name   string
	Labels labels.Set
	// Excluded nodes never announce: they carry node.kubernetes.io/exclude-from-external-load-balancers
	// or their network is unavailable.
	Excluded bool
	// Interfaces are the node's network interfaces, when known (a speaker knows its own, and
	// learns the others' from the membership); nil means unknown and assumed suitable.
	Interfaces []Interface
}

// Interface is a network interface of a node and its address prefixes.
type Interface struct {
	Name     string
	Prefixes []netip.Prefix
}

// Input is everything the layer 2 computation depends on.
type Input struct {
	// Self is the name of the node the computation is for.
	Self     string
	Config   *config.Config
	Services []Service
	Nodes    []Node
	// Live are the speakers the membership currently sees alive, Self included.
	Live []string
}

// L2Announcement is the outcome for one Service address.
type L2Announcement struct {
	Address netip.Addr
	// Owner is the node that answers for the address.
	Owner string
	// Services are the keys of the Services holding the address (several when shared).
	Services []string
	// Interfaces are where the owner answers; filled only when the owner is Self.
	Interfaces []string
}

// L2 computes the owner of every Service address announced over layer 2, sorted by address.
// Addresses outside every pool, not covered by an L2Advertisement, or with no eligible live
// node are left out: nobody answers for them.
func L2(in Input) []L2Announcement {
	if in.Config == nil {
		return nil
	}
	live := map[string]bool{}
	for _, n := range in.Live {
		live[n] = true
	}
	nodes := map[string]*Node{}
	for i := range in.Nodes {
		nodes[in.Nodes[i].Name] = &in.Nodes[i]
	}

	// Services sharing an address share its owner: group by address, lowest key first.
	byAddr := map[netip.Addr][]*Service{}
	for i := range in.Services {
		s := &in.Services[i]
		for _, a := range s.Addresses {
			byAddr[a] = append(byAddr[a], s)
		}
	}
	var out []L2Announcement
	for addr, svcs := range byAddr {
		sort.Slice(svcs, func(i, j int) bool { return svcs[i].Key < svcs[j].Key })
		pool := in.Config.PoolOf(addr)
		if pool == nil {
			continue // never announce an address outside every pool, whatever a status says
		}
		lead := svcs[0]
		ads := advertisementsFor(in.Config, pool, lead)
		if len(ads) == 0 {
			continue
		}
		var cands []election.Candidate
		for _, name := range sortedKeys(live) {
			n := nodes[name]
			if n == nil || n.Excluded {
				continue
			}
			if !hasEndpoint(lead, name) {
				continue
			}
			pref, ok := nodePreference(ads, n)
			if !ok {
				continue
			}
			cands = append(cands, election.Candidate{Node: name, Preference: pref})
		}
		owner, ok := election.Owner(addr.String(), cands)
		if !ok {
			continue
		}
		ann := L2Announcement{Address: addr, Owner: owner}
		for _, s := range svcs {
			ann.Services = append(ann.Services, s.Key)
		}
		if owner == in.Self {
			ann.Interfaces = interfacesFor(addr, ads, nodes[in.Self])
			if len(ann.Interfaces) == 0 {
				continue
			}
		}
		out = append(out, ann)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address.Less(out[j].Address) })
	return out
}

// Announcers returns, per Service key, the nodes that announce some address of that Service. A
// dual-stack Service may have a different owner per family: both are its announcers.
func Announcers(anns []L2Announcement) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, a := range anns {
		for _, key := range a.Services {
			if out[key] == nil {
				out[key] = map[string]bool{}
			}
			out[key][a.Owner] = true
		}
	}
	return out
}

// ForSelf turns the announcements into what internal/layer2 serves on this node: interface ->
// addresses.
func ForSelf(self string, anns []L2Announcement) map[string][]netip.Addr {
	out := map[string][]netip.Addr{}
	for _, a := range anns {
		if a.Owner != self {
			continue
		}
		for _, ifname := range a.Interfaces {
			out[ifname] = append(out[ifname], a.Address)
		}
	}
	return out
}

func advertisementsFor(cfg *config.Config, pool *config.Pool, s *Service) []*config.L2Advertisement {
	var out []*config.L2Advertisement
	for _, ad := range cfg.L2AdvertisementsFor(pool) {
		if ad.Services.Matches(s.Labels) {
			out = append(out, ad)
		}
	}
	return out
}

// hasEndpoint says whether node may announce s: with Local traffic policy only nodes that run
// an endpoint; with Cluster any node, as long as some endpoint exists.
func hasEndpoint(s *Service, node string) bool {
	if s.LocalTraffic {
		return s.EndpointNodes[node]
	}
	return len(s.EndpointNodes) > 0
}

// nodePreference is the highest preference any advertisement selecting the node gives it, and
// whether any selects it at all. A node lacking every interface an advertisement names is not
// selected by that advertisement.
func nodePreference(ads []*config.L2Advertisement, n *Node) (int, bool) {
	best, ok := 0, false
	for _, ad := range ads {
		if !ad.Nodes.Matches(n.Labels) || !hasAnyInterface(n, ad.Interfaces) {
			continue
		}
		if p := ad.Preference(n.Labels); !ok || p > best {
			best = p
		}
		ok = true
	}
	return best, ok
}

func hasAnyInterface(n *Node, names []string) bool {
	if len(names) == 0 || n.Interfaces == nil {
		return true
	}
	for _, ifc := range n.Interfaces {
		if slices.Contains(names, ifc.Name) {
			return true
		}
	}
	return false
}

// interfacesFor picks where this node answers for addr: the interfaces the advertisements
// name, if any; else those with a prefix holding addr; else every interface with an address of
// the same family (the segment the clients are on is not known).
func interfacesFor(addr netip.Addr, ads []*config.L2Advertisement, self *Node) []string {
	if self == nil {
		return nil
	}
	named := map[string]bool{}
	for _, ad := range ads {
		if !ad.Nodes.Matches(self.Labels) {
			continue
		}
		for _, n := range ad.Interfaces {
			named[n] = true
		}
	}
	var listed, onLink, sameFamily []string
	for _, ifc := range self.Interfaces {
		if named[ifc.Name] {
			listed = append(listed, ifc.Name)
		}
		for _, p := range ifc.Prefixes {
			if p.Contains(addr) {
				onLink = append(onLink, ifc.Name)
				break
			}
		}
		for _, p := range ifc.Prefixes {
			if p.Addr().Is4() == addr.Is4() && !p.Addr().IsLoopback() && !p.Addr().IsLinkLocalUnicast() {
				sameFamily = append(sameFamily, ifc.Name)
				break
			}
		}
	}
	switch {
	case len(named) > 0:
		return sortedUnique(listed)
	case len(onLink) > 0:
		return sortedUnique(onLink)
	default:
		return sortedUnique(sameFamily)
	}
}

func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
