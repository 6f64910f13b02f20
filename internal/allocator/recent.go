package allocator

import "net/netip"

// keyMemory remembers the addresses of the last few released Services, so that a Service deleted
// and re-created (or whose request changed) gets its old address back if it is still free.
// It holds at most limit entries, live or stale: the oldest falls off first. A stale entry is one
// whose key was assigned again, or released again, after the entry was written.
type keyMemory struct {
	limit int
	last  map[string]remembered
	order []rememberedKey
	head  int
	seq   uint64
}

type remembered struct {
	addrs [2]netip.Addr // by family slot; invalid where the Service had no address
	seq   uint64
}

type rememberedKey struct {
	key string
	seq uint64
}

func newKeyMemory(limit int) keyMemory {
	return keyMemory{limit: limit, last: make(map[string]remembered)}
}

func (m *keyMemory) remember(key string, addrs [2]netip.Addr) {
	if m.limit <= 0 {
		return
	}
	m.seq++
	m.last[key] = remembered{addrs, m.seq}
	m.order = append(m.order, rememberedKey{key, m.seq})
	if len(m.order)-m.head <= m.limit {
		return
	}
	e := m.order[m.head]
	if r, ok := m.last[e.key]; ok && r.seq == e.seq {
		delete(m.last, e.key)
	}
	m.order[m.head] = rememberedKey{}
	m.head++
	if 2*m.head >= len(m.order) {
		n := copy(m.order, m.order[m.head:])
		clear(m.order[n:])
		m.order, m.head = m.order[:n], 0
	}
}

func (m *keyMemory) forget(key string) {
	if len(m.last) > 0 {
		delete(m.last, key)
	}
}

// lookup returns key's last addresses by family slot.
func (m *keyMemory) lookup(key string) [2]netip.Addr {
	return m.last[key].addrs
}
