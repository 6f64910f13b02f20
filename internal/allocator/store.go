package allocator

import (
	"encoding/binary"
	"hash/maphash"
	"iter"
	"math/bits"
	"net/netip"
	"slices"
)

// The structures with one entry per Service or per held address are laid out for the garbage
// collector and the cache as much as for lookups. With millions of Services, a plain layout (an
// object per assignment, map[string]*assignment, map[netip.Addr]*assignment) spent most of its
// time scanning millions of small objects and pointer-holding map slots on every GC cycle, and
// the rest on a cache miss per map operation: filling an IPv4 /8 to 99% took 2.5 minutes and
// 3.8 GiB. Here, assignments live in fixed-size chunks (one object per 4096 Services; pointers
// into them stay valid), the key index holds no pointers at all, and the address index has one
// entry per 64 consecutive addresses, so the cursor's consecutive allocations share one.

const chunkBits = 12

// assignments is a slab of assignment records, addressed by a dense id.
type assignments struct {
	chunks [][]assignment
	free   []int32 // ids of released records, reused first
	next   int32   // ids below next have been handed out
}

func (s *assignments) at(id int32) *assignment {
	return &s.chunks[id>>chunkBits][id&(1<<chunkBits-1)]
}

func (s *assignments) alloc() *assignment {
	var id int32
	if n := len(s.free); n > 0 {
		id = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		id = s.next
		s.next++
		if int(id>>chunkBits) == len(s.chunks) {
			s.chunks = append(s.chunks, make([]assignment, 1<<chunkBits))
		}
	}
	a := s.at(id)
	a.id = id
	return a
}

// release zeroes a record, so that it keeps no key or sharing terms alive, and recycles its id.
func (s *assignments) release(a *assignment) {
	id := a.id
	*a = assignment{}
	s.free = append(s.free, id)
}

// addrMap maps held addresses to an assignment id. It is split by family so that its keys are
// plain numbers, never a pointer (a netip.Addr holds one). IPv4-mapped IPv6 addresses are IPv6
// here, as they are to netip, so they never collide with their IPv4 forms.
//
// Each family groups addresses in aligned blocks of 64: a bitmap of the held ones and their ids
// in address order. The cursor hands out consecutive addresses, so one block and its map entry
// serve 64 allocations, and the last block used is kept at hand; a plain map probes a random
// place in a table of millions for every address. A block holding n addresses costs about
// 56+4n bytes: 5 bytes an address when full, 60 when alone in its block.
type addrMap struct {
	v4 blockMap[uint32]
	v6 blockMap[[16]byte]
}

const blockBits = 6

type addrBlock struct {
	held uint64  // bit i: address i of the block is held
	ids  []int32 // ids of the held addresses, in address order
}

// index returns where bit's id is, or would be, in ids.
func (b *addrBlock) index(bit uint) int { return bits.OnesCount64(b.held & (1<<bit - 1)) }

type blockMap[K comparable] struct {
	blocks  map[K]*addrBlock
	lastKey K
	last    *addrBlock // blocks[lastKey], or nil
}

func (m *blockMap[K]) block(k K) *addrBlock {
	if m.last != nil && m.lastKey == k {
		return m.last
	}
	b := m.blocks[k]
	if b != nil {
		m.lastKey, m.last = k, b
	}
	return b
}

func (m *blockMap[K]) get(k K, bit uint) (int32, bool) {
	b := m.block(k)
	if b == nil || b.held&(1<<bit) == 0 {
		return 0, false
	}
	return b.ids[b.index(bit)], true
}

func (m *blockMap[K]) set(k K, bit uint, id int32) {
	b := m.block(k)
	if b == nil {
		b = &addrBlock{}
		if m.blocks == nil {
			m.blocks = map[K]*addrBlock{}
		}
		m.blocks[k] = b
		m.lastKey, m.last = k, b
	}
	i := b.index(bit)
	if b.held&(1<<bit) != 0 {
		b.ids[i] = id
		return
	}
	b.held |= 1 << bit
	b.ids = slices.Insert(b.ids, i, id)
}

func (m *blockMap[K]) delete(k K, bit uint) {
	b := m.block(k)
	if b == nil || b.held&(1<<bit) == 0 {
		return
	}
	b.ids = slices.Delete(b.ids, b.index(bit), b.index(bit)+1)
	b.held &^= 1 << bit
	if b.held == 0 {
		delete(m.blocks, k)
		m.last = nil
	}
}

func (m *blockMap[K]) all(yield func(k K, bit uint, id int32) bool) bool {
	for k, b := range m.blocks {
		i := 0
		for held := b.held; held != 0; held &= held - 1 {
			if !yield(k, uint(bits.TrailingZeros64(held)), b.ids[i]) {
				return false
			}
			i++
		}
	}
	return true
}

func splitV4(a netip.Addr) (uint32, uint) {
	b := a.As4()
	n := binary.BigEndian.Uint32(b[:])
	return n >> blockBits, uint(n & (1<<blockBits - 1))
}

func splitV6(a netip.Addr) ([16]byte, uint) {
	b := a.As16()
	bit := uint(b[15] & (1<<blockBits - 1))
	b[15] &^= 1<<blockBits - 1
	return b, bit
}

func (m *addrMap) get(a netip.Addr) (int32, bool) {
	if a.Is4() {
		k, bit := splitV4(a)
		return m.v4.get(k, bit)
	}
	k, bit := splitV6(a)
	return m.v6.get(k, bit)
}

func (m *addrMap) has(a netip.Addr) bool {
	_, ok := m.get(a)
	return ok
}

func (m *addrMap) set(a netip.Addr, id int32) {
	if a.Is4() {
		k, bit := splitV4(a)
		m.v4.set(k, bit, id)
		return
	}
	k, bit := splitV6(a)
	m.v6.set(k, bit, id)
}

func (m *addrMap) delete(a netip.Addr) {
	if a.Is4() {
		k, bit := splitV4(a)
		m.v4.delete(k, bit)
		return
	}
	k, bit := splitV6(a)
	m.v6.delete(k, bit)
}

// all yields every entry, in no particular order.
func (m *addrMap) all() iter.Seq2[netip.Addr, int32] {
	return func(yield func(netip.Addr, int32) bool) {
		if !m.v4.all(func(k uint32, bit uint, id int32) bool {
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], k<<blockBits|uint32(bit))
			return yield(netip.AddrFrom4(b), id)
		}) {
			return
		}
		m.v6.all(func(k [16]byte, bit uint, id int32) bool {
			k[15] |= byte(bit)
			return yield(netip.AddrFrom16(k), id)
		})
	}
}

// live yields every record in use.
func (s *assignments) live() iter.Seq[*assignment] {
	return func(yield func(*assignment) bool) {
		for id := range s.next {
			if a := s.at(id); a.key != "" && !yield(a) {
				return
			}
		}
	}
}

// keyIndex maps Service keys to assignment ids through a 64-bit hash of the key, in a map that
// holds no pointers; a string-keyed map costs three times as much per entry to fill and is
// scanned by every GC cycle. The record itself has the key, so a hash hit is confirmed by one
// comparison; the rare key whose hash another key already has goes to a small overflow map.
type keyIndex struct {
	hash     func(string) uint64
	byHash   map[uint64]int32
	overflow map[string]int32
}

func newKeyIndex() keyIndex {
	seed := maphash.MakeSeed()
	return keyIndex{
		hash:     func(key string) uint64 { return maphash.String(seed, key) },
		byHash:   map[uint64]int32{},
		overflow: map[string]int32{},
	}
}

func (k *keyIndex) get(key string, slab *assignments) (*assignment, bool) {
	if id, ok := k.byHash[k.hash(key)]; ok {
		if a := slab.at(id); a.key == key {
			return a, true
		}
	}
	if len(k.overflow) > 0 {
		if id, ok := k.overflow[key]; ok {
			return slab.at(id), true
		}
	}
	return nil, false
}

// set adds key, which must not be in the index.
func (k *keyIndex) set(key string, id int32) {
	h := k.hash(key)
	if _, taken := k.byHash[h]; taken {
		k.overflow[key] = id
		return
	}
	k.byHash[h] = id
}

// delete removes key, whose record must still hold it.
func (k *keyIndex) delete(key string, slab *assignments) {
	h := k.hash(key)
	if id, ok := k.byHash[h]; ok && slab.at(id).key == key {
		delete(k.byHash, h)
		return
	}
	delete(k.overflow, key)
}

func (k *keyIndex) len() int { return len(k.byHash) + len(k.overflow) }
