package allocator

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// addressesOf assigns each key in turn and returns the addresses they got, as strings.
func addressesOf(t *testing.T, al *Allocator, pool string, keys ...string) []string {
	t.Helper()
	var out []string
	for _, k := range keys {
		for _, a := range mustAssign(t, al, v4(k, pool)).Addresses {
			out = append(out, a.String())
		}
	}
	return out
}

func TestReleasedAddressesWaitWhileNeverUsedOnesRemain(t *testing.T) {
	al := newAllocator(t, Pool{Name: "p", Ranges: ranges("192.0.2.0/30"), AutoAssign: true})
	got := addressesOf(t, al, "p", "ns/a", "ns/b")
	al.Release("ns/a")
	got = append(got, addressesOf(t, al, "p", "ns/c", "ns/d")...)
	al.Release("ns/c")
	al.Release("ns/b")
	// Only released addresses are left: .0 (released first), .2, then .1.
	got = append(got, addressesOf(t, al, "p", "ns/e", "ns/f", "ns/g")...)
	want := []string{"192.0.2.0", "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.0", "192.0.2.2", "192.0.2.1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order of assignment (-want +got):\n%s", diff)
	}
	mustCheck(t, al)
}

func TestAnAddressTakenAheadOfTheCursorAndReleasedWaitsItsTurn(t *testing.T) {
	al := newAllocator(t, Pool{Name: "p", Ranges: ranges("192.0.2.0/30"), AutoAssign: true})
	mustAssign(t, al, withAddrs(v4("ns/x", "p"), "192.0.2.1"))
	al.Release("ns/x")
	got := addressesOf(t, al, "p", "ns/a", "ns/b", "ns/c", "ns/d")
	want := []string{"192.0.2.0", "192.0.2.2", "192.0.2.3", "192.0.2.1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order of assignment (-want +got):\n%s", diff)
	}
	mustCheck(t, al)
}

func TestReleasesBeyondTheQueueGoFirstLowestAddressFirst(t *testing.T) {
	al := newAllocator(t, Pool{Name: "p", Ranges: ranges("192.0.2.0/29"), AutoAssign: true})
	al.queueLimit = 2
	keys := []string{"ns/0", "ns/1", "ns/2", "ns/3", "ns/4", "ns/5", "ns/6", "ns/7"}
	addressesOf(t, al, "p", keys...)
	for _, k := range []string{"ns/5", "ns/1", "ns/6", "ns/2", "ns/7"} {
		al.Release(k)
	}
	// The queue keeps .2 then .7 in release order; .5, .1 and .6 fell off it and go first, lowest
	// first.
	got := addressesOf(t, al, "p", "ns/a", "ns/b", "ns/c", "ns/d", "ns/e")
	want := []string{"192.0.2.1", "192.0.2.5", "192.0.2.6", "192.0.2.2", "192.0.2.7"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order of assignment (-want +got):\n%s", diff)
	}
	mustCheck(t, al)
}

func TestAReleasedServiceGetsItsAddressBack(t *testing.T) {
	pools := []Pool{
		{Name: "first", Ranges: ranges("192.0.2.0/31"), AutoAssign: true},
		{Name: "second", Ranges: ranges("198.51.100.0/24", "2001:db8::/120"), AutoAssign: true, Priority: 1},
	}
	tests := []struct {
		name  string
		setup func(al *Allocator)
		req   Request
		want  Assignment
	}{
		{
			name: "even though never-used addresses remain",
			setup: func(al *Allocator) {
				mustAssign(t, al, v4("ns/x", "second"))
				mustAssign(t, al, v4("ns/a", "second"))
				al.Release("ns/a")
			},
			req:  v4("ns/a", "second"),
			want: Assignment{Pool: "second", Addresses: ips("198.51.100.1")},
		},
		{
			name: "even from a pool tried later, if it is a candidate",
			setup: func(al *Allocator) {
				mustAssign(t, al, v4("ns/x", "first"))
				mustAssign(t, al, v4("ns/y", "first"))
				mustAssign(t, al, v4("ns/a", "first", "second"))
				al.Release("ns/x")
				al.Release("ns/a")
			},
			req:  v4("ns/a", "first", "second"),
			want: Assignment{Pool: "second", Addresses: ips("198.51.100.0")},
		},
		{
			name: "both families of a dual-stack Service",
			setup: func(al *Allocator) {
				mustAssign(t, al, dual("ns/x", RequireDualStack, "second"))
				mustAssign(t, al, dual("ns/a", RequireDualStack, "second"))
				al.Release("ns/a")
			},
			req:  dual("ns/a", RequireDualStack, "second"),
			want: Assignment{Pool: "second", Addresses: ips("198.51.100.1", "2001:db8::1")},
		},
		{
			name: "but not when someone else took it",
			setup: func(al *Allocator) {
				mustAssign(t, al, v4("ns/a", "second"))
				al.Release("ns/a")
				mustAssign(t, al, withAddrs(v4("ns/x", "second"), "198.51.100.0"))
			},
			req:  v4("ns/a", "second"),
			want: Assignment{Pool: "second", Addresses: ips("198.51.100.1")},
		},
		{
			name: "but not from a pool it may no longer use",
			setup: func(al *Allocator) {
				mustAssign(t, al, v4("ns/a", "second"))
				al.Release("ns/a")
			},
			req:  v4("ns/a", "first"),
			want: Assignment{Pool: "first", Addresses: ips("192.0.2.0")},
		},
		{
			name: "but not once forgotten",
			setup: func(al *Allocator) {
				al.recent = newKeyMemory(2)
				mustAssign(t, al, v4("ns/a", "second"))
				for i := range 3 {
					mustAssign(t, al, v4(fmt.Sprint("ns/other", i), "second"))
				}
				al.Release("ns/a")
				for i := range 3 {
					// Three later releases push ns/a out of a memory of two.
					al.Release(fmt.Sprint("ns/other", i))
				}
			},
			req:  v4("ns/a", "second"),
			want: Assignment{Pool: "second", Addresses: ips("198.51.100.4")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			al := newAllocator(t, pools...)
			tt.setup(al)
			got, err := al.Assign(tt.req)
			checkResult(t, got, err, tt.want, nil, "")
			mustCheck(t, al)
		})
	}
}

func TestAssignKeepsOrReplacesWhatTheServiceHolds(t *testing.T) {
	pools := []Pool{
		{Name: "blue", Ranges: ranges("192.0.2.0/24", "2001:db8:b::/120"), AutoAssign: true},
		{Name: "green", Ranges: ranges("198.51.100.0/24"), AutoAssign: true, Priority: 1},
	}
	base := v4("ns/a", "blue", "green")
	tests := []struct {
		name    string
		change  Request
		want    Assignment
		wantErr error
	}{
		{"same request: unchanged", base, Assignment{Pool: "blue", Addresses: ips("192.0.2.1")}, nil},
		{"eligible pools reordered: unchanged", v4("ns/a", "green", "blue"), Assignment{Pool: "blue", Addresses: ips("192.0.2.1")}, nil},
		{"sharing key added while sole holder: unchanged", shared(base, "k", tcp80), Assignment{Pool: "blue", Addresses: ips("192.0.2.1")}, nil},
		{"ports changed: unchanged", shared(base, "", udp53), Assignment{Pool: "blue", Addresses: ips("192.0.2.1")}, nil},
		{"now PreferDualStack: the held family is kept alone", dual("ns/a", PreferDualStack, "blue", "green"), Assignment{Pool: "blue", Addresses: ips("192.0.2.1")}, nil},
		{"requested address already held: unchanged", withAddrs(base, "192.0.2.1"), Assignment{Pool: "blue", Addresses: ips("192.0.2.1")}, nil},
		{"pool no longer eligible: moves", v4("ns/a", "green"), Assignment{Pool: "green", Addresses: ips("198.51.100.0")}, nil},
		{"other pool named: moves", withPool(base, "green"), Assignment{Pool: "green", Addresses: ips("198.51.100.0")}, nil},
		{"other address requested: moves", withAddrs(base, "192.0.2.77"), Assignment{Pool: "blue", Addresses: ips("192.0.2.77")}, nil},
		{"now RequireDualStack: keeps its IPv4 address and adds IPv6", dual("ns/a", RequireDualStack, "blue", "green"), Assignment{Pool: "blue", Addresses: ips("192.0.2.1", "2001:db8:b::")}, nil},
		{"now IPv6: moves", v6("ns/a", "blue", "green"), Assignment{Pool: "blue", Addresses: ips("2001:db8:b::")}, nil},
		{"failing change: the old address is released", v6("ns/a", "green"), Assignment{}, ErrFamilyUnavailable},
		{"malformed change: nothing happens", withFamilies(base), Assignment{Pool: "blue", Addresses: ips("192.0.2.1")}, ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			al := newAllocator(t, pools...)
			mustAssign(t, al, v4("ns/first", "blue"))
			mustAssign(t, al, base)
			got, err := al.Assign(tt.change)
			checkResult(t, got, err, tt.want, tt.wantErr, "")
			held, ok := al.Lookup("ns/a")
			switch {
			case errors.Is(tt.wantErr, ErrInvalidRequest):
				checkResult(t, held, nil, tt.want, nil, "")
			case tt.wantErr != nil && ok:
				t.Errorf("after a failed change, ns/a still holds %v", held)
			case tt.wantErr == nil:
				checkResult(t, held, nil, tt.want, nil, "")
			}
			mustCheck(t, al)
		})
	}
}

func TestSharingKeyChangeWhileSharedMovesTheService(t *testing.T) {
	al := newAllocator(t, Pool{Name: "p", Ranges: ranges("192.0.2.0/30"), AutoAssign: true})
	mustAssign(t, al, shared(v4("ns/a", "p"), "k", tcp80))
	mustAssign(t, al, shared(v4("ns/b", "p"), "k", tcp443))
	got := mustAssign(t, al, shared(v4("ns/b", "p"), "other", tcp443))
	if diff := cmp.Diff(ips("192.0.2.1"), got.Addresses, cmpAddr); diff != "" {
		t.Errorf("ns/b (-want +got):\n%s", diff)
	}
	mustCheck(t, al)
}

func TestRestoreRecordsExactlyWhatIsGiven(t *testing.T) {
	pools := []Pool{
		{Name: "blue", Ranges: ranges("192.0.2.0/24", "2001:db8:b::/120"), AutoAssign: true},
		{Name: "careful", Ranges: ranges("203.0.113.0/24"), AvoidBuggyIPs: true},
	}
	all := []string{"blue", "careful"}
	tests := []struct {
		name    string
		setup   []Request
		req     Request
		addrs   []netip.Addr
		want    Assignment
		wantErr error
		wantMsg string
	}{
		{
			name:  "an address the cursor has not reached",
			req:   v4("ns/a", all...),
			addrs: ips("192.0.2.200"),
			want:  Assignment{Pool: "blue", Addresses: ips("192.0.2.200")},
		},
		{
			name:  "from a pool without autoAssign",
			req:   v4("ns/a", all...),
			addrs: ips("203.0.113.7"),
			want:  Assignment{Pool: "careful", Addresses: ips("203.0.113.7")},
		},
		{
			name:  "dual-stack, in the order of Families",
			req:   withFamilies(dual("ns/a", RequireDualStack, all...), IPv6, IPv4),
			addrs: ips("192.0.2.9", "2001:db8:b::9"),
			want:  Assignment{Pool: "blue", Addresses: ips("2001:db8:b::9", "192.0.2.9")},
		},
		{
			name:  "shared with a compatible holder",
			setup: []Request{shared(withAddrs(v4("ns/x", all...), "192.0.2.9"), "k", tcp80)},
			req:   shared(v4("ns/a", all...), "k", tcp443),
			addrs: ips("192.0.2.9"),
			want:  Assignment{Pool: "blue", Addresses: ips("192.0.2.9")},
		},
		{
			name:    "outside the eligible pools",
			req:     v4("ns/a", "blue"),
			addrs:   ips("203.0.113.7"),
			wantErr: ErrAddressNotInPool,
			wantMsg: `address 203.0.113.7 is in pool "careful", which ns/a may not use`,
		},
		{
			name:    "outside every pool",
			req:     v4("ns/a", all...),
			addrs:   ips("10.0.0.1"),
			wantErr: ErrAddressNotInPool,
		},
		{
			name:    "held by a Service that does not share",
			setup:   []Request{withAddrs(v4("ns/x", all...), "192.0.2.9")},
			req:     v4("ns/a", all...),
			addrs:   ips("192.0.2.9"),
			wantErr: ErrAddressInUse,
			wantMsg: `address 192.0.2.9 is in use by ns/x, which does not share it (neither has an allow-shared-ip key)`,
		},
		{
			name:    "a buggy address the pool avoids",
			req:     v4("ns/a", all...),
			addrs:   ips("203.0.113.0"),
			wantErr: ErrBuggyAddress,
		},
		{
			name:    "one family for RequireDualStack",
			req:     dual("ns/a", RequireDualStack, all...),
			addrs:   ips("192.0.2.9"),
			wantErr: ErrRequestMismatch,
			wantMsg: `ns/a: holds no IPv6 address, which RequireDualStack with families [IPv4 IPv6] needs`,
		},
		{
			name:    "a family the Service does not have",
			req:     v4("ns/a", all...),
			addrs:   ips("192.0.2.9", "2001:db8:b::9"),
			wantErr: ErrRequestMismatch,
		},
		{
			name:    "not the requested address",
			req:     withAddrs(v4("ns/a", all...), "192.0.2.10"),
			addrs:   ips("192.0.2.9"),
			wantErr: ErrRequestMismatch,
		},
		{
			name:    "in two pools",
			req:     dual("ns/a", RequireDualStack, all...),
			addrs:   ips("203.0.113.9", "2001:db8:b::9"),
			wantErr: ErrInvalidRequest,
		},
		{
			name:    "nothing",
			req:     v4("ns/a", all...),
			wantErr: ErrInvalidRequest,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			al := newAllocator(t, pools...)
			for _, r := range tt.setup {
				mustAssign(t, al, r)
			}
			got, err := al.Restore(tt.req.Key, tt.req, tt.addrs)
			checkResult(t, got, err, tt.want, tt.wantErr, tt.wantMsg)
			if held, ok := al.Lookup(tt.req.Key); tt.wantErr != nil && ok {
				t.Errorf("failed Restore left %v assigned", held)
			}
			mustCheck(t, al)
		})
	}
}

func TestRestoreNeverMovesAndLaterAssignmentsStepOverIt(t *testing.T) {
	al := newAllocator(t, Pool{Name: "p", Ranges: ranges("192.0.2.0/30"), AutoAssign: true})
	if _, err := al.Restore("ns/a", v4("ns/a", "p"), ips("192.0.2.1")); err != nil {
		t.Fatal(err)
	}
	// Restoring again, even with another key's view, changes nothing.
	if _, err := al.Restore("ns/a", v4("ns/a", "p"), ips("192.0.2.1")); err != nil {
		t.Fatal(err)
	}
	// A failed Restore keeps what the key held.
	if _, err := al.Restore("ns/a", v4("ns/a", "p"), ips("10.0.0.1")); !errors.Is(err, ErrAddressNotInPool) {
		t.Fatalf("Restore outside the pool: %v", err)
	}
	got := addressesOf(t, al, "p", "ns/a", "ns/b", "ns/c", "ns/d")
	want := []string{"192.0.2.1", "192.0.2.0", "192.0.2.2", "192.0.2.3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
	mustCheck(t, al)
}

func TestSetPoolsKeepsWhatStillFitsAndReleasesTheRest(t *testing.T) {
	before := []Pool{
		{Name: "blue", Ranges: ranges("192.0.2.0/24", "2001:db8:b::/120"), AutoAssign: true},
		{Name: "green", Ranges: ranges("198.51.100.0/24"), AutoAssign: true},
	}
	setup := func(t *testing.T) *Allocator {
		al := newAllocator(t, before...)
		mustAssign(t, al, withAddrs(v4("ns/blue-0", "blue"), "192.0.2.0"))
		mustAssign(t, al, withAddrs(v4("ns/blue-200", "blue"), "192.0.2.200"))
		mustAssign(t, al, withAddrs(dual("ns/blue-dual", RequireDualStack, "blue"), "192.0.2.100", "2001:db8:b::1"))
		mustAssign(t, al, v4("ns/green", "green"))
		return al
	}
	tests := []struct {
		name      string
		after     []Pool
		wantMoved []string
	}{
		{"nothing changes", before, nil},
		{
			"autoAssign and priority changes move nothing",
			[]Pool{{Name: "blue", Ranges: before[0].Ranges, Priority: 7}, before[1]},
			nil,
		},
		{
			"a removed pool releases its Services",
			[]Pool{before[0]},
			[]string{"ns/green"},
		},
		{
			"a shrunk range releases what fell outside",
			[]Pool{{Name: "blue", Ranges: ranges("192.0.2.0/25", "2001:db8:b::/120"), AutoAssign: true}, before[1]},
			[]string{"ns/blue-200"},
		},
		{
			"losing one family releases the whole dual-stack Service",
			[]Pool{{Name: "blue", Ranges: ranges("192.0.2.0/24", "2001:db8:b::80/121"), AutoAssign: true}, before[1]},
			[]string{"ns/blue-dual"},
		},
		{
			"avoiding buggy addresses releases their holders",
			[]Pool{{Name: "blue", Ranges: before[0].Ranges, AutoAssign: true, AvoidBuggyIPs: true}, before[1]},
			[]string{"ns/blue-0"},
		},
		{
			"a range moved to another pool releases its Services",
			[]Pool{{Name: "blue", Ranges: ranges("192.0.2.0/25", "2001:db8:b::/120"), AutoAssign: true}, {Name: "green", Ranges: ranges("198.51.100.0/24", "192.0.2.128/25")}},
			[]string{"ns/blue-200"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			al := setup(t)
			var kept []string
			wantKept := map[string]Assignment{}
			for _, k := range []string{"ns/blue-0", "ns/blue-200", "ns/blue-dual", "ns/green"} {
				a, _ := al.Lookup(k)
				wantKept[k] = a
			}
			moved, err := al.SetPools(tt.after)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantMoved, moved); diff != "" {
				t.Errorf("moved (-want +got):\n%s", diff)
			}
			for k, want := range wantKept {
				got, ok := al.Lookup(k)
				if !ok {
					continue
				}
				kept = append(kept, k)
				if diff := cmp.Diff(want, got, cmpAddr); diff != "" {
					t.Errorf("%s changed (-want +got):\n%s", k, diff)
				}
			}
			if len(kept)+len(moved) != len(wantKept) {
				t.Errorf("kept %v and moved %v do not add up to %d Services", kept, moved, len(wantKept))
			}
			mustCheck(t, al)
		})
	}
}

func TestSetPoolsRejectsInvalidPoolsAndChangesNothing(t *testing.T) {
	tests := []struct {
		name    string
		pools   []Pool
		wantMsg string
	}{
		{"no name", []Pool{{Ranges: ranges("192.0.2.0/24")}}, `pool 0 has no name`},
		{"two of one name", []Pool{{Name: "a"}, {Name: "a"}}, `two pools are named "a"`},
		{"invalid range", []Pool{{Name: "a", Ranges: []Range{{First: ip("192.0.2.9"), Last: ip("192.0.2.1")}}}},
			`pool "a": range 192.0.2.9-192.0.2.1 is invalid; want both ends of one family, without zone, first <= last`},
		{"overlap within a pool", []Pool{{Name: "a", Ranges: ranges("192.0.2.0/24", "192.0.2.128/25")}},
			`pool "a": ranges 192.0.2.0/24 and 192.0.2.128/25 overlap`},
		{"overlap between pools", []Pool{{Name: "a", Ranges: ranges("192.0.2.0/24")}, {Name: "b", Ranges: ranges("2001:db8::/64", "192.0.2.7")}},
			`pools "a" and "b" overlap: 192.0.2.0/24 (in "a") and 192.0.2.7/32 (in "b")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.pools); !errors.Is(err, ErrInvalidPool) || err.Error() != tt.wantMsg {
				t.Errorf("New: error %v, want %v: %s", err, ErrInvalidPool, tt.wantMsg)
			}
			al := newAllocator(t, Pool{Name: "keep", Ranges: ranges("198.51.100.0/24"), AutoAssign: true})
			want := mustAssign(t, al, v4("ns/a", "keep"))
			if _, err := al.SetPools(tt.pools); !errors.Is(err, ErrInvalidPool) {
				t.Fatalf("SetPools: error %v, want %v", err, ErrInvalidPool)
			}
			got, ok := al.Lookup("ns/a")
			if !ok {
				t.Fatal("SetPools with invalid pools released ns/a")
			}
			checkResult(t, got, nil, want, nil, "")
			if _, err := al.Stats("keep"); err != nil {
				t.Errorf("SetPools with invalid pools replaced the pools: %v", err)
			}
		})
	}
}

func TestSetPoolsDoesNotHandOutUsedAddressesAsNew(t *testing.T) {
	al := newAllocator(t, Pool{Name: "p", Ranges: ranges("192.0.2.0/30"), AutoAssign: true})
	addressesOf(t, al, "p", "ns/a", "ns/b", "ns/c")
	al.Release("ns/b")
	al.Release("ns/a")
	// Growing the pool keeps the history: the new range and the never-used .3 go first, then the
	// released addresses in release order.
	if _, err := al.SetPools([]Pool{{Name: "p", Ranges: ranges("192.0.2.0/30", "192.0.2.8/31"), AutoAssign: true}}); err != nil {
		t.Fatal(err)
	}
	got := addressesOf(t, al, "p", "ns/d", "ns/e", "ns/f", "ns/g", "ns/h")
	want := []string{"192.0.2.3", "192.0.2.8", "192.0.2.9", "192.0.2.1", "192.0.2.0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
	mustCheck(t, al)
}

func TestSetPoolsHandsOutSkippedBuggyAddressesOnceNoLongerAvoided(t *testing.T) {
	al := newAllocator(t, Pool{Name: "p", Ranges: ranges("192.0.2.254-192.0.3.1"), AutoAssign: true, AvoidBuggyIPs: true})
	addressesOf(t, al, "p", "ns/a", "ns/b")
	if _, err := al.SetPools([]Pool{{Name: "p", Ranges: ranges("192.0.2.254-192.0.3.1"), AutoAssign: true}}); err != nil {
		t.Fatal(err)
	}
	got := addressesOf(t, al, "p", "ns/c", "ns/d")
	want := []string{"192.0.2.255", "192.0.3.0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
	mustCheck(t, al)
}

func TestStatsAreExactForAnyPoolSize(t *testing.T) {
	pow2 := func(n uint) *big.Int { return new(big.Int).Lsh(big.NewInt(1), n) }
	sub := func(a *big.Int, b int64) *big.Int { return new(big.Int).Sub(a, big.NewInt(b)) }
	al := newAllocator(t,
		Pool{Name: "huge", Ranges: ranges("::/1", "0.0.0.0/1"), AutoAssign: true},
		Pool{Name: "wide", Ranges: ranges("8000::/48", "128.0.0.0/8"), AutoAssign: true, AvoidBuggyIPs: true},
	)
	mustAssign(t, al, shared(dual("ns/a", RequireDualStack, "huge"), "k", tcp80))
	mustAssign(t, al, shared(dual("ns/b", RequireDualStack, "huge"), "k", tcp443))
	mustAssign(t, al, dual("ns/c", RequireDualStack, "wide"))
	tests := []struct {
		pool string
		want PoolStats
	}{
		{"huge", PoolStats{AssignedV4: 1, AssignedV6: 1, AvailableV4: sub(pow2(31), 1), AvailableV6: sub(pow2(127), 1)}},
		{"wide", PoolStats{AssignedV4: 1, AssignedV6: 1, AvailableV4: sub(pow2(24), 2*65536+1), AvailableV6: sub(pow2(80), 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.pool, func(t *testing.T) {
			got, err := al.Stats(tt.pool)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b *big.Int) bool { return a.Cmp(b) == 0 })); diff != "" {
				t.Errorf("Stats (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := al.Stats("nope"); !errors.Is(err, ErrUnknownPool) {
		t.Errorf("Stats of an unknown pool: %v", err)
	}
}

func TestStatsOfTheWholeIPv6SpaceExceed128Bits(t *testing.T) {
	al := newAllocator(t, Pool{Name: "all", Ranges: ranges("::/0")})
	st, err := al.Stats("all")
	if err != nil {
		t.Fatal(err)
	}
	if want := new(big.Int).Lsh(big.NewInt(1), 128); st.AvailableV6.Cmp(want) != 0 || st.AvailableV4.Sign() != 0 {
		t.Errorf("Stats = %+v, want AvailableV6 %v", st, want)
	}
}

func TestReleaseOfAnUnknownKeyDoesNothing(t *testing.T) {
	al := newAllocator(t, Pool{Name: "p", Ranges: ranges("192.0.2.0/30"), AutoAssign: true})
	al.Release("ns/nobody")
	if _, ok := al.Lookup("ns/nobody"); ok {
		t.Error("Lookup found an assignment for a key never assigned")
	}
	mustCheck(t, al)
}

func TestConcurrentUseIsSafe(t *testing.T) {
	al := newAllocator(t, Pool{Name: "p", Ranges: ranges("192.0.2.0/26", "2001:db8::/120"), AutoAssign: true})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				key := fmt.Sprintf("ns/w%d-%d", w, i%8)
				if _, err := al.Assign(dual(key, PreferDualStack, "p")); err != nil {
					t.Error(err)
					return
				}
				_, _ = al.Stats("p")
				if i%3 == 0 {
					al.Release(key)
				}
			}
		})
	}
	wg.Wait()
	mustCheck(t, al)
}
