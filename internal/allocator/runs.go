package allocator

import "net/netip"

// runSet is a set of addresses stored as disjoint runs [first, last], ordered by first in a treap
// (a binary search tree kept balanced by random priorities: O(log runs) expected per operation).
// It is the aged store of a space. It knows nothing of ranges or of unusable addresses: callers
// pass the usable neighbours of what they insert or remove, and a run may span addresses that
// are not usable (the .0 and .255 an avoiding pool skips) as long as its ends are usable.
type runSet struct {
	root  *run
	count int    // number of runs
	seed  uint64 // priority generator state; deterministic, so runs build the same tree every time
}

type run struct {
	first, last netip.Addr
	prio        uint64
	left, right *run
}

// floor returns the run with the greatest first <= a, or nil.
func (t *runSet) floor(a netip.Addr) *run {
	var best *run
	for n := t.root; n != nil; {
		if n.first.Compare(a) <= 0 {
			best, n = n, n.right
		} else {
			n = n.left
		}
	}
	return best
}

// startingAt returns the run whose first is a, or nil.
func (t *runSet) startingAt(a netip.Addr) *run {
	for n := t.root; n != nil; {
		switch c := a.Compare(n.first); {
		case c < 0:
			n = n.left
		case c > 0:
			n = n.right
		default:
			return n
		}
	}
	return nil
}

func (t *runSet) contains(a netip.Addr) bool {
	n := t.floor(a)
	return n != nil && a.Compare(n.last) <= 0
}

// min returns the lowest address in the set.
func (t *runSet) min() (netip.Addr, bool) {
	n := t.root
	if n == nil {
		return netip.Addr{}, false
	}
	for n.left != nil {
		n = n.left
	}
	return n.first, true
}

// insert adds [first, last], which must not overlap the set, merging it with the run ending at
// prev and the run starting at next (the usable neighbours of first and last; invalid if none).
// An address already in the set is left alone.
func (t *runSet) insert(first, last, prev, next netip.Addr) {
	left := t.floor(first)
	if left != nil && first.Compare(left.last) <= 0 {
		return
	}
	var right *run
	if next.IsValid() {
		right = t.startingAt(next)
	}
	joinLeft := left != nil && prev.IsValid() && left.last == prev
	switch {
	case joinLeft && right != nil:
		left.last = right.last
		t.delete(right.first)
	case joinLeft:
		left.last = last
	case right != nil:
		// Lowering right's key keeps the tree ordered: nothing lies between left.last and first.
		right.first = first
	default:
		t.seed += 0x9e3779b97f4a7c15
		t.root = insertRun(t.root, &run{first: first, last: last, prio: mix(t.seed)})
		t.count++
	}
}

// remove takes a out of the set, if present, given its usable neighbours prev and next.
func (t *runSet) remove(a, prev, next netip.Addr) {
	n := t.floor(a)
	if n == nil || a.Compare(n.last) > 0 {
		return
	}
	switch {
	case n.first == a && n.last == a:
		t.delete(a)
	case n.first == a:
		n.first = next
	case n.last == a:
		n.last = prev
	default:
		last := n.last
		n.last = prev
		t.seed += 0x9e3779b97f4a7c15
		t.root = insertRun(t.root, &run{first: next, last: last, prio: mix(t.seed)})
		t.count++
	}
}

func (t *runSet) delete(first netip.Addr) {
	t.root = deleteRun(t.root, first)
	t.count--
}

// all calls yield for every run in order.
func (t *runSet) all(yield func(first, last netip.Addr)) {
	var walk func(*run)
	walk = func(n *run) {
		if n == nil {
			return
		}
		walk(n.left)
		yield(n.first, n.last)
		walk(n.right)
	}
	walk(t.root)
}

func insertRun(root, n *run) *run {
	if root == nil {
		return n
	}
	if n.prio > root.prio {
		n.left, n.right = splitRuns(root, n.first)
		return n
	}
	if n.first.Less(root.first) {
		root.left = insertRun(root.left, n)
	} else {
		root.right = insertRun(root.right, n)
	}
	return root
}

// splitRuns splits a tree into the runs starting before key and the others.
func splitRuns(t *run, key netip.Addr) (before, after *run) {
	if t == nil {
		return nil, nil
	}
	if t.first.Less(key) {
		t.right, after = splitRuns(t.right, key)
		return t, after
	}
	before, t.left = splitRuns(t.left, key)
	return before, t
}

func deleteRun(t *run, first netip.Addr) *run {
	if t == nil {
		return nil
	}
	switch c := first.Compare(t.first); {
	case c < 0:
		t.left = deleteRun(t.left, first)
	case c > 0:
		t.right = deleteRun(t.right, first)
	default:
		return joinRuns(t.left, t.right)
	}
	return t
}

// joinRuns joins two trees whose runs are all ordered a before b.
func joinRuns(a, b *run) *run {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.prio > b.prio:
		a.right = joinRuns(a.right, b)
		return a
	default:
		b.left = joinRuns(a, b.left)
		return b
	}
}

// mix is the splitmix64 finalizer: it turns a counter into well-spread treap priorities.
func mix(x uint64) uint64 {
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
