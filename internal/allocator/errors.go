package allocator

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Errors the allocator returns, always wrapped with a message that names the addresses, pools
// and Services involved; test with errors.Is.
var (
	// ErrInvalidPool: New or SetPools got a pool without a name, two pools of one name, an
	// invalid range, or overlapping ranges. The allocator keeps its previous pools.
	ErrInvalidPool = errors.New("invalid pool configuration")
	// ErrInvalidRequest: the request itself is malformed (no key, bad families, two requested
	// addresses of one family, requested addresses in two pools...). Retrying will not help.
	ErrInvalidRequest = errors.New("invalid request")
	// ErrUnknownPool: the request, or Stats, names a pool the allocator does not have.
	ErrUnknownPool = errors.New("unknown pool")
	// ErrNoEligiblePool: no pool may serve the request: none is eligible, none of the eligible
	// ones has autoAssign, or the named pool is not eligible.
	ErrNoEligiblePool = errors.New("no eligible pool")
	// ErrFamilyUnavailable: no eligible pool has addresses of a family the request needs (or,
	// for RequireDualStack, no single pool has both).
	ErrFamilyUnavailable = errors.New("IP family unavailable")
	// ErrPoolExhausted: pools with the right families exist, but have no free address the
	// request may take.
	ErrPoolExhausted = errors.New("pool exhausted")
	// ErrAddressNotInPool: a requested or restored address lies in no pool, or in a pool the
	// Service may not use.
	ErrAddressNotInPool = errors.New("address not in an eligible pool")
	// ErrAddressInUse: a requested or restored address is held by a Service that may not share it.
	ErrAddressInUse = errors.New("address in use")
	// ErrBuggyAddress: a requested or restored IPv4 address ends in .0 or .255 and its pool
	// avoids those.
	ErrBuggyAddress = errors.New("address avoided as buggy")
	// ErrRequestMismatch: Restore got addresses whose families, or lack of a requested address,
	// do not fit the request.
	ErrRequestMismatch = errors.New("addresses do not fit the request")
)

// detailError carries a message written for the user while errors.Is still sees the sentinel.
type detailError struct {
	kind error
	msg  string
}

func (e *detailError) Error() string { return e.msg }
func (e *detailError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &detailError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// sharingConflict says why a Service with share may not hold an address alongside a holder with
// held, or returns "" if it may.
func sharingConflict(held, want *sharing) string {
	hk, wk := held.sharingKey(), want.sharingKey()
	switch {
	case hk == "" && wk == "":
		return "neither has an allow-shared-ip key"
	case hk != wk:
		return fmt.Sprintf("allow-shared-ip keys %q and %q differ", hk, wk)
	}
	for _, p := range want.ports {
		for _, q := range held.ports {
			if p == q {
				return fmt.Sprintf("both use %s/%d", p.Protocol, p.Port)
			}
		}
	}
	if held.local != want.local && (held.local != "" || want.local != "") {
		return "with externalTrafficPolicy Local, both must select the same pods"
	}
	return ""
}

// shortage collects why the pools tried for an auto-assignment could not serve it.
type shortage struct {
	exhausted []string // one "pool %q has no free %s address" per pool and family
	conflicts []string // shared addresses that were considered but could not be shared
}

func (s *shortage) noFree(pool string, f Family) {
	// PreferDualStack tries a pool twice, for both families and then for the first alone.
	if msg := fmt.Sprintf("pool %q has no free %s address", pool, f); !slices.Contains(s.exhausted, msg) {
		s.exhausted = append(s.exhausted, msg)
	}
}

func (s *shortage) conflict(msg string) {
	if len(s.conflicts) < 3 && !slices.Contains(s.conflicts, msg) {
		s.conflicts = append(s.conflicts, msg)
	}
}

func (s *shortage) err() error {
	msg := strings.Join(s.exhausted, "; ")
	if len(s.conflicts) > 0 {
		msg += " (" + strings.Join(s.conflicts, "; ") + ")"
	}
	return errorf(ErrPoolExhausted, "%s", msg)
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
