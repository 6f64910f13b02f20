package election

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// nodes returns n candidates named like Kubernetes nodes, all without preference.
func nodes(n int) []Candidate {
	cs := make([]Candidate, n)
	for i := range cs {
		cs[i] = Candidate{Node: fmt.Sprintf("worker-%d", i)}
	}
	return cs
}

// consecutive returns the canonical strings of n addresses counted up from first: the keys a
// pool of consecutive Service addresses gives.
func consecutive(first string, n int) []string {
	keys := make([]string, n)
	a := netip.MustParseAddr(first)
	for i := range keys {
		keys[i] = a.String()
		a = a.Next()
	}
	return keys
}

// keySets are the key shapes the speakers pass: consecutive IPv4 and IPv6 addresses, and sharing
// keys.
var keySets = map[string][]string{
	"consecutive IPv4":              consecutive("198.51.100.0", 1000),
	"consecutive IPv6":              consecutive("2001:db8::", 1000),
	"IPv6 across a 16-bit boundary": consecutive("2001:db8::fe0c", 1000),
	"sharing keys": func() []string {
		keys := make([]string, 1000)
		for i := range keys {
			keys[i] = fmt.Sprintf("team-%d", i)
		}
		return keys
	}(),
}

// owners maps every key to its owner among candidates.
func owners(t *testing.T, keys []string, candidates []Candidate) map[string]string {
	t.Helper()
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		node, ok := Owner(k, candidates)
		if !ok {
			t.Fatalf("Owner(%q, %d candidates) found no owner", k, len(candidates))
		}
		m[k] = node
	}
	return m
}

func TestOwnerWithoutCandidatesHasNoOwner(t *testing.T) {
	tests := []struct {
		name       string
		candidates []Candidate
	}{
		{"nil", nil},
		{"empty", []Candidate{}},
		{"only nameless candidates", []Candidate{{Node: ""}, {Node: "", Preference: 5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node, ok := Owner("198.51.100.1", tt.candidates)
			if ok || node != "" {
				t.Errorf("Owner = (%q, %v), want (\"\", false)", node, ok)
			}
		})
	}
}

func TestOwnerPicksAmongHighestPreferenceOnly(t *testing.T) {
	tests := []struct {
		name       string
		candidates []Candidate
		want       []string // the owner of every key must be one of these
	}{
		{
			name:       "single candidate owns everything",
			candidates: []Candidate{{Node: "a"}},
			want:       []string{"a"},
		},
		{
			name:       "one preferred node owns everything",
			candidates: []Candidate{{Node: "a"}, {Node: "b", Preference: 10}, {Node: "c"}},
			want:       []string{"b"},
		},
		{
			name: "highest weight wins over lower positive weights",
			candidates: []Candidate{
				{Node: "a", Preference: 5}, {Node: "b", Preference: 50}, {Node: "c", Preference: 50}, {Node: "d"},
			},
			want: []string{"b", "c"},
		},
		{
			name:       "negative preference loses to none",
			candidates: []Candidate{{Node: "a", Preference: -1}, {Node: "b"}},
			want:       []string{"b"},
		},
		{
			name:       "a duplicate counts with its highest preference",
			candidates: []Candidate{{Node: "a"}, {Node: "b"}, {Node: "a", Preference: 3}},
			want:       []string{"a"},
		},
		{
			name:       "nameless candidate is ignored even when preferred",
			candidates: []Candidate{{Node: "", Preference: 100}, {Node: "a"}},
			want:       []string{"a"},
		},
	}
	keys := keySets["consecutive IPv4"][:200]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[string]bool{}
			for _, k := range keys {
				node, _ := Owner(k, tt.candidates)
				if !slices.Contains(tt.want, node) {
					t.Fatalf("Owner(%q) = %q, want one of %q", k, node, tt.want)
				}
				seen[node] = true
			}
			for _, w := range tt.want {
				if !seen[w] {
					t.Errorf("%q owns none of %d keys; the preferred group should share them", w, len(keys))
				}
			}
		})
	}
}

func TestOwnerIgnoresOrderAndDuplicates(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := append(nodes(7), Candidate{Node: "pref-a", Preference: 2}, Candidate{Node: "pref-b", Preference: 2})
	for name, keys := range keySets {
		t.Run(name, func(t *testing.T) {
			want := owners(t, keys, base)
			for range 20 {
				shuffled := slices.Clone(base)
				// Duplicate a few candidates, some with a lower preference, which must not matter.
				for range rng.IntN(4) {
					c := shuffled[rng.IntN(len(shuffled))]
					c.Preference -= rng.IntN(2)
					shuffled = append(shuffled, c)
				}
				rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				if diff := cmp.Diff(want, owners(t, keys, shuffled)); diff != "" {
					t.Fatalf("owners changed with input order %v (-want +got):\n%s", shuffled, diff)
				}
			}
		})
	}
}

// TestOwnerSpreadsKeysEvenly holds the spread: over 1000 keys no node owns more than 1.5 times, or
// less than half, its fair share.
func TestOwnerSpreadsKeysEvenly(t *testing.T) {
	for name, keys := range keySets {
		for _, n := range []int{3, 5, 7, 10} {
			t.Run(fmt.Sprintf("%s over %d nodes", name, n), func(t *testing.T) {
				count := map[string]int{}
				for _, owner := range owners(t, keys, nodes(n)) {
					count[owner]++
				}
				fair := float64(len(keys)) / float64(n)
				lo, hi := len(keys), 0
				for _, c := range nodes(n) {
					lo, hi = min(lo, count[c.Node]), max(hi, count[c.Node])
				}
				t.Logf("fair share %.0f, least %d (%.2fx), most %d (%.2fx)", fair, lo, float64(lo)/fair, hi, float64(hi)/fair)
				if float64(hi) > 1.5*fair || float64(lo) < 0.5*fair {
					t.Errorf("owned counts %v: want each within [%.0f, %.0f]", count, 0.5*fair, 1.5*fair)
				}
			})
		}
	}
}

// TestOwnerSpreadLooksRandom runs Pearson's chi-squared test on 10000 consecutive addresses: a
// hash that let the structure of consecutive keys through would fail it. The bounds are the
// critical values at p = 0.001; the inputs are fixed, so the test cannot flake.
func TestOwnerSpreadLooksRandom(t *testing.T) {
	critical := map[int]float64{3: 13.82, 10: 27.88, 100: 148.23} // by node count; df = n-1
	for _, first := range []string{"198.51.100.0", "2001:db8::"} {
		keys := consecutive(first, 10000)
		for n, bound := range critical {
			t.Run(fmt.Sprintf("%d nodes from %s", n, first), func(t *testing.T) {
				count := map[string]int{}
				for _, owner := range owners(t, keys, nodes(n)) {
					count[owner]++
				}
				want := float64(len(keys)) / float64(n)
				chi2 := 0.0
				for _, c := range nodes(n) {
					d := float64(count[c.Node]) - want
					chi2 += d * d / want
				}
				t.Logf("chi-squared %.1f with %d degrees of freedom", chi2, n-1)
				if chi2 > bound {
					t.Errorf("chi-squared %.1f > %.2f: owners are not spread like random choices", chi2, bound)
				}
			})
		}
	}
}

// TestOwnerAddingNodeMovesKeysOnlyToIt compares every owner before and after a node joins: a key
// either keeps its owner or moves to the new node, and about 1/(n+1) of the keys move.
func TestOwnerAddingNodeMovesKeysOnlyToIt(t *testing.T) {
	for name, keys := range keySets {
		for _, n := range []int{3, 5, 7, 10} {
			t.Run(fmt.Sprintf("%s, node %d joins", name, n+1), func(t *testing.T) {
				before := owners(t, keys, nodes(n))
				grown := nodes(n + 1)
				added := grown[n].Node
				after := owners(t, keys, grown)
				moved := 0
				for _, k := range keys {
					if after[k] == before[k] {
						continue
					}
					if after[k] != added {
						t.Fatalf("key %q moved from %q to %q, want it kept or moved to the new node %q", k, before[k], after[k], added)
					}
					moved++
				}
				assertMovedAbout(t, moved, len(keys), n+1)
			})
		}
	}
}

// TestOwnerRemovingNodeMovesOnlyItsKeys compares every owner before and after a node leaves: only
// the keys it owned move, spread over the survivors.
func TestOwnerRemovingNodeMovesOnlyItsKeys(t *testing.T) {
	for name, keys := range keySets {
		for _, n := range []int{3, 5, 7, 10} {
			t.Run(fmt.Sprintf("%s, one of %d nodes leaves", name, n), func(t *testing.T) {
				all := nodes(n)
				gone := all[n/2].Node
				rest := slices.DeleteFunc(slices.Clone(all), func(c Candidate) bool { return c.Node == gone })
				before, after := owners(t, keys, all), owners(t, keys, rest)
				moved, heirs := 0, map[string]bool{}
				for _, k := range keys {
					switch {
					case before[k] == gone:
						moved++
						heirs[after[k]] = true
					case after[k] != before[k]:
						t.Fatalf("key %q moved from %q to %q though its owner stayed", k, before[k], after[k])
					}
				}
				assertMovedAbout(t, moved, len(keys), n)
				if n > 2 && len(heirs) < 2 {
					t.Errorf("the keys of %q all went to %v; want them spread over the survivors", gone, heirs)
				}
			})
		}
	}
}

func TestOwnerLowerPreferenceNodeJoiningMovesNothing(t *testing.T) {
	keys := keySets["consecutive IPv6"]
	preferred := []Candidate{{Node: "a", Preference: 1}, {Node: "b", Preference: 1}, {Node: "c"}}
	before := owners(t, keys, preferred)
	after := owners(t, keys, append(slices.Clone(preferred), Candidate{Node: "d"}, Candidate{Node: "e"}))
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("nodes without preference changed owners (-before +after):\n%s", diff)
	}
}

// assertMovedAbout checks that moved of total keys is within half and one and a half times the
// share one node of n has.
func assertMovedAbout(t *testing.T, moved, total, n int) {
	t.Helper()
	share := float64(total) / float64(n)
	t.Logf("%d of %d keys moved, one node's share is %.0f", moved, total, share)
	if float64(moved) < 0.5*share || float64(moved) > 1.5*share {
		t.Errorf("%d keys moved, want about %.0f (one node's share of %d)", moved, share, n)
	}
}

// TestScoreIsStableAcrossReleases pins the score. It is a contract between speakers: during a
// rolling upgrade old and new speakers must still agree on every owner, so changing the hash
// splits the cluster's answers and must fail this test. The values were computed independently
// of this code from the definition: FNV-1a 64 over the 8-byte little-endian name length, the name
// and the key, then fmix64.
func TestScoreIsStableAcrossReleases(t *testing.T) {
	tests := []struct {
		node, key string
		want      uint64
	}{
		{"worker-0", "192.0.2.1", 0x4e4bb6be3bfef848},
		{"worker-1", "192.0.2.1", 0x7d5d501a400f2352},
		{"worker-0", "2001:db8::1", 0xe133b528848ab8f0},
		{"node-a.example", "team-a", 0xa188f2b0d5f57c65},
		{"", "", 0xed6bb7dd1278cea9},
	}
	for _, tt := range tests {
		if got := score(tt.node, tt.key); got != tt.want {
			t.Errorf("score(%q, %q) = %#016x, want %#016x", tt.node, tt.key, got, tt.want)
		}
	}
	if got, _ := Owner("192.0.2.1", []Candidate{{Node: "worker-0"}, {Node: "worker-1"}}); got != "worker-1" {
		t.Errorf("Owner(192.0.2.1, worker-0 and worker-1) = %q, want worker-1, the higher score", got)
	}
}

func TestScoreSeparatesNameFromKey(t *testing.T) {
	if score("ab", "c") == score("a", "bc") {
		t.Errorf(`score("ab", "c") == score("a", "bc"); the node name and the key must not run together`)
	}
}

func FuzzOwnerIgnoresOrder(f *testing.F) {
	f.Add("198.51.100.1", "a", "b", "c", 0, 0, 1)
	f.Add("2001:db8::1", "worker-0", "worker-1", "worker-0", 1, 0, 1)
	f.Fuzz(func(t *testing.T, key, n1, n2, n3 string, p1, p2, p3 int) {
		cs := []Candidate{{n1, p1}, {n2, p2}, {n3, p3}}
		want, wantOK := Owner(key, cs)
		for _, perm := range [][3]int{{0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} {
			got, ok := Owner(key, []Candidate{cs[perm[0]], cs[perm[1]], cs[perm[2]]})
			if got != want || ok != wantOK {
				t.Fatalf("Owner(%q, %v) = (%q, %v), in order %v = (%q, %v)", key, cs, want, wantOK, perm, got, ok)
			}
		}
		if wantOK {
			if !slices.ContainsFunc(cs, func(c Candidate) bool { return c.Node == want }) {
				t.Fatalf("owner %q is not a candidate of %v", want, cs)
			}
		}
	})
}

func BenchmarkOwner(b *testing.B) {
	for _, n := range []int{3, 10, 100} {
		b.Run(fmt.Sprintf("candidates=%d", n), func(b *testing.B) {
			cs := nodes(n)
			keys := consecutive("2001:db8::", 1024)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				Owner(keys[i%len(keys)], cs)
				i++
			}
		})
	}
}
