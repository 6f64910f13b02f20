// Package bgp announces this node's Service prefixes to upstream routers over BGP, with an
// embedded GoBGP v3 speaker behind a small, neutral and declarative interface.
//
// It owns the sessions and the paths: one BGP session per configured peer, the prefixes sent on
// each, their attributes (next hop, communities, local preference), graceful restart, TCP MD5,
// session state for the status objects, and the session metrics. It does not decide which
// prefixes this node announces nor to whom: the caller (the speaker's announcer) computes the
// whole desired state and calls Set, which diffs it against what was applied. It knows nothing
// of Kubernetes or CRDs; Peer, Advertisement and Desired are its own input types.
//
// # One GoBGP server per peer
//
// Every peer gets its own GoBGP BgpServer, which does not listen (ListenPort -1: only active
// connections, so it never competes for port 179 with anything else on the node) and holds
// exactly the paths meant for that peer, with that peer's attributes. This removes per-neighbor
// export policies altogether, lets each peer have its own local ASN, and makes it impossible for
// a path received from one router to be sent to another: a server has a single neighbor. Paths
// received from peers are kept in that server's RIB only; GoBGP never touches the kernel's FIB
// and nothing here installs routes. The cost is one RIB, a handful of goroutines and some memory
// per peer instead of per node, and the router ID being repeated per server; a node has a few
// peers, so this is cheap.
//
// Changing anything in a Peer re-creates that peer's session (GoBGP DeletePeer, then AddPeer)
// and so resets that session only; other sessions are not touched. Changing the router ID
// restarts every server. Changing the advertisements adds or withdraws paths on the affected
// peers only, without resetting any session. A server is started once (StartBgp) and then
// serves one peer after another: a removed peer's server keeps running with no neighbor and no
// paths until a new peer takes it. Each neighbor sets its own local ASN, so a server started
// with one peer's ASN serves a later peer of another ASN, iBGP or eBGP.
//
// One known wart of GoBGP v3.37 with several servers in a process: StartBgp writes two
// package-level route-selection variables (table.SelectionOptions, table.UseMultiplePaths) that
// every server reads during best-path selection, without synchronisation. This package never
// sets route-selection options, so every write stores the same zero values and no server ever
// reads a different value; and starting each server once limits the writes to the moments the
// number of servers grows or the router ID changes. The race detector still reports such a
// write when it overlaps another server processing an UPDATE from its router, so the
// unprivileged tests use a minimal receiver built on GoBGP's message codec instead of a second
// GoBGP server, and each privileged test speaker runs in a process of its own. A single
// BgpServer with per-neighbor export policies would avoid the race at the price of a policy
// engine to drive.
//
// # Next hop
//
// Paths carry an unspecified next hop, which GoBGP replaces with this node's address on the
// session, for eBGP and iBGP alike. A prefix of the other family than the session's (an IPv6
// prefix over an IPv4 session, Families both) needs an address of that family on this node:
// Peer.CrossFamilyNextHop, which Set requires in that case.
//
// # Graceful restart
//
// With Peer.GracefulRestart the session negotiates the graceful restart capability (RFC 4724)
// with the peer's restart time set to Peer.RestartTime, so a router acting as helper keeps the
// routes while the speaker process restarts. GoBGP v3.37 has no way to stop a session without a
// NOTIFICATION: StopBgp and DeletePeer always send Cease/Peer De-configured (mapped to Hard Reset
// when RFC 8538 is negotiated), after which the router drops the routes at once. So Close, for
// peers with graceful restart, first shuts down the session's TCP socket (FIN, no NOTIFICATION:
// the router treats it as a restart and keeps the routes as stale for the restart time) and then
// stops GoBGP, whose NOTIFICATION can no longer be sent. GoBGP does not expose its sockets: the
// socket is found on Linux through /proc/self/net/tcp{,6} (the established connection to the
// peer's address and port) and /proc/self/fd, and shut down through a duplicate descriptor whose
// inode is checked first. Elsewhere, and if the socket cannot be found, Close reports an error
// and GoBGP's NOTIFICATION goes out. Peers without graceful restart are
// stopped with the NOTIFICATION, so the router withdraws at once; a process that dies has its
// sockets closed by the kernel, which gives the same two behaviours.
//
// # Concurrency
//
// New starts nothing. Start records the context; Set, Sessions and Close may be called from any
// goroutine and are serialized on one mutex (Sessions and a metrics scrape wait for a Set in
// progress). Start's one goroutine waits for its context and then calls Close. A peer's
// session, timers and socket end when the peer goes (GoBGP DeletePeer); every GoBGP server is
// stopped (StopBgp) on Close, which also runs when the context given to Start ends. Close is
// idempotent. One exception is GoBGP's own: a BgpServer's Serve loop has no way to end in v3.37, so each
// server leaves one goroutine parked on its empty channels after Close. Servers are reused for
// new peers, so their number is the largest number of peers the Speaker has had at once.
//
// # Cost of Set
//
// Set is O(P log P + A·k + C) for P peers, A advertisements naming k peers each, and C changed
// (peer, prefix) pairs, plus sorting each merged community list. Only the changes reach GoBGP:
// one AddPath or DeletePath per changed path, one AddPeer or DeletePeer per added, removed or
// changed peer, and a StartBgp only when no stopped-peer server is free for a new peer.
//
// # Privileges
//
// Sessions use active connections from an ephemeral port, so no privilege is needed, except for
// TCP MD5 (Peer.Password), which GoBGP sets with TCP_MD5SIG and which needs CAP_NET_ADMIN on
// Linux. The socket shutdown of a graceful Close reads /proc/self, which needs none.
//
// Not supported: a dynamic (unspecified) peer ASN (GoBGP accepts it only for passive, listening
// peer groups), BFD, passive sessions, and per-peer import policies (received routes are kept in
// the peer's server only, to count them).
package bgp
