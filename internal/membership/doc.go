// Package membership tells a speaker which speakers are live, and signals when that changes.
//
// It owns the speakers' gossip: a Member wraps hashicorp/memberlist (SWIM failure detection with
// the Lifeguard extensions), joins the configured peers, and leaves the cluster when its context
// ends. It does not decide anything from the live set: the announcer intersects it with the
// nodes an advertisement selects and asks package election for owners. It never calls the
// announcer either: it raises a signal on Changed, and the reconciler re-reads Live.
//
// # Live set
//
// Live returns the sorted names of the members memberlist believes alive, this node included.
// Suspect members (a probe failed, the suspicion timeout is running) are still live: a member
// leaves the set only once memberlist declares it dead or it leaves, so a refuted false alarm
// moves no address. Before Start, Live is only this node; after Leave it no longer holds this
// node, so the speaker stops answering for addresses as the others take them over; once the
// Member has stopped, Live is empty.
//
// # Without memberlist
//
// Static implements Membership with a set the caller gives, for clusters that run with
// memberlist disabled. NewStatic(self) alone makes every speaker believe it is the only one, so in
// layer 2 mode every speaker would answer for every address: a speaker without memberlist must
// feed Static.Set from another source all speakers see alike, such as the nodes whose speaker
// Pod is ready. In BGP mode every eligible node announces and the live set does not matter.
//
// # Failure detection and its defaults
//
// The target is that survivors notice a dead speaker well within one second. Every ProbeInterval
// (100 ms) a member probes one peer, going through its peers in a shuffled round. A probe without
// an ack within ProbeTimeout (50 ms) is retried through IndirectChecks (3) other members and over
// TCP until the interval ends; then the peer is suspect. It is declared dead when the suspicion
// timeout passes without a refutation: SuspicionMult (2) probe intervals, times log10 of the
// cluster size when that exceeds 10 members. The news spreads every GossipInterval (50 ms).
// With the survivors' probe rounds running independently, the dead peer is probed within about
// one interval, so detection takes about four intervals: TestFailureDetectionTime measured, for
// the last survivor to notice, a median of 0.40 s and a maximum of 0.50 s in clusters of 3,
// 0.45 s and 0.58 s in clusters of 5, and 0.43 s and 0.73 s in clusters of 10 (30 rounds each).
//
// The trade-off is false positives. A live member that answers no direct, indirect or TCP probe
// for one interval, and then cannot refute the suspicion for two more, is declared dead: its
// addresses move, and move back when it reappears. A stall of about 0.3 s does that: CPU
// throttling under a tight CPU limit, a long pause, a saturated link dropping UDP, a link flap.
// memberlist's LAN defaults (1 s interval, 500 ms timeout, multiplier 4) take several seconds to
// detect a death and tolerate stalls of seconds. SuspicionMult 2 also turns off Lifeguard's
// confirmations, which shorten a suspicion as other members confirm it and stretch it (up to 6
// times) while none do; a multiplier of 3 or more turns them on for clusters of more members than
// the multiplier. Lifeguard's local health awareness stays on: a member that finds itself slow
// probes less often rather than accusing others. On busy or lossy networks raise ProbeInterval
// and ProbeTimeout together, and SuspicionMult; detection time grows in proportion.
//
// A graceful Leave is seen faster, about 0.1 s: the leaving member gossips its departure and
// peers drop it as soon as the news arrives, with no suspicion.
//
// # Concurrency contract
//
//   - New validates and builds; it starts nothing and opens no socket.
//   - Start binds the listeners and starts memberlist's goroutines and two of its own: one joins
//     the peers, the other waits for ctx to end and then leaves gracefully (Leave with
//     LeaveTimeout) and shuts memberlist down, which stops memberlist's goroutines. Done is
//     closed once both of the Member's goroutines have returned.
//   - Joins are retried in the background while ctx lives, with backoff up to RejoinInterval, so
//     the order in which speakers start does not matter. A peer that is configured but not live
//     is joined again, which also heals a partition once the network does.
//   - memberlist calls the event delegate with its node lock held. The delegate never blocks and
//     never calls back into memberlist: it records the member's name and address under a short
//     lock of its own and signals Changed, whose channel has a buffer of one, so a burst of joins
//     and leaves becomes one signal. Readers call Live after the signal.
//   - Live, Changed and Addr are safe for concurrent use at any time. Leave and Close may be
//     called from any goroutine, in any order, any number of times.
//   - Close stops at once without telling peers, and waits for the Member's goroutines. A join in
//     progress is not interruptible, so Close and the end of ctx may wait up to TCPTimeout.
package membership
