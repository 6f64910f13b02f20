package layer2

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
	"github.com/prometheus/client_golang/prometheus"
)

// Config tunes a Speaker.
type Config struct {
	// Logger receives what the speaker does; nil discards.
	Logger *slog.Logger
	// Registerer receives the counters; nil keeps them unregistered.
	Registerer prometheus.Registerer
	// Announcements is how many gratuitous announcements are sent when an address is taken
	// over (default 5), AnnounceInterval the pause between them (default 250ms): the first
	// goes out at once, the repeats cover a lost frame and switches that learn slowly.
	Announcements    int
	AnnounceInterval time.Duration

	// open opens an interface's sockets; tests replace it with in-memory connections.
	open opener
}

// opener opens the link-layer and NDP sockets of an interface, each only when asked for.
type opener interface {
	mac(ifname string) (net.HardwareAddr, error)
	arp(ifname string) (net.PacketConn, error)
	ndp(ifname string) (ndpConn, error)
}

// Speaker serves the addresses this node owns on each interface. See the package doc for its
// concurrency contract.
type Speaker struct {
	cfg Config
	log *slog.Logger
	m   *metrics

	mu     sync.Mutex
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	ifaces map[string]*iface
	closed bool
	// yielding is set while the speaker hands over: it answers for an address only until
	// another node announces it.
	yielding atomic.Bool
}

// iface is what the Speaker serves on one interface.
type iface struct {
	name  string
	mac   net.HardwareAddr
	owned *ownedSet
	arp   *arpResponder
	ndp   *ndpResponder
	// announcing cancels the gratuitous announcements of an address in progress.
	announcing map[netip.Addr]context.CancelFunc
	addrs      map[netip.Addr]bool
}

// ownedSet is an immutable set of addresses swapped atomically, read by responders per frame.
type ownedSet struct {
	p atomic.Pointer[map[netip.Addr]struct{}]
}

func (o *ownedSet) has(a netip.Addr) bool {
	m := o.p.Load()
	if m == nil {
		return false
	}
	_, ok := (*m)[a]
	return ok
}

// drop removes one address, for a responder that yields it to another node.
func (o *ownedSet) drop(a netip.Addr) bool {
	for {
		old := o.p.Load()
		if old == nil {
			return false
		}
		if _, ok := (*old)[a]; !ok {
			return false
		}
		m := make(map[netip.Addr]struct{}, len(*old))
		for k := range *old {
			if k != a {
				m[k] = struct{}{}
			}
		}
		if o.p.CompareAndSwap(old, &m) {
			return true
		}
	}
}

func (o *ownedSet) store(addrs map[netip.Addr]bool) {
	m := make(map[netip.Addr]struct{}, len(addrs))
	for a := range addrs {
		m[a] = struct{}{}
	}
	o.p.Store(&m)
}

// New returns a Speaker; it opens nothing and starts nothing.
func New(cfg Config) *Speaker {
	if cfg.Announcements <= 0 {
		cfg.Announcements = 5
	}
	if cfg.AnnounceInterval <= 0 {
		cfg.AnnounceInterval = 250 * time.Millisecond
	}
	if cfg.open == nil {
		cfg.open = systemOpener{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Speaker{cfg: cfg, log: log, m: newMetrics(cfg.Registerer), ifaces: map[string]*iface{}}
}

// Start records the context the responders run under. Set before Start fails.
func (s *Speaker) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil && !s.closed {
		s.ctx, s.cancel = context.WithCancel(ctx)
	}
}

// ErrNotStarted is returned by Set before Start or after Close.
var ErrNotStarted = errors.New("layer2 speaker not started")

// Set makes the Speaker answer for exactly the given addresses on the given interfaces
// (interface name -> addresses). Addresses it stops owning are no longer answered from the
// moment Set returns; new ones are announced at once and a few times more. An interface that
// cannot be opened is reported in the returned error and the others are served regardless.
func (s *Speaker) Set(desired map[string][]netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil || s.closed {
		return ErrNotStarted
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(s.ifaces)) {
		if len(desired[name]) == 0 {
			s.dropInterface(s.ifaces[name])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(desired)) {
		if len(desired[name]) == 0 {
			continue
		}
		if err := s.setInterface(name, desired[name]); err != nil {
			errs = append(errs, fmt.Errorf("interface %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Speaker) setInterface(name string, addrs []netip.Addr) error {
	ifc := s.ifaces[name]
	if ifc == nil {
		mac, err := s.cfg.open.mac(name)
		if err != nil {
			return err
		}
		ifc = &iface{name: name, mac: mac, owned: &ownedSet{}, announcing: map[netip.Addr]context.CancelFunc{}, addrs: map[netip.Addr]bool{}}
		s.ifaces[name] = ifc
	}
	want := map[netip.Addr]bool{}
	var errs []error
	for _, a := range addrs {
		a = a.Unmap()
		if err := s.ensureResponder(ifc, a.Is4()); err != nil {
			errs = append(errs, err)
			continue
		}
		want[a] = true
	}
	// Stop answering for what goes away first, then add: the owned set is swapped once.
	for a := range ifc.addrs {
		if !want[a] {
			s.removeAddr(ifc, a)
		}
	}
	var added []netip.Addr
	for a := range want {
		if !ifc.addrs[a] {
			if a.Is6() {
				if err := ifc.ndp.join(a); err != nil {
					errs = append(errs, fmt.Errorf("join the solicited-node group of %s: %w", a, err))
					continue
				}
			}
			ifc.addrs[a] = true
			added = append(added, a)
		}
	}
	ifc.owned.store(ifc.addrs)
	for _, a := range added {
		s.log.Info("announcing address", "address", a.String(), "interface", name)
		s.startAnnouncing(ifc, a)
	}
	if len(ifc.addrs) == 0 {
		s.dropInterface(ifc)
	}
	return errors.Join(errs...)
}

// ensureResponder opens the ARP or NDP socket of the interface on first use.
func (s *Speaker) ensureResponder(ifc *iface, v4 bool) error {
	if v4 && ifc.arp == nil {
		conn, err := s.cfg.open.arp(ifc.name)
		if err != nil {
			return fmt.Errorf("open ARP socket: %w", err)
		}
		ifc.arp = &arpResponder{ifname: ifc.name, mac: ifc.mac, conn: conn, owned: ifc.owned, m: s.m, yielding: &s.yielding, log: s.log}
		s.goServe(ifc.arp.serve)
	}
	if !v4 && ifc.ndp == nil {
		conn, err := s.cfg.open.ndp(ifc.name)
		if err != nil {
			return fmt.Errorf("open NDP socket: %w", err)
		}
		ifc.ndp = &ndpResponder{ifname: ifc.name, mac: ifc.mac, conn: conn, owned: ifc.owned, m: s.m, groups: map[netip.Addr]int{}, yielding: &s.yielding, log: s.log}
		s.goServe(ifc.ndp.serve)
	}
	return nil
}

func (s *Speaker) goServe(serve func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		serve()
	}()
}

func (s *Speaker) removeAddr(ifc *iface, a netip.Addr) {
	if cancel := ifc.announcing[a]; cancel != nil {
		cancel()
		delete(ifc.announcing, a)
	}
	if a.Is6() && ifc.ndp != nil {
		ifc.ndp.leave(a)
	}
	delete(ifc.addrs, a)
	s.m.forget(a, ifc.name)
	s.log.Info("stopped announcing address", "address", a.String(), "interface", ifc.name)
}

// startAnnouncing sends the gratuitous announcements of a new address on its own goroutine.
func (s *Speaker) startAnnouncing(ifc *iface, a netip.Addr) {
	ctx, cancel := context.WithCancel(s.ctx)
	ifc.announcing[a] = cancel
	announce := func() error { return ifc.arp.announce(a) }
	if a.Is6() {
		announce = func() error { return ifc.ndp.announce(a) }
	}
	n, every := s.cfg.Announcements, s.cfg.AnnounceInterval
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for i := 0; ; i++ {
			if err := announce(); err != nil {
				s.log.Warn("gratuitous announcement failed", "address", a.String(), "interface", ifc.name, "error", err.Error())
			}
			if i+1 >= n {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

func (s *Speaker) dropInterface(ifc *iface) {
	for a := range ifc.addrs {
		s.removeAddr(ifc, a)
	}
	ifc.owned.store(nil)
	if ifc.arp != nil {
		_ = ifc.arp.conn.Close()
	}
	if ifc.ndp != nil {
		_ = ifc.ndp.conn.Close()
	}
	delete(s.ifaces, ifc.name)
}

// Yield makes the speaker hand over: from now on it stops answering for an address as soon as
// it sees another node announce it (a gratuitous ARP or an unsolicited neighbor advertisement
// from another link-layer address), so clients that ask during the hand-over cannot learn the
// leaving node again. It is meant for the last moments before Close.
func (s *Speaker) Yield() {
	s.yielding.Store(true)
	// A leaving node announces nothing more: gratuitous announcements still in progress (it may
	// have taken an address over a moment ago) would pull clients back to it.
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ifc := range s.ifaces {
		for a, cancel := range ifc.announcing {
			cancel()
			delete(ifc.announcing, a)
		}
	}
}

// Owned returns, per interface, the addresses currently answered for.
func (s *Speaker) Owned() map[string][]netip.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]netip.Addr{}
	for name, ifc := range s.ifaces {
		for a := range ifc.addrs {
			out[name] = append(out[name], a)
		}
		slices.SortFunc(out[name], func(x, y netip.Addr) int { return x.Compare(y) })
	}
	return out
}

// Close stops answering on every interface and waits for the responders to end.
func (s *Speaker) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, ifc := range s.ifaces {
		s.dropInterface(ifc)
	}
	if s.cancel != nil {
		s.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// systemOpener opens real sockets.
type systemOpener struct{}

func (systemOpener) mac(ifname string) (net.HardwareAddr, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, err
	}
	if len(ifi.HardwareAddr) != 6 {
		return nil, fmt.Errorf("interface has no Ethernet address (%q)", ifi.HardwareAddr)
	}
	return ifi.HardwareAddr, nil
}

func (systemOpener) arp(ifname string) (net.PacketConn, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, err
	}
	return packet.Listen(ifi, packet.Raw, int(ethernet.EtherTypeARP), nil)
}

func (systemOpener) ndp(ifname string) (ndpConn, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, err
	}
	return openNDP(ifi)
}
