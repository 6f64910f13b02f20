package allocator

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestKeyIndexResolvesHashCollisions(t *testing.T) {
	var slab assignments
	idx := newKeyIndex()
	idx.hash = func(string) uint64 { return 7 } // every key collides
	model := map[string]*assignment{}
	rng := rand.New(rand.NewPCG(5, 6))
	keys := []string{"a/a", "a/b", "a/c", "b/a", "b/b"}
	for range 2000 {
		key := keys[rng.IntN(len(keys))]
		if a, ok := model[key]; ok {
			idx.delete(key, &slab)
			slab.release(a)
			delete(model, key)
		} else {
			a := slab.alloc()
			a.key = key
			idx.set(key, a.id)
			model[key] = a
		}
		for _, k := range keys {
			got, ok := idx.get(k, &slab)
			if want, wantOK := model[k]; ok != wantOK || got != want {
				t.Fatalf("get(%q) = %v, %v; want %v, %v", k, got, ok, want, wantOK)
			}
		}
		if idx.len() != len(model) {
			t.Fatalf("len = %d, want %d", idx.len(), len(model))
		}
	}
}

func TestAddrMapAgreesWithAPlainMap(t *testing.T) {
	var m addrMap
	model := map[netip.Addr]int32{}
	rng := rand.New(rand.NewPCG(7, 8))
	bases := []netip.Addr{ip("192.0.2.0"), ip("255.255.255.128"), ip("2001:db8::"), ip("::ffff:192.0.2.0"), ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff80")}
	for i := range 20000 {
		a := bases[rng.IntN(len(bases))]
		for range rng.IntN(128) {
			if n := a.Next(); n.IsValid() {
				a = n
			}
		}
		switch rng.IntN(3) {
		case 0, 1:
			m.set(a, int32(i))
			model[a] = int32(i)
		default:
			m.delete(a)
			delete(model, a)
		}
		id, ok := m.get(a)
		if want, wantOK := model[a]; id != want || ok != wantOK {
			t.Fatalf("get(%s) = %d, %v; want %d, %v", a, id, ok, want, wantOK)
		}
	}
	got := map[netip.Addr]int32{}
	for a, id := range m.all() {
		got[a] = id
	}
	if diff := cmp.Diff(model, got); diff != "" {
		t.Errorf("all() (-want +got):\n%s", diff)
	}
}
