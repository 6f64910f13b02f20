package layer2

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"
)

// fakeFrames is an in-memory net.PacketConn of Ethernet frames.
type fakeFrames struct {
	in      chan []byte
	mu      sync.Mutex
	out     [][]byte
	closed  chan struct{}
	closeMu sync.Once
}

func newFakeFrames() *fakeFrames {
	return &fakeFrames{in: make(chan []byte, 16), closed: make(chan struct{})}
}

func (f *fakeFrames) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case p := <-f.in:
		return copy(b, p), nil, nil
	case <-f.closed:
		return 0, nil, net.ErrClosed
	}
}

func (f *fakeFrames) WriteTo(b []byte, _ net.Addr) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.out = append(f.out, append([]byte(nil), b...))
	return len(b), nil
}

func (f *fakeFrames) written() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.out...)
}

func (f *fakeFrames) Close() error {
	f.closeMu.Do(func() { close(f.closed) })
	return nil
}

func (f *fakeFrames) LocalAddr() net.Addr              { return nil }
func (f *fakeFrames) SetDeadline(time.Time) error      { return nil }
func (f *fakeFrames) SetReadDeadline(time.Time) error  { return nil }
func (f *fakeFrames) SetWriteDeadline(time.Time) error { return nil }

// sentMessage is one message written to a fakeNDP.
type sentMessage struct {
	msg ndp.Message
	src netip.Addr // from the control message; invalid when the socket's own address is used
	dst netip.Addr
}

type received struct {
	b   []byte
	cm  *ipv6.ControlMessage
	src netip.Addr
}

// fakeNDP is an in-memory ndpConn.
type fakeNDP struct {
	in      chan received
	mu      sync.Mutex
	out     []sentMessage
	groups  map[netip.Addr]bool
	closed  chan struct{}
	closeMu sync.Once
}

func newFakeNDP() *fakeNDP {
	return &fakeNDP{in: make(chan received, 16), groups: map[netip.Addr]bool{}, closed: make(chan struct{})}
}

func (f *fakeNDP) ReadRaw(b []byte) (int, *ipv6.ControlMessage, netip.Addr, error) {
	select {
	case r := <-f.in:
		return copy(b, r.b), r.cm, r.src, nil
	case <-f.closed:
		return 0, nil, netip.Addr{}, net.ErrClosed
	}
}

func (f *fakeNDP) WriteTo(m ndp.Message, cm *ipv6.ControlMessage, dst netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var src netip.Addr
	if cm != nil {
		src, _ = netip.AddrFromSlice(cm.Src)
	}
	f.out = append(f.out, sentMessage{m, src, dst})
	return nil
}

func (f *fakeNDP) JoinGroup(g netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups[g] = true
	return nil
}

func (f *fakeNDP) LeaveGroup(g netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.groups, g)
	return nil
}

func (f *fakeNDP) Close() error {
	f.closeMu.Do(func() { close(f.closed) })
	return nil
}

func (f *fakeNDP) written() []sentMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sentMessage(nil), f.out...)
}

func (f *fakeNDP) joined() map[netip.Addr]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[netip.Addr]bool{}
	for g := range f.groups {
		out[g] = true
	}
	return out
}

// fakeOpener hands out one fake connection pair per interface.
type fakeOpener struct {
	mu     sync.Mutex
	macs   map[string]net.HardwareAddr
	frames map[string]*fakeFrames
	ndps   map[string]*fakeNDP
}

func newFakeOpener(macs map[string]net.HardwareAddr) *fakeOpener {
	return &fakeOpener{macs: macs, frames: map[string]*fakeFrames{}, ndps: map[string]*fakeNDP{}}
}

func (o *fakeOpener) mac(ifname string) (net.HardwareAddr, error) {
	if m, ok := o.macs[ifname]; ok {
		return m, nil
	}
	return nil, &net.OpError{Op: "route", Err: net.UnknownNetworkError("no such interface " + ifname)}
}

func (o *fakeOpener) arp(ifname string) (net.PacketConn, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	f := newFakeFrames()
	o.frames[ifname] = f
	return f, nil
}

func (o *fakeOpener) ndp(ifname string) (ndpConn, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	f := newFakeNDP()
	o.ndps[ifname] = f
	return f, nil
}

func (o *fakeOpener) framesOf(ifname string) *fakeFrames {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.frames[ifname]
}

func (o *fakeOpener) ndpOf(ifname string) *fakeNDP {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ndps[ifname]
}
