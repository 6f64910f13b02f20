// Package layer2 makes Service addresses reachable on a local network segment: it answers ARP
// requests (IPv4) and NDP neighbor solicitations (IPv6) for the addresses this node owns, on the
// interfaces it is told, and announces them with gratuitous ARP and unsolicited neighbor
// advertisements when it takes them over.
//
// It owns the wire: sockets, frames, replies, announcements and their counters. It does not
// decide which addresses this node owns; the caller (the speaker's announcer) computes that and
// calls Set with the whole desired state, which the Speaker diffs against what it serves.
//
// Concurrency: New starts nothing. Start records the context every responder goroutine belongs
// to; Set and Close may be called from any goroutine; Close stops every responder and waits for
// its goroutines, and may be called more than once. A responder reads its socket on its own
// goroutine and looks up ownership in an immutable set swapped atomically by Set, so answering
// never waits for Set.
//
// Malformed frames and messages are counted and dropped; a responder never stops on bad input.
// Only a closed socket ends it.
package layer2
