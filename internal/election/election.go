package election

// Candidate is a node that may answer for an address.
type Candidate struct {
	// Node is the node name, as every speaker knows it.
	Node string
	// Preference ranks candidates before hashing: while any candidate has a higher Preference,
	// candidates with a lower one are not considered. It is the summed weight of the preferred
	// node terms the node matches; zero when there are none.
	Preference int
}

// Owner returns the node that answers for key among candidates, and false when there is no
// candidate with a non-empty name. The result depends only on the set of candidates, not on their
// order or on duplicates.
func Owner(key string, candidates []Candidate) (node string, ok bool) {
	var (
		bestPref  int
		bestScore uint64
	)
	for _, c := range candidates {
		if c.Node == "" {
			continue
		}
		if ok && c.Preference < bestPref {
			continue
		}
		s := score(c.Node, key)
		if !ok || c.Preference > bestPref || s > bestScore || (s == bestScore && c.Node < node) {
			node, bestPref, bestScore, ok = c.Node, c.Preference, s, true
		}
	}
	return node, ok
}

// FNV-1a, 64 bit.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// score is the rendezvous weight of node for key: FNV-1a over the length of the node name (8
// bytes), the name and the key, finished by a 64-bit mixer. The length prefix makes the input
// unambiguous: ("ab", "c") and ("a", "bc") hash different bytes. FNV-1a alone spreads its last
// input bytes poorly, and keys of consecutive addresses differ only there; the mixer gives every
// input bit an even chance to flip every output bit.
func score(node, key string) uint64 {
	h := uint64(fnvOffset)
	for n, i := uint64(len(node)), 0; i < 8; i, n = i+1, n>>8 {
		h ^= n & 0xff
		h *= fnvPrime
	}
	for i := 0; i < len(node); i++ {
		h ^= uint64(node[i])
		h *= fnvPrime
	}
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= fnvPrime
	}
	return mix64(h)
}

// mix64 is the finalizer of MurmurHash3 (fmix64): a bijection on 64-bit values with full
// avalanche.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb93fe53e87ad
	h ^= h >> 33
	return h
}
