package config

import (
	"net/netip"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// Resources are the objects a Config is made from, as read from the install namespace.
type Resources struct {
	Pools             []heraldv1beta1.IPAddressPool
	L2Advertisements  []heraldv1beta1.L2Advertisement
	BGPAdvertisements []heraldv1beta1.BGPAdvertisement
	BGPPeers          []heraldv1beta1.BGPPeer
	BFDProfiles       []heraldv1beta1.BFDProfile
	Communities       []heraldv1beta1.Community
}

// Object is one of the configuration objects.
type Object interface {
	runtime.Object
	metav1.Object
}

// Objects returns every object of r, pointing into r's slices.
func (r Resources) Objects() []Object {
	var out []Object
	for i := range r.Pools {
		out = append(out, &r.Pools[i])
	}
	for i := range r.L2Advertisements {
		out = append(out, &r.L2Advertisements[i])
	}
	for i := range r.BGPAdvertisements {
		out = append(out, &r.BGPAdvertisements[i])
	}
	for i := range r.BGPPeers {
		out = append(out, &r.BGPPeers[i])
	}
	for i := range r.BFDProfiles {
		out = append(out, &r.BFDProfiles[i])
	}
	for i := range r.Communities {
		out = append(out, &r.Communities[i])
	}
	return out
}

// KindOf returns the kind of a configuration object, as FieldError.Kind names it; "" for other
// objects.
func KindOf(obj runtime.Object) string {
	kind, _, err := identify(obj)
	if err != nil {
		return ""
	}
	return kind
}

// Config is a validated configuration. It is never modified after Parse returns it.
type Config struct {
	// Pools are the valid pools, sorted by name.
	Pools []*Pool
	// L2Advertisements are sorted by name.
	L2Advertisements []*L2Advertisement
	// BGPPeers and BGPAdvertisements are sorted by name; BFDProfiles are keyed by name.
	BGPPeers          []*BGPPeer
	BGPAdvertisements []*BGPAdvertisement
	BFDProfiles       map[string]*BFDProfile
	// Pending lists references to objects that do not exist yet. They are not errors: objects
	// may be created in any order.
	Pending []Reference

	byName map[string]*Pool
}

// L2AdvertisementsFor returns the layer 2 advertisements that cover the pool.
func (c *Config) L2AdvertisementsFor(p *Pool) []*L2Advertisement {
	var out []*L2Advertisement
	for _, a := range c.L2Advertisements {
		if a.Pools.Selects(p) {
			out = append(out, a)
		}
	}
	return out
}

// PoolOf returns the pool that holds addr, or nil.
func (c *Config) PoolOf(addr netip.Addr) *Pool {
	for _, p := range c.Pools {
		if p.Contains(addr) {
			return p
		}
	}
	return nil
}

// Pool returns the pool of that name, or nil.
func (c *Config) Pool(name string) *Pool {
	return c.byName[name]
}

// Parse validates the resources and builds a Config. When anything is invalid it returns nil
// and an Errors value listing every problem: a configuration is applied whole or not at all, and
// callers keep the last valid one.
func Parse(r Resources) (*Config, error) {
	c, errs := parse(r)
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

// parse builds the Config from the valid objects and lists the problems of the others. The
// Config is complete only when there is no problem; Review compares incomplete ones.
func parse(r Resources) (*Config, Errors) {
	var errs Errors
	c := &Config{byName: map[string]*Pool{}}
	c.Pools = parsePools(r.Pools, &errs)
	for _, p := range c.Pools {
		c.byName[p.Name] = p
	}
	c.L2Advertisements = parseL2Advertisements(r.L2Advertisements, c.byName, &errs, &c.Pending)
	c.BFDProfiles = parseBFDProfiles(r.BFDProfiles)
	aliases := parseCommunities(r.Communities, &errs)
	c.BGPPeers = parseBGPPeers(r.BGPPeers, c.BFDProfiles, &errs, &c.Pending)
	c.BGPAdvertisements = parseBGPAdvertisements(r.BGPAdvertisements, c.Pools, c.byName, c.BGPPeers, aliases, &errs, &c.Pending)
	return c, errs
}
