package allocator

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/heraldlb/herald/internal/iprange"
)

func rng(s string) iprange.Range { return iprange.MustParse(s) }

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func ips(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = ip(s)
	}
	return out
}

func ranges(ss ...string) []iprange.Range {
	out := make([]iprange.Range, len(ss))
	for i, s := range ss {
		out[i] = rng(s)
	}
	return out
}

// v4 is a SingleStack IPv4 request that may use pools.
func v4(key string, pools ...string) Request {
	return Request{Key: key, Families: []Family{IPv4}, EligiblePools: pools}
}

// v6 is a SingleStack IPv6 request that may use pools.
func v6(key string, pools ...string) Request {
	return Request{Key: key, Families: []Family{IPv6}, EligiblePools: pools}
}

// dual is a dual-stack request, IPv4 first, that may use pools.
func dual(key string, policy FamilyPolicy, pools ...string) Request {
	return Request{Key: key, Families: []Family{IPv4, IPv6}, FamilyPolicy: policy, EligiblePools: pools}
}

func newAllocator(t testing.TB, pools ...Pool) *Allocator {
	t.Helper()
	al, err := New(pools)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return al
}

func mustAssign(t testing.TB, al *Allocator, req Request) Assignment {
	t.Helper()
	got, err := al.Assign(req)
	if err != nil {
		t.Fatalf("Assign(%s): %v", req.Key, err)
	}
	return got
}

func mustCheck(t testing.TB, al *Allocator) {
	t.Helper()
	if err := al.checkInvariants(); err != nil {
		t.Fatalf("invariant: %v", err)
	}
}

// checkResult compares an outcome with what a table case wants: either an assignment or an error
// wrapping wantErr whose message, if wantMsg is set, is exactly wantMsg.
func checkResult(t *testing.T, got Assignment, err error, want Assignment, wantErr error, wantMsg string) {
	t.Helper()
	if wantErr != nil {
		if !errors.Is(err, wantErr) {
			t.Fatalf("error = %v, want %v", err, wantErr)
		}
		if wantMsg != "" && err.Error() != wantMsg {
			t.Fatalf("error message:\n got %s\nwant %s", err, wantMsg)
		}
		return
	}
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if diff := cmp.Diff(want, got, cmpAddr, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("assignment (-want +got):\n%s", diff)
	}
}

func cmpDiff(want, got any) string { return cmp.Diff(want, got, cmpAddr) }

// Range is short for iprange.Range in table literals.
type Range = iprange.Range
