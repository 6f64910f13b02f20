package bgp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/prometheus/client_golang/prometheus"
)

// Config tunes a Speaker.
type Config struct {
	// Logger receives what the speaker and GoBGP do; nil discards.
	Logger *slog.Logger
	// Registerer receives the session metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
	// ConnectRetry is the pause between connection attempts to a peer that is down
	// (default 5s; GoBGP's own default of 120s is too slow for a node that just booted).
	ConnectRetry time.Duration
}

// Speaker holds this node's BGP sessions. See the package doc for its concurrency contract.
type Speaker struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	ctx      context.Context
	stopCtx  context.CancelFunc
	routerID netip.Addr
	peers    map[string]*peerSession
	idle     []*gobgpServer
	closed   bool
}

// New returns a Speaker; it starts nothing.
func New(cfg Config) *Speaker {
	if cfg.ConnectRetry <= 0 {
		cfg.ConnectRetry = 5 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Speaker{cfg: cfg, log: log, peers: map[string]*peerSession{}}
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(&collector{s: s}); err != nil {
			log.Warn("bgp metrics not registered", "error", err)
		}
	}
	return s
}

// Start records the context the sessions run under; when it ends, the Speaker closes. Set
// before Start fails with ErrNotStarted.
func (s *Speaker) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx != nil || s.closed {
		return
	}
	s.ctx, s.stopCtx = context.WithCancel(ctx)
	go func() {
		<-s.ctx.Done()
		_ = s.Close()
	}()
}

// Set makes the sessions and paths match d. It validates d first and applies nothing of an
// invalid one (the error wraps ErrInvalid). It then removes the peers that went, re-creates the
// peers that changed, adds the new ones, and announces and withdraws the paths that differ from
// what it applied; an error on one peer does not stop the others, and all are returned joined.
func (s *Speaker) Set(ctx context.Context, d Desired) error {
	peers, paths, err := plan(d)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil || s.closed {
		return ErrNotStarted
	}
	var errs []error
	routerIDChanged := s.routerID != d.RouterID
	s.routerID = d.RouterID
	for _, name := range sortedKeys(s.peers) {
		if p, ok := peers[name]; ok && p == s.peers[name].peer && !routerIDChanged {
			continue
		}
		// A removed or changed peer: without graceful restart the router withdraws at once,
		// and a changed peer announces again right after.
		if err := s.removePeer(ctx, name, false); err != nil {
			errs = append(errs, err)
		}
	}
	for _, name := range sortedKeys(peers) {
		ps, ok := s.peers[name]
		if !ok {
			ps = &peerSession{gobgpServer: s.takeServer(), peer: peers[name], paths: map[netip.Prefix]attrs{}}
			if err := ps.start(ctx, d.RouterID, s.cfg.ConnectRetry, s.log); err != nil {
				s.idle = append(s.idle, ps.gobgpServer)
				errs = append(errs, err)
				continue
			}
			s.peers[name] = ps
			s.log.Info("bgp peer added", "peer", name, "address", ps.peer.Address)
		}
		errs = append(errs, s.syncPaths(ctx, ps, paths[name])...)
	}
	return errors.Join(errs...)
}

// syncPaths withdraws and announces what differs between ps's applied paths and want.
func (s *Speaker) syncPaths(ctx context.Context, ps *peerSession, want map[netip.Prefix]attrs) []error {
	var errs []error
	for pfx := range ps.paths {
		if _, ok := want[pfx]; ok {
			continue
		}
		if err := ps.withdraw(ctx, pfx); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(ps.paths, pfx)
	}
	for pfx, a := range want {
		if have, ok := ps.paths[pfx]; ok && have.equal(a) {
			continue
		}
		// AddPath of a prefix already announced replaces it: no withdraw in between.
		if err := ps.announce(ctx, pfx, a); err != nil {
			errs = append(errs, err)
			continue
		}
		ps.paths[pfx] = a
	}
	return errs
}

func (s *Speaker) takeServer() *gobgpServer {
	if n := len(s.idle); n > 0 {
		g := s.idle[n-1]
		s.idle = s.idle[:n-1]
		return g
	}
	return newGoBGPServer()
}

// removePeer stops the session of name and keeps its server for reuse.
func (s *Speaker) removePeer(ctx context.Context, name string, graceful bool) error {
	ps := s.peers[name]
	delete(s.peers, name)
	err := ps.stop(ctx, graceful && ps.peer.GracefulRestart)
	s.idle = append(s.idle, ps.gobgpServer)
	s.log.Info("bgp peer removed", "peer", name, "address", ps.peer.Address)
	return err
}

// Sessions returns the state of every configured session, sorted by peer name.
func (s *Speaker) Sessions() []SessionState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessionsLocked()
}

func (s *Speaker) sessionsLocked() []SessionState {
	out := make([]SessionState, 0, len(s.peers))
	for _, name := range sortedKeys(s.peers) {
		ps := s.peers[name]
		ss := SessionState{Peer: name, Address: ps.peer.Address, LastError: ps.log.lastError()}
		if st, ok := ps.state(context.Background()); ok {
			ss.State = toState(st.SessionState)
			if ss.State == StateEstablished && st.Timers != nil && st.Timers.State != nil && st.Timers.State.Uptime != nil {
				ss.EstablishedSince = st.Timers.State.Uptime.AsTime()
			}
			for _, as := range st.AfiSafis {
				if as.State != nil {
					ss.PrefixesSent += as.State.Advertised
					ss.PrefixesReceived += as.State.Received
				}
			}
		}
		out = append(out, ss)
	}
	return out
}

func toState(s api.PeerState_SessionState) State {
	switch s {
	case api.PeerState_CONNECT:
		return StateConnect
	case api.PeerState_ACTIVE:
		return StateActive
	case api.PeerState_OPENSENT:
		return StateOpenSent
	case api.PeerState_OPENCONFIRM:
		return StateOpenConfirm
	case api.PeerState_ESTABLISHED:
		return StateEstablished
	}
	return StateIdle
}

// Close ends every session: peers with graceful restart so that routers keep the routes for
// the restart time, the others with a NOTIFICATION so that routers withdraw at once. It may be
// called more than once; later calls return nil.
func (s *Speaker) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.stopCtx != nil {
		s.stopCtx()
	}
	var errs []error
	for _, name := range sortedKeys(s.peers) {
		if err := s.removePeer(context.Background(), name, true); err != nil {
			errs = append(errs, err)
		}
	}
	for _, g := range s.idle {
		if err := g.stop(context.Background()); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close bgp speaker: %w", err)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
