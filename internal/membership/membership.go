package membership

import (
	"slices"
	"sync"
)

// Membership is what the rest of the speaker needs: the live speakers and a signal when they
// change. Member and Static implement it.
type Membership interface {
	// Live returns the sorted names of the live speakers' nodes. The caller owns the slice.
	Live() []string
	// Changed delivers a value after Live may have changed. Signals coalesce: one value may stand
	// for many changes, so a receiver re-reads Live rather than counting. It is never closed.
	Changed() <-chan struct{}
}

var (
	_ Membership = (*Member)(nil)
	_ Membership = (*Static)(nil)
)

// Static is a Membership whose live set the caller sets, for speakers running without memberlist.
// See the package documentation for what to feed it. It is safe for concurrent use.
type Static struct {
	mu      sync.Mutex
	live    []string
	changed chan struct{}
}

// NewStatic returns a Static whose live set is nodes.
func NewStatic(nodes ...string) *Static {
	return &Static{live: normalize(nodes), changed: make(chan struct{}, 1)}
}

// Live returns the sorted, deduplicated nodes last set.
func (s *Static) Live() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.live)
}

// Changed signals after Set changed the live set.
func (s *Static) Changed() <-chan struct{} { return s.changed }

// Set replaces the live set, and signals Changed if it differs from the last one.
func (s *Static) Set(nodes ...string) {
	live := normalize(nodes)
	s.mu.Lock()
	same := slices.Equal(live, s.live)
	s.live = live
	s.mu.Unlock()
	if !same {
		signal(s.changed)
	}
}

// normalize returns the non-empty names of nodes, sorted and without duplicates.
func normalize(nodes []string) []string {
	out := slices.DeleteFunc(slices.Clone(nodes), func(n string) bool { return n == "" })
	slices.Sort(out)
	return slices.Compact(out)
}

// signal sends on a channel with a buffer of one without blocking: if a signal is already
// pending, this one merges into it.
func signal(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
