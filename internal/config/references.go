package config

import "fmt"

// TargetCommunityAlias is the TargetKind of a reference to a community alias, which a Community
// object defines.
const TargetCommunityAlias = "community alias"

// Reference is a reference from one object's field to an object that does not exist (yet). It
// is not an error: objects may be created in any order.
type Reference struct {
	// Kind, Name and Field say where the reference is written.
	Kind, Name, Field string
	// TargetKind and Target say what it names: a kind and an object name, or
	// TargetCommunityAlias and an alias.
	TargetKind, Target string
	// Holds says whether the referring object waits: it takes no effect until the target exists.
	Holds bool
}

func (r Reference) String() string {
	if r.TargetKind == TargetCommunityAlias {
		return fmt.Sprintf("%s %q: %s names community alias %q, which no Community defines yet; the advertisement waits for it", r.Kind, r.Name, r.Field, r.Target)
	}
	s := fmt.Sprintf("%s %q: %s names %s %q, which does not exist yet", r.Kind, r.Name, r.Field, r.TargetKind, r.Target)
	if r.Holds {
		s += "; the object waits for it"
	}
	return s
}

// PendingText returns the pending references as text, one per reference.
func (c *Config) PendingText() []string {
	out := make([]string, len(c.Pending))
	for i, r := range c.Pending {
		out[i] = r.String()
	}
	return out
}
