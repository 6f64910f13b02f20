package allocator

import (
	"testing"
)

// assignCase assigns setup in order (each must succeed), then req, and checks the outcome.
type assignCase struct {
	name    string
	pools   []Pool
	setup   []Request
	req     Request
	want    Assignment
	wantErr error
	wantMsg string
}

func runAssignCases(t *testing.T, cases []assignCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			al := newAllocator(t, tc.pools...)
			for _, r := range tc.setup {
				mustAssign(t, al, r)
			}
			got, err := al.Assign(tc.req)
			checkResult(t, got, err, tc.want, tc.wantErr, tc.wantMsg)
			mustCheck(t, al)
		})
	}
}

func withPool(r Request, pool string) Request     { r.Pool = pool; return r }
func withAddrs(r Request, a ...string) Request    { r.Addresses = ips(a...); return r }
func withFamilies(r Request, f ...Family) Request { r.Families = f; return r }
func shared(r Request, key string, ports ...Port) Request {
	r.SharingKey, r.Ports = key, ports
	return r
}
func local(r Request, selector string) Request { r.LocalTrafficSelector = selector; return r }

var (
	tcp80  = Port{"TCP", 80}
	tcp443 = Port{"TCP", 443}
	udp53  = Port{"UDP", 53}
)

func TestAssignChoosesAmongEligiblePoolsInPriorityThenNameOrder(t *testing.T) {
	pools := []Pool{
		{Name: "zeta", Ranges: ranges("192.0.2.0/30"), AutoAssign: true, Priority: 1},
		{Name: "alpha", Ranges: ranges("198.51.100.0/30"), AutoAssign: true, Priority: 1},
		{Name: "first", Ranges: ranges("203.0.113.0/31"), AutoAssign: true, Priority: 0},
		{Name: "manual", Ranges: ranges("203.0.113.8/30"), AutoAssign: false, Priority: -1},
	}
	runAssignCases(t, []assignCase{
		{
			name:  "lowest priority first",
			pools: pools,
			req:   v4("ns/a", "zeta", "alpha", "first", "manual"),
			want:  Assignment{Pool: "first", Addresses: ips("203.0.113.0")},
		},
		{
			name:  "name breaks a priority tie, whatever the order of EligiblePools",
			pools: pools,
			req:   v4("ns/a", "zeta", "alpha"),
			want:  Assignment{Pool: "alpha", Addresses: ips("198.51.100.0")},
		},
		{
			name:  "ineligible pools are never used",
			pools: pools,
			req:   v4("ns/a", "zeta"),
			want:  Assignment{Pool: "zeta", Addresses: ips("192.0.2.0")},
		},
		{
			name:  "a full pool passes to the next",
			pools: pools,
			setup: []Request{v4("ns/x", "first"), v4("ns/y", "first")},
			req:   v4("ns/a", "first", "zeta"),
			want:  Assignment{Pool: "zeta", Addresses: ips("192.0.2.0")},
		},
		{
			name:  "pools without autoAssign are skipped",
			pools: pools,
			req:   v4("ns/a", "manual", "zeta"),
			want:  Assignment{Pool: "zeta", Addresses: ips("192.0.2.0")},
		},
		{
			name:  "a named pool may have autoAssign off",
			pools: pools,
			req:   withPool(v4("ns/a", "manual", "zeta"), "manual"),
			want:  Assignment{Pool: "manual", Addresses: ips("203.0.113.8")},
		},
		{
			name:    "a named pool must be eligible",
			pools:   pools,
			req:     withPool(v4("ns/a", "zeta"), "manual"),
			wantErr: ErrNoEligiblePool,
			wantMsg: `pool "manual" was asked for, but ns/a may not use it`,
		},
		{
			name:    "a named pool must exist",
			pools:   pools,
			req:     withPool(v4("ns/a", "zeta", "nope"), "nope"),
			wantErr: ErrUnknownPool,
			wantMsg: `pool "nope" does not exist`,
		},
		{
			name:    "only pools without autoAssign are eligible",
			pools:   pools,
			req:     v4("ns/a", "manual", "unknown"),
			wantErr: ErrNoEligiblePool,
			wantMsg: `no pool eligible for ns/a has autoAssign enabled (eligible: "manual"); ask for one by name`,
		},
		{
			name:    "no eligible pool at all",
			pools:   pools,
			req:     v4("ns/a"),
			wantErr: ErrNoEligiblePool,
			wantMsg: `no pool is eligible for ns/a`,
		},
		{
			name:    "every eligible pool is full",
			pools:   pools,
			setup:   []Request{v4("ns/x", "first"), v4("ns/y", "first")},
			req:     v4("ns/a", "first"),
			wantErr: ErrPoolExhausted,
			wantMsg: `pool "first" has no free IPv4 address`,
		},
		{
			name:    "no eligible pool has the family",
			pools:   pools,
			req:     v6("ns/a", "first", "zeta"),
			wantErr: ErrFamilyUnavailable,
			wantMsg: `no pool eligible for ns/a has IPv6 addresses (tried "first", "zeta")`,
		},
	})
}

func TestAssignTakesRequestedAddresses(t *testing.T) {
	pools := []Pool{
		{Name: "blue", Ranges: ranges("192.0.2.0/24", "2001:db8:b::/120"), AutoAssign: true},
		{Name: "manual", Ranges: ranges("198.51.100.0/24", "2001:db8:a::/120")},
		{Name: "careful", Ranges: ranges("203.0.113.0/24"), AutoAssign: true, AvoidBuggyIPs: true},
	}
	all := []string{"blue", "manual", "careful"}
	runAssignCases(t, []assignCase{
		{
			name:  "from a pool without autoAssign",
			pools: pools,
			req:   withAddrs(v4("ns/a", all...), "198.51.100.77"),
			want:  Assignment{Pool: "manual", Addresses: ips("198.51.100.77")},
		},
		{
			name:  "inside the named pool",
			pools: pools,
			req:   withPool(withAddrs(v4("ns/a", all...), "192.0.2.9"), "blue"),
			want:  Assignment{Pool: "blue", Addresses: ips("192.0.2.9")},
		},
		{
			name:    "outside the named pool",
			pools:   pools,
			req:     withPool(withAddrs(v4("ns/a", all...), "198.51.100.7"), "blue"),
			wantErr: ErrAddressNotInPool,
			wantMsg: `address 198.51.100.7 is in pool "manual", not in the requested pool "blue"`,
		},
		{
			name:    "in a pool the Service may not use",
			pools:   pools,
			req:     withAddrs(v4("ns/a", "blue"), "198.51.100.7"),
			wantErr: ErrAddressNotInPool,
			wantMsg: `address 198.51.100.7 is in pool "manual", which ns/a may not use`,
		},
		{
			name:    "in no pool",
			pools:   pools,
			req:     withAddrs(v4("ns/a", all...), "10.1.2.3"),
			wantErr: ErrAddressNotInPool,
			wantMsg: `address 10.1.2.3 is not in any pool`,
		},
		{
			name:    "two of one family",
			pools:   pools,
			req:     withAddrs(dual("ns/a", RequireDualStack, all...), "192.0.2.1", "192.0.2.2"),
			wantErr: ErrInvalidRequest,
			wantMsg: `ns/a: requests two IPv4 addresses, 192.0.2.1 and 192.0.2.2; at most one per family`,
		},
		{
			name:    "of a family the Service does not have",
			pools:   pools,
			req:     withAddrs(v4("ns/a", all...), "2001:db8:b::1"),
			wantErr: ErrInvalidRequest,
			wantMsg: `ns/a: requested address 2001:db8:b::1 is IPv6, but the Service's IP families are [IPv4]`,
		},
		{
			name:    "in two pools",
			pools:   pools,
			req:     withAddrs(dual("ns/a", RequireDualStack, all...), "192.0.2.1", "2001:db8:a::1"),
			wantErr: ErrInvalidRequest,
			wantMsg: `ns/a: requested addresses 192.0.2.1 and 2001:db8:a::1 are in two pools, "blue" and "manual"; a Service's addresses must come from one pool`,
		},
		{
			name:  "both families",
			pools: pools,
			req:   withAddrs(dual("ns/a", RequireDualStack, all...), "2001:db8:b::5", "192.0.2.5"),
			want:  Assignment{Pool: "blue", Addresses: ips("192.0.2.5", "2001:db8:b::5")},
		},
		{
			name:  "one family requested, the other picked from the same pool",
			pools: pools,
			req:   withAddrs(dual("ns/a", RequireDualStack, all...), "2001:db8:a::9"),
			want:  Assignment{Pool: "manual", Addresses: ips("198.51.100.0", "2001:db8:a::9")},
		},
		{
			name:    "a required family missing from the requested address's pool",
			pools:   pools,
			req:     withAddrs(dual("ns/a", RequireDualStack, all...), "203.0.113.9"),
			wantErr: ErrFamilyUnavailable,
			wantMsg: `pool "careful" of the requested address has no IPv6 addresses, which ns/a needs`,
		},
		{
			name:  "a preferred family missing from the requested address's pool",
			pools: pools,
			req:   withAddrs(dual("ns/a", PreferDualStack, all...), "203.0.113.9"),
			want:  Assignment{Pool: "careful", Addresses: ips("203.0.113.9")},
		},
		{
			name:    "buggy in a pool that avoids it",
			pools:   pools,
			req:     withAddrs(v4("ns/a", all...), "203.0.113.255"),
			wantErr: ErrBuggyAddress,
			wantMsg: `address 203.0.113.255 ends in .0 or .255, which pool "careful" avoids (avoidBuggyIPs)`,
		},
		{
			name:  "buggy in a pool that allows it",
			pools: pools,
			req:   withAddrs(v4("ns/a", all...), "192.0.2.0"),
			want:  Assignment{Pool: "blue", Addresses: ips("192.0.2.0")},
		},
		{
			name:    "in use by a Service that does not share",
			pools:   pools,
			setup:   []Request{withAddrs(v4("default/web", all...), "192.0.2.10")},
			req:     shared(withAddrs(v4("ns/a", all...), "192.0.2.10"), "k1"),
			wantErr: ErrAddressInUse,
			wantMsg: `address 192.0.2.10 is in use by default/web, which does not share it (allow-shared-ip keys "" and "k1" differ)`,
		},
		{
			name:    "in use, neither sharing",
			pools:   pools,
			setup:   []Request{withAddrs(v4("default/web", all...), "192.0.2.10")},
			req:     withAddrs(v4("ns/a", all...), "192.0.2.10"),
			wantErr: ErrAddressInUse,
			wantMsg: `address 192.0.2.10 is in use by default/web, which does not share it (neither has an allow-shared-ip key)`,
		},
		{
			name:  "ahead of the cursor: the next auto-assignment steps over it",
			pools: pools,
			setup: []Request{withAddrs(v4("ns/x", all...), "192.0.2.0"), withAddrs(v4("ns/y", all...), "192.0.2.1")},
			req:   v4("ns/a", "blue"),
			want:  Assignment{Pool: "blue", Addresses: ips("192.0.2.2")},
		},
	})
}

func TestAssignFollowsFamilyPolicy(t *testing.T) {
	pools := []Pool{
		{Name: "a-v4only", Ranges: ranges("192.0.2.0/30"), AutoAssign: true},
		{Name: "b-v6only", Ranges: ranges("2001:db8:6::/126"), AutoAssign: true},
		{Name: "c-dual", Ranges: ranges("198.51.100.0/31", "2001:db8:d::/127"), AutoAssign: true},
		{Name: "d-dual", Ranges: ranges("203.0.113.0/31", "2001:db8:e::/127"), AutoAssign: true},
	}
	all := []string{"a-v4only", "b-v6only", "c-dual", "d-dual"}
	runAssignCases(t, []assignCase{
		{
			name:  "SingleStack takes the first family from the first pool with it",
			pools: pools,
			req:   v6("ns/a", all...),
			want:  Assignment{Pool: "b-v6only", Addresses: ips("2001:db8:6::")},
		},
		{
			name:  "RequireDualStack skips single-family pools",
			pools: pools,
			req:   dual("ns/a", RequireDualStack, all...),
			want:  Assignment{Pool: "c-dual", Addresses: ips("198.51.100.0", "2001:db8:d::")},
		},
		{
			name:  "addresses follow the order of Families",
			pools: pools,
			req:   withFamilies(dual("ns/a", RequireDualStack, all...), IPv6, IPv4),
			want:  Assignment{Pool: "c-dual", Addresses: ips("2001:db8:d::", "198.51.100.0")},
		},
		{
			name:    "RequireDualStack without a pool of both families",
			pools:   pools,
			req:     dual("ns/a", RequireDualStack, "a-v4only", "b-v6only"),
			wantErr: ErrFamilyUnavailable,
			wantMsg: `no pool eligible for ns/a has both IPv4 and IPv6 addresses (tried "a-v4only", "b-v6only")`,
		},
		{
			name:  "RequireDualStack moves on when one family of a pool is full",
			pools: pools,
			setup: []Request{v6("ns/x", "c-dual"), v6("ns/y", "c-dual")},
			req:   dual("ns/a", RequireDualStack, all...),
			want:  Assignment{Pool: "d-dual", Addresses: ips("203.0.113.0", "2001:db8:e::")},
		},
		{
			name:    "RequireDualStack when every dual pool lacks a family",
			pools:   pools,
			setup:   []Request{v6("ns/x", "c-dual"), v6("ns/y", "c-dual"), v4("ns/z", "d-dual"), v4("ns/w", "d-dual")},
			req:     dual("ns/a", RequireDualStack, all...),
			wantErr: ErrPoolExhausted,
			wantMsg: `pool "c-dual" has no free IPv6 address; pool "d-dual" has no free IPv4 address`,
		},
		{
			name:  "PreferDualStack takes both from the first pool that has both",
			pools: pools,
			setup: []Request{v6("ns/x", "c-dual"), v6("ns/y", "c-dual")},
			req:   dual("ns/a", PreferDualStack, all...),
			want:  Assignment{Pool: "d-dual", Addresses: ips("203.0.113.0", "2001:db8:e::")},
		},
		{
			name:  "PreferDualStack falls back to the first family alone",
			pools: pools,
			setup: []Request{v6("ns/x", "c-dual"), v6("ns/y", "c-dual")},
			req:   dual("ns/a", PreferDualStack, "a-v4only", "c-dual"),
			want:  Assignment{Pool: "a-v4only", Addresses: ips("192.0.2.0")},
		},
		{
			name:  "PreferDualStack on a single-stack cluster",
			pools: pools,
			req:   Request{Key: "ns/a", Families: []Family{IPv6}, FamilyPolicy: PreferDualStack, EligiblePools: all},
			want:  Assignment{Pool: "b-v6only", Addresses: ips("2001:db8:6::")},
		},
		{
			name:    "RequireDualStack with one family is malformed",
			pools:   pools,
			req:     Request{Key: "ns/a", Families: []Family{IPv4}, FamilyPolicy: RequireDualStack, EligiblePools: all},
			wantErr: ErrInvalidRequest,
			wantMsg: `ns/a: RequireDualStack needs two IP families, got IPv4`,
		},
		{
			name:    "SingleStack with two families is malformed",
			pools:   pools,
			req:     dual("ns/a", SingleStack, all...),
			wantErr: ErrInvalidRequest,
		},
		{
			name:    "no families is malformed",
			pools:   pools,
			req:     Request{Key: "ns/a", EligiblePools: all},
			wantErr: ErrInvalidRequest,
		},
		{
			name:    "the same family twice is malformed",
			pools:   pools,
			req:     withFamilies(dual("ns/a", RequireDualStack, all...), IPv4, IPv4),
			wantErr: ErrInvalidRequest,
		},
		{
			name:    "an empty key is malformed",
			pools:   pools,
			req:     v4("", all...),
			wantErr: ErrInvalidRequest,
		},
	})
}

func TestAssignNeverHandsOutAvoidedBuggyAddresses(t *testing.T) {
	al := newAllocator(t,
		Pool{Name: "careful", Ranges: ranges("192.0.2.254-192.0.3.1", "2001:db8::/127"), AutoAssign: true, AvoidBuggyIPs: true})
	var got []string
	for i := range 4 {
		a, err := al.Assign(dual("ns/"+string(rune('a'+i)), PreferDualStack, "careful"))
		if err != nil {
			got = append(got, err.Error())
			continue
		}
		for _, addr := range a.Addresses {
			got = append(got, addr.String())
		}
	}
	want := []string{"192.0.2.254", "2001:db8::", "192.0.3.1", "2001:db8::1", `pool "careful" has no free IPv4 address`, `pool "careful" has no free IPv4 address`}
	if diff := cmpDiff(want, got); diff != "" {
		t.Errorf("assigned (-want +got):\n%s", diff)
	}
	mustCheck(t, al)
}

func TestAssignSharesOnlyWhenTheRulesAllow(t *testing.T) {
	pools := []Pool{{Name: "p", Ranges: ranges("192.0.2.0/29", "2001:db8::/125"), AutoAssign: true}}
	held := shared(withAddrs(v4("default/web", "p"), "192.0.2.3"), "k1", tcp80)
	want := func(key string) Request { return withAddrs(v4(key, "p"), "192.0.2.3") }
	runAssignCases(t, []assignCase{
		{
			name:  "same key, different ports",
			pools: pools,
			setup: []Request{held},
			req:   shared(want("ns/a"), "k1", tcp443, udp53),
			want:  Assignment{Pool: "p", Addresses: ips("192.0.2.3")},
		},
		{
			name:  "same port number, other protocol",
			pools: pools,
			setup: []Request{held},
			req:   shared(want("ns/a"), "k1", Port{"UDP", 80}),
			want:  Assignment{Pool: "p", Addresses: ips("192.0.2.3")},
		},
		{
			name:    "same key, same port",
			pools:   pools,
			setup:   []Request{held},
			req:     shared(want("ns/a"), "k1", tcp443, tcp80),
			wantErr: ErrAddressInUse,
			wantMsg: `address 192.0.2.3 is in use by default/web, which does not share it (both use TCP/80)`,
		},
		{
			name:    "different keys",
			pools:   pools,
			setup:   []Request{held},
			req:     shared(want("ns/a"), "k2", tcp443),
			wantErr: ErrAddressInUse,
			wantMsg: `address 192.0.2.3 is in use by default/web, which does not share it (allow-shared-ip keys "k1" and "k2" differ)`,
		},
		{
			name:    "no key",
			pools:   pools,
			setup:   []Request{held},
			req:     want("ns/a"),
			wantErr: ErrAddressInUse,
			wantMsg: `address 192.0.2.3 is in use by default/web, which does not share it (allow-shared-ip keys "k1" and "" differ)`,
		},
		{
			name:    "Local traffic policy on one side only",
			pools:   pools,
			setup:   []Request{held},
			req:     local(shared(want("ns/a"), "k1", tcp443), "app=web"),
			wantErr: ErrAddressInUse,
			wantMsg: `address 192.0.2.3 is in use by default/web, which does not share it (with externalTrafficPolicy Local, both must select the same pods)`,
		},
		{
			name:    "Local traffic policy with different selectors",
			pools:   pools,
			setup:   []Request{local(held, "app=web")},
			req:     local(shared(want("ns/a"), "k1", tcp443), "app=api"),
			wantErr: ErrAddressInUse,
		},
		{
			name:  "Local traffic policy with the same selector",
			pools: pools,
			setup: []Request{local(held, "app=web")},
			req:   local(shared(want("ns/a"), "k1", tcp443), "app=web"),
			want:  Assignment{Pool: "p", Addresses: ips("192.0.2.3")},
		},
		{
			name:    "every holder must agree",
			pools:   pools,
			setup:   []Request{held, shared(want("ns/b"), "k1", tcp443)},
			req:     shared(want("ns/a"), "k1", udp53, tcp443),
			wantErr: ErrAddressInUse,
			wantMsg: `address 192.0.2.3 is in use by ns/b, which does not share it (both use TCP/443)`,
		},
		{
			name:  "auto-assignment prefers an address held under its key",
			pools: pools,
			setup: []Request{held},
			req:   shared(v4("ns/a", "p"), "k1", tcp443),
			want:  Assignment{Pool: "p", Addresses: ips("192.0.2.3")},
		},
		{
			name:  "auto-assignment takes a free address when the shared one conflicts",
			pools: pools,
			setup: []Request{held},
			req:   shared(v4("ns/a", "p"), "k1", tcp80),
			want:  Assignment{Pool: "p", Addresses: ips("192.0.2.0")},
		},
		{
			name:  "dual-stack sharing takes each family's shared address",
			pools: pools,
			setup: []Request{shared(withAddrs(dual("default/web", RequireDualStack, "p"), "192.0.2.5", "2001:db8::5"), "k1", tcp80)},
			req:   shared(dual("ns/a", RequireDualStack, "p"), "k1", tcp443),
			want:  Assignment{Pool: "p", Addresses: ips("192.0.2.5", "2001:db8::5")},
		},
	})
}

func TestAssignExplainsAnExhaustedPoolWithConflictingSharers(t *testing.T) {
	al := newAllocator(t, Pool{Name: "p", Ranges: ranges("192.0.2.0/32"), AutoAssign: true})
	mustAssign(t, al, shared(v4("default/web", "p"), "k1", tcp80))
	_, err := al.Assign(shared(v4("ns/a", "p"), "k1", tcp80))
	checkResult(t, Assignment{}, err, Assignment{}, ErrPoolExhausted,
		`pool "p" has no free IPv4 address (address 192.0.2.0 is in use by default/web, which does not share it (both use TCP/80))`)
}
