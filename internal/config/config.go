package config

import (
	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// Resources are the objects a Config is made from, as read from the install namespace.
type Resources struct {
	Pools []heraldv1beta1.IPAddressPool
}

// Config is a validated configuration. It is never modified after Parse returns it.
type Config struct {
	// Pools are the valid pools, sorted by name.
	Pools  []*Pool
	byName map[string]*Pool
}

// Pool returns the pool of that name, or nil.
func (c *Config) Pool(name string) *Pool {
	return c.byName[name]
}

// Parse validates the resources and builds a Config. When anything is invalid it returns nil
// and an Errors value listing every problem: a configuration is applied whole or not at all, and
// callers keep the last valid one.
func Parse(r Resources) (*Config, error) {
	var errs Errors
	c := &Config{byName: map[string]*Pool{}}
	c.Pools = parsePools(r.Pools, &errs)
	for _, p := range c.Pools {
		c.byName[p.Name] = p
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}
