// Package election chooses, for one Service address, the node that answers ARP and NDP for it in
// layer 2 mode.
//
// It owns only that choice. It does not know which nodes are live or eligible (the caller
// intersects the membership's live set with the nodes an L2Advertisement selects, and turns
// preferred-node weights into a Preference), and it does no I/O: every speaker calls Owner with
// inputs all speakers see, and all of them agree on the answer without talking to each other.
//
// # Rules
//
// Owner uses rendezvous (highest random weight) hashing. Each candidate gets a score, a 64-bit
// hash of its node name and the key, and the highest score wins. The key names the address, not
// the Service: Services that share an address pass the same key and so get the same owner.
// Callers pass a canonical form (netip.Addr.String() of the address) so that every speaker hashes
// the same bytes.
//
//   - Preference: only candidates with the highest Preference present are considered. A node
//     listed more than once counts with its highest Preference.
//   - Ties: two different nodes with the same score (probability about 2^-64 per pair) are
//     ordered by name, the smaller name winning, so the result never depends on input order.
//   - Candidates with an empty Node are ignored; with none left Owner reports false.
//
// Because each score depends only on its own node and the key, the owner of a key changes only
// when its owner leaves or a node that outscores it joins: adding a node moves to it about
// 1/(n+1) of the keys and moves nothing else; removing a node moves only the keys it owned.
//
// # Complexity
//
// Owner is O(c·(l+k)) for c candidates with names of length l and a key of length k, that is
// O(candidates) for a key: one pass, no allocation, no sorting. It holds no state and is safe
// for concurrent use. BenchmarkOwner measures 3, 10 and 100 candidates: about 50 ns a candidate,
// so 0.2 µs, 0.5 µs and 5 µs a key.
//
// # Compatibility
//
// The score function is a contract between speakers, not an implementation detail: during a
// rolling upgrade old and new speakers must pick the same owners, or two nodes answer for one
// address. TestScoreIsStableAcrossReleases pins it; changing it needs a migration plan.
package election
