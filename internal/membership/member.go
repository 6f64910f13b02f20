package membership

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// ErrStarted is returned by Start on a Member that was started or closed before: a Member runs
// once, and a restart is a new Member.
var ErrStarted = errors.New("membership: member already started or closed")

// phase is where a Member is in its life.
type phase int

const (
	idle    phase = iota // built, not started
	running              // gossiping
	left                 // left the cluster, still sending until stopped
	stopped              // shut down; terminal
)

// Member is this speaker in the gossip cluster. See the package documentation for its concurrency
// contract.
type Member struct {
	cfg     Config
	log     *slog.Logger
	events  *events
	changed chan struct{}
	done    chan struct{}

	// life serialises the transitions (Start, Leave, Close, the stop when ctx ends). It is held
	// across memberlist's Leave and Shutdown, which may block; readers use mu instead.
	life   sync.Mutex
	cancel context.CancelFunc

	mu    sync.RWMutex
	phase phase
	list  *memberlist.Memberlist
	addr  netip.AddrPort
}

// New validates cfg and returns a Member that has started nothing.
func New(cfg Config) (*Member, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	changed := make(chan struct{}, 1)
	return &Member{
		cfg:     cfg,
		log:     cfg.Logger,
		events:  newEvents(changed),
		changed: changed,
		done:    make(chan struct{}),
	}, nil
}

// Start binds the gossip listeners and returns; in the background it joins the peers, and when
// ctx ends it leaves the cluster gracefully and shuts down. The errors it returns are those of
// binding; join failures are logged and retried.
func (m *Member) Start(ctx context.Context) error {
	m.life.Lock()
	defer m.life.Unlock()
	if m.getPhase() != idle {
		return ErrStarted
	}
	list, err := memberlist.Create(m.memberlistConfig())
	if err != nil {
		return fmt.Errorf("membership: start node %q on %s: %w", m.cfg.NodeName,
			net.JoinHostPort(m.bindAddr(), strconv.Itoa(m.cfg.BindPort)), err)
	}
	self := list.LocalNode()
	addr, _ := netip.AddrFromSlice(self.Addr)
	ctx, cancel := context.WithCancel(ctx)
	m.cancel = cancel

	m.mu.Lock()
	m.phase, m.list, m.addr = running, list, netip.AddrPortFrom(addr.Unmap(), self.Port)
	m.mu.Unlock()

	m.log.Info("gossip started", "node", m.cfg.NodeName, "addr", m.Addr(), "config", m.cfg)
	go m.run(ctx, list)
	return nil
}

// run joins peers while ctx lives, then stops the member.
func (m *Member) run(ctx context.Context, list *memberlist.Memberlist) {
	defer close(m.done)
	joinerDone := make(chan struct{})
	go func() {
		defer close(joinerDone)
		m.joinPeers(ctx, list)
	}()
	<-ctx.Done()
	m.stop()
	<-joinerDone
}

// stop leaves gracefully if the member has not left yet, then shuts it down.
func (m *Member) stop() {
	m.life.Lock()
	defer m.life.Unlock()
	switch m.getPhase() {
	case running:
		if err := m.list.Leave(m.cfg.LeaveTimeout); err != nil {
			m.log.Warn("leaving the cluster was not confirmed; peers will detect the failure instead",
				"node", m.cfg.NodeName, "error", err)
		}
	case left:
	default:
		return
	}
	m.shutdown()
	m.log.Info("left the cluster and stopped gossip", "node", m.cfg.NodeName)
}

// shutdown stops memberlist. The caller holds life.
func (m *Member) shutdown() {
	if err := m.list.Shutdown(); err != nil {
		m.log.Warn("shutting down memberlist", "node", m.cfg.NodeName, "error", err)
	}
	m.setPhase(stopped)
	signal(m.changed)
}

// Leave tells the cluster that this node is going away, for a handover before the process exits:
// it waits until the departure has been sent to a peer, or for timeout (LeaveTimeout if not
// positive). From then on Live no longer holds this node, and peers drop it as soon as the news
// reaches them. Leave is final: the Member keeps its sockets until ctx ends or Close, but never
// joins again. Leave does nothing on a Member that is not running.
func (m *Member) Leave(timeout time.Duration) error {
	if timeout <= 0 {
		timeout = m.cfg.LeaveTimeout
	}
	m.life.Lock()
	defer m.life.Unlock()
	if m.getPhase() != running {
		return nil
	}
	err := m.list.Leave(timeout)
	m.setPhase(left)
	signal(m.changed)
	if err != nil {
		return fmt.Errorf("membership: leave as node %q: %w", m.cfg.NodeName, err)
	}
	m.log.Info("left the cluster", "node", m.cfg.NodeName)
	return nil
}

// Close stops the Member at once, without telling peers: they detect the failure. It waits for
// the Member's goroutines and is idempotent. Prefer ending the context given to Start, which
// leaves gracefully.
func (m *Member) Close() error {
	m.life.Lock()
	switch m.getPhase() {
	case idle:
		m.setPhase(stopped)
		close(m.done)
	case running, left:
		m.shutdown()
		m.log.Info("stopped gossip without leaving", "node", m.cfg.NodeName)
	}
	cancel := m.cancel
	m.life.Unlock()
	if cancel != nil {
		cancel()
	}
	<-m.done
	return nil
}

// Done is closed once the Member has stopped: after the context given to Start ended and the
// member left, or after Close.
func (m *Member) Done() <-chan struct{} { return m.done }

// Live returns the sorted names of the live members, this node included while it has not left.
// Before Start it is this node alone; once stopped it is empty.
func (m *Member) Live() []string {
	switch m.getPhase() {
	case idle:
		return []string{m.cfg.NodeName}
	case stopped:
		return nil
	}
	return m.events.names()
}

// Changed signals after Live may have changed; see Membership.
func (m *Member) Changed() <-chan struct{} { return m.changed }

// Addr returns the address and port peers reach this member at, once started; the zero value
// before.
func (m *Member) Addr() netip.AddrPort {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.addr
}

func (m *Member) getPhase() phase {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.phase
}

func (m *Member) setPhase(p phase) {
	m.mu.Lock()
	m.phase = p
	m.mu.Unlock()
}

func (m *Member) bindAddr() string {
	if m.cfg.BindAddr == "" {
		return "0.0.0.0"
	}
	return m.cfg.BindAddr
}

// memberlistConfig translates the Config.
func (m *Member) memberlistConfig() *memberlist.Config {
	c := memberlist.DefaultLANConfig()
	c.Name = m.cfg.NodeName
	c.BindAddr = m.bindAddr()
	c.BindPort = m.cfg.BindPort
	c.AdvertiseAddr = m.cfg.AdvertiseAddr
	c.AdvertisePort = m.cfg.BindPort
	if len(m.cfg.SecretKey) > 0 {
		c.SecretKey = slices.Clone(m.cfg.SecretKey)
	}
	c.ProbeInterval = m.cfg.ProbeInterval
	c.ProbeTimeout = m.cfg.ProbeTimeout
	c.SuspicionMult = m.cfg.SuspicionMult
	c.IndirectChecks = m.cfg.IndirectChecks
	c.GossipInterval = m.cfg.GossipInterval
	c.PushPullInterval = m.cfg.PushPullInterval
	c.TCPTimeout = m.cfg.TCPTimeout
	c.Events = m.events
	c.Delegate = metaDelegate(slices.Clone(m.cfg.Meta))
	c.Logger = newStdLogger(m.log)
	return c
}

// events is memberlist's event delegate. memberlist calls it with its node lock held, one call at
// a time: it records the member's address under its own short lock, signals, and returns.
type events struct {
	changed chan<- struct{}

	mu    sync.Mutex
	addrs map[string]netip.AddrPort // live members by name
	meta  map[string][]byte         // their metadata
}

func newEvents(changed chan<- struct{}) *events {
	return &events{changed: changed, addrs: map[string]netip.AddrPort{}, meta: map[string][]byte{}}
}

// metaDelegate gives memberlist this member's metadata; it carries no messages or state.
type metaDelegate []byte

func (d metaDelegate) NodeMeta(limit int) []byte {
	if len(d) > limit {
		return nil
	}
	return d
}
func (metaDelegate) NotifyMsg([]byte)                           {}
func (metaDelegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (metaDelegate) LocalState(join bool) []byte                { return nil }
func (metaDelegate) MergeRemoteState(buf []byte, join bool)     {}

// Meta returns the metadata of every live member, this one included, by name.
func (m *Member) Meta() map[string][]byte {
	m.events.mu.Lock()
	defer m.events.mu.Unlock()
	out := make(map[string][]byte, len(m.events.meta))
	for name, meta := range m.events.meta {
		out[name] = slices.Clone(meta)
	}
	return out
}

func nodeAddr(n *memberlist.Node) netip.AddrPort {
	a, _ := netip.AddrFromSlice(n.Addr)
	return netip.AddrPortFrom(a.Unmap(), n.Port)
}

// NotifyJoin implements memberlist.EventDelegate.
func (e *events) NotifyJoin(n *memberlist.Node) {
	e.mu.Lock()
	_, known := e.addrs[n.Name]
	e.addrs[n.Name] = nodeAddr(n)
	e.meta[n.Name] = slices.Clone(n.Meta)
	e.mu.Unlock()
	if !known {
		signal(e.changed)
	}
}

// NotifyLeave implements memberlist.EventDelegate.
func (e *events) NotifyLeave(n *memberlist.Node) {
	e.mu.Lock()
	_, known := e.addrs[n.Name]
	delete(e.addrs, n.Name)
	delete(e.meta, n.Name)
	e.mu.Unlock()
	if known {
		signal(e.changed)
	}
}

// NotifyUpdate implements memberlist.EventDelegate. An update changes no name; it signals only
// when the metadata changed.
func (e *events) NotifyUpdate(n *memberlist.Node) {
	e.mu.Lock()
	_, known := e.addrs[n.Name]
	metaChanged := known && !bytes.Equal(e.meta[n.Name], n.Meta)
	if known {
		e.addrs[n.Name] = nodeAddr(n)
		e.meta[n.Name] = slices.Clone(n.Meta)
	}
	e.mu.Unlock()
	if metaChanged {
		signal(e.changed)
	}
}

// names returns the sorted names of the live members.
func (e *events) names() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	names := make([]string, 0, len(e.addrs))
	for n := range e.addrs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// liveAddrs returns the addresses of the live members.
func (e *events) liveAddrs() map[netip.AddrPort]bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	live := make(map[netip.AddrPort]bool, len(e.addrs))
	for _, a := range e.addrs {
		live[a] = true
	}
	return live
}
