package membership

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Every member of these tests gets its own loopback address, 127.77.x.y, on testPort, so that
// addresses are known before a member starts (peers can be listed in any order) and a member
// restarted on its old address takes exactly its old place. Linux routes all of 127.0.0.0/8 to
// lo without configuration.
const testPort = 17946

var lastHost atomic.Uint32

// nextAddr returns a loopback address no other member of this test binary has used.
func nextAddr() string {
	n := lastHost.Add(1)
	return netip.AddrFrom4([4]byte{127, 77, byte(n >> 8), byte(n)}).String()
}

// logs collects a member's log records as JSON lines, and passes them to stderr with -v.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if testing.Verbose() {
		os.Stderr.Write(p)
	}
	return l.buf.Write(p)
}

// contains reports whether a line holds every one of parts.
func (l *logs) contains(parts ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for line := range strings.Lines(l.buf.String()) {
		if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(line, p) }) {
			return true
		}
	}
	return false
}

// node is a member under test, with what it logged.
type node struct {
	*Member
	name, addr string
	logs       *logs
	cancel     context.CancelFunc
}

// newNode builds a member named name on a fresh address (or cfg.BindAddr if set) and starts it.
// edit, if not nil, changes the config first. The member is closed when the test ends.
func newNode(t testing.TB, name string, peers []string, edit func(*Config)) *node {
	t.Helper()
	n := buildNode(t, name, "", peers, edit)
	n.start(t)
	return n
}

// buildNode builds a member without starting it; addr "" picks a fresh address.
func buildNode(t testing.TB, name, addr string, peers []string, edit func(*Config)) *node {
	t.Helper()
	if addr == "" {
		addr = nextAddr()
	}
	l := &logs{}
	cfg := Config{
		NodeName: name,
		BindAddr: addr,
		BindPort: testPort,
		Peers:    peers,
		Logger:   slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", name),
	}
	if edit != nil {
		edit(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", name, err)
	}
	t.Cleanup(func() { m.Close() })
	return &node{Member: m, name: name, addr: join(addr), logs: l}
}

func (n *node) start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	t.Cleanup(cancel)
	if err := n.Start(ctx); err != nil {
		t.Fatalf("Start(%s): %v", n.name, err)
	}
}

func join(addr string) string { return fmt.Sprintf("%s:%d", addr, testPort) }

// addrsOf returns the gossip addresses of nodes.
func addrsOf(nodes ...*node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.addr)
	}
	return out
}

// namesOf returns the sorted names of nodes.
func namesOf(nodes ...*node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.name)
	}
	slices.Sort(out)
	return out
}

// newCluster starts size members named prefix-0... that all list all of them as peers, and
// waits until each sees all.
func newCluster(t testing.TB, prefix string, size int, edit func(*Config)) []*node {
	t.Helper()
	addrs := make([]string, size)
	for i := range addrs {
		addrs[i] = nextAddr()
	}
	peers := make([]string, size)
	for i, a := range addrs {
		peers[i] = join(a)
	}
	nodes := make([]*node, size)
	for i := range nodes {
		nodes[i] = buildNode(t, fmt.Sprintf("%s-%d", prefix, i), addrs[i], peers, edit)
		nodes[i].start(t)
	}
	waitLive(t, 10*time.Second, namesOf(nodes...), nodes...)
	return nodes
}

// waitLive polls until every one of nodes has live set want, and fails the test at the deadline.
func waitLive(t testing.TB, timeout time.Duration, want []string, nodes ...*node) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		pending := ""
		for _, n := range nodes {
			if got := n.Live(); !slices.Equal(got, want) {
				pending = fmt.Sprintf("%s sees %v", n.name, got)
				break
			}
		}
		if pending == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s, want %v", timeout, pending, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitGone polls until none of nodes sees name live, and returns how long after since that
// happened for the first and for the last of them.
func waitGone(t testing.TB, timeout time.Duration, since time.Time, name string, nodes ...*node) (first, last time.Duration) {
	t.Helper()
	deadline := since.Add(timeout)
	seen := make([]bool, len(nodes))
	left := len(nodes)
	for left > 0 {
		for i, n := range nodes {
			if !seen[i] && !slices.Contains(n.Live(), name) {
				seen[i] = true
				left--
				d := time.Since(since)
				if first == 0 {
					first = d
				}
				last = d
			}
		}
		if left > 0 && time.Now().After(deadline) {
			t.Fatalf("after %s, %d of %d members still see %s live", timeout, left, len(nodes), name)
		}
		time.Sleep(time.Millisecond)
	}
	return first, last
}

func without(nodes []*node, gone *node) []*node {
	return slices.DeleteFunc(slices.Clone(nodes), func(n *node) bool { return n == gone })
}
