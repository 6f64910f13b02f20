package membership

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/memberlist"
)

func TestNewRejectsInvalidConfig(t *testing.T) {
	secret := []byte("0123456789abcde") // 15 bytes
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no node name", Config{}, "nodeName must not be empty"},
		{"bind address is a name", Config{NodeName: "a", BindAddr: "localhost"}, `bindAddr "localhost" is not an IP address`},
		{"advertise address has a port", Config{NodeName: "a", AdvertiseAddr: "192.0.2.1:7946"}, "advertiseAddr"},
		{"IPv6 wildcard without advertise address", Config{NodeName: "a", BindAddr: "::"}, "advertiseAddr must be set when bindAddr is ::"},
		{"unspecified advertise address", Config{NodeName: "a", AdvertiseAddr: "0.0.0.0"}, "advertiseAddr 0.0.0.0 is not an address peers can reach"},
		{"port out of range", Config{NodeName: "a", BindPort: 70000}, "bindPort 70000 is not a port"},
		{"peer without port", Config{NodeName: "a", Peers: []string{"192.0.2.1:7946", "192.0.2.2"}}, `peers[1] "192.0.2.2" is not host:port`},
		{"peer with port zero", Config{NodeName: "a", Peers: []string{"192.0.2.1:0"}}, "peers[0]"},
		{"key of 15 bytes", Config{NodeName: "a", SecretKey: secret}, "secretKey is 15 bytes, want 16, 24 or 32"},
		{"timeout not below interval", Config{NodeName: "a", ProbeInterval: time.Second, ProbeTimeout: time.Second}, "probeTimeout 1s must be less than probeInterval 1s"},
		{"default timeout not below short interval", Config{NodeName: "a", ProbeInterval: DefaultProbeTimeout}, "probeTimeout " + DefaultProbeTimeout.String() + " must be less"},
		{"negative duration", Config{NodeName: "a", LeaveTimeout: -time.Second}, "leaveTimeout -1s is negative"},
		{"negative multiplier", Config{NodeName: "a", SuspicionMult: -1}, "suspicionMult -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New error = %v, want ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %q, want it to say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), string(secret)) {
				t.Errorf("New error %q shows the secret key", err)
			}
		})
	}
}

func TestNewFillsDefaultsAndCopiesSlices(t *testing.T) {
	peers := []string{"192.0.2.1:7946"}
	key := bytes.Repeat([]byte{1}, 32)
	m, err := New(Config{NodeName: "a", Peers: peers, SecretKey: key})
	if err != nil {
		t.Fatal(err)
	}
	peers[0], key[0] = "changed", 2
	c := m.memberlistConfig()
	got := []any{c.ProbeInterval, c.ProbeTimeout, c.SuspicionMult, c.IndirectChecks, c.GossipInterval, c.BindAddr, c.SecretKey[0], m.cfg.Peers[0]}
	want := []any{DefaultProbeInterval, DefaultProbeTimeout, DefaultSuspicionMult, DefaultIndirectChecks, DefaultGossipInterval, "0.0.0.0", byte(1), "192.0.2.1:7946"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("memberlist config (-want +got):\n%s", diff)
	}
}

func TestConfigLogValueHidesSecretKey(t *testing.T) {
	var buf bytes.Buffer
	key := []byte("very-secret-key-very-secret-key!")
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "config", Config{NodeName: "a", SecretKey: key})
	if strings.Contains(buf.String(), "very-secret") {
		t.Errorf("log shows the key: %s", buf.String())
	}
	if !strings.Contains(buf.String(), "config.encrypted=true") {
		t.Errorf("log does not say gossip is encrypted: %s", buf.String())
	}
}

func TestMemberBeforeStartAndAfterClose(t *testing.T) {
	m, err := New(Config{NodeName: "a", BindAddr: nextAddr(), BindPort: testPort})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a"}, m.Live()); diff != "" {
		t.Errorf("Live before Start (-want +got):\n%s", diff)
	}
	if err := m.Leave(time.Second); err != nil {
		t.Errorf("Leave before Start: %v", err)
	}
	for range 2 {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	<-m.Done()
	if got := m.Live(); len(got) != 0 {
		t.Errorf("Live after Close = %v, want none", got)
	}
	if err := m.Start(t.Context()); !errors.Is(err, ErrStarted) {
		t.Errorf("Start after Close = %v, want ErrStarted", err)
	}
}

func TestStartFailsClearlyWhenPortIsTaken(t *testing.T) {
	a := newNode(t, "a", nil, nil)
	m, err := New(Config{NodeName: "b", BindAddr: strings.TrimSuffix(a.addr, ":17946"), BindPort: testPort})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	err = m.Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), `start node "b" on `+a.addr) || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("Start on a taken port = %v, want an error naming node, address and cause", err)
	}
}

// TestMembersFormClusterWhateverTheStartOrder starts members whose peers have not started yet:
// the background joins bring them together.
func TestMembersFormClusterWhateverTheStartOrder(t *testing.T) {
	addrs := []string{nextAddr(), nextAddr(), nextAddr()}
	peers := []string{join(addrs[0]), join(addrs[1]), join(addrs[2])}
	var nodes []*node
	for i, name := range []string{"c", "b", "a"} {
		n := buildNode(t, name, addrs[2-i], peers, nil)
		n.start(t)
		nodes = append(nodes, n)
		// Let the first member's join fail before the next starts, so that retries do the work.
		if i == 0 {
			deadline := time.Now().Add(5 * time.Second)
			for !n.logs.contains("joining peers failed", "nothing listens there") {
				if time.Now().After(deadline) {
					t.Fatal("the first member never reported its failed join")
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
	}
	waitLive(t, 10*time.Second, []string{"a", "b", "c"}, nodes...)
}

func TestAbruptStopIsDetected(t *testing.T) {
	nodes := newCluster(t, "abrupt", 3, nil)
	gone := nodes[1]
	drain(nodes[0].Changed())
	start := time.Now()
	gone.Close()
	first, last := waitGone(t, 10*time.Second, start, gone.name, without(nodes, gone)...)
	t.Logf("abrupt stop: first survivor noticed after %s, last after %s", first, last)
	select {
	case <-nodes[0].Changed():
	default:
		t.Error("no Changed signal after a member died")
	}
	if got := gone.Live(); len(got) != 0 {
		t.Errorf("Live of the stopped member = %v, want none", got)
	}
}

func TestGracefulLeaveIsDetected(t *testing.T) {
	nodes := newCluster(t, "leave", 3, nil)
	gone := nodes[2]
	start := time.Now()
	if err := gone.Leave(time.Second); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	if slices.Contains(gone.Live(), gone.name) {
		t.Errorf("after Leave, the member still counts itself live: %v", gone.Live())
	}
	first, last := waitGone(t, 10*time.Second, start, gone.name, without(nodes, gone)...)
	t.Logf("graceful leave: first survivor noticed after %s, last after %s", first, last)
	if err := gone.Leave(time.Second); err != nil {
		t.Errorf("second Leave: %v", err)
	}
}

// TestContextEndLeavesGracefully ends a member's context: it leaves (not fails), shuts down and
// closes Done.
func TestContextEndLeavesGracefully(t *testing.T) {
	nodes := newCluster(t, "ctx", 3, nil)
	gone := nodes[0]
	start := time.Now()
	gone.cancel()
	select {
	case <-gone.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed 5s after the context ended")
	}
	if !gone.logs.contains("left the cluster and stopped gossip") || gone.logs.contains("leaving the cluster was not confirmed") {
		t.Error("the member did not report a confirmed graceful leave")
	}
	_, last := waitGone(t, 10*time.Second, start, gone.name, nodes[1:]...)
	t.Logf("context end: survivors dropped the member after %s", last)
}

func TestRestartedMemberWithSameNameRejoins(t *testing.T) {
	nodes := newCluster(t, "restart", 3, nil)
	old := nodes[2]
	start := time.Now()
	old.Close()
	waitGone(t, 10*time.Second, start, old.name, nodes[:2]...)

	addr := strings.TrimSuffix(old.addr, ":17946")
	again := buildNode(t, old.name, addr, addrsOf(nodes...), nil)
	again.start(t)
	waitLive(t, 10*time.Second, namesOf(nodes...), nodes[0], nodes[1], again)
}

func TestWrongSecretKeyCannotJoin(t *testing.T) {
	key := func(b byte) func(*Config) {
		return func(c *Config) { c.SecretKey = bytes.Repeat([]byte{b}, 32) }
	}
	nodes := newCluster(t, "keyed", 2, key(1))
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"other key", key(2)},
		{"no key", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			intruder := newNode(t, "intruder", addrsOf(nodes...), tt.edit)
			// Wait for two failed attempts: the warning, then a retry logged at debug.
			deadline := time.Now().Add(5 * time.Second)
			for !intruder.logs.contains(`"level":"DEBUG"`, "joining peers failed") {
				if time.Now().After(deadline) {
					t.Fatal("the member never retried its join")
				}
				time.Sleep(2 * time.Millisecond)
			}
			if !intruder.logs.contains(`"level":"WARN"`, "joining peers failed", "same memberlist secret key") {
				t.Error("the refused member logged no warning naming the secret key")
			}
			if !nodes[0].logs.contains(`"level":"ERROR"`, `"msg":"memberlist"`, "crypt") {
				t.Error("the cluster logged no error about the unencrypted or undecryptable message")
			}
			if got := intruder.Live(); !slices.Equal(got, []string{"intruder"}) {
				t.Errorf("the refused member sees %v, want only itself", got)
			}
			for _, n := range nodes {
				if slices.Contains(n.Live(), "intruder") {
					t.Errorf("%s sees the refused member: %v", n.name, n.Live())
				}
			}
		})
	}
}

// TestChangedCoalescesABurst lets several members join without reading Changed: one signal
// is pending afterwards, not one per join.
func TestChangedCoalescesABurst(t *testing.T) {
	first := newNode(t, "first", nil, nil)
	drain(first.Changed())
	var all = []*node{first}
	for _, name := range []string{"b", "c", "d", "e"} {
		all = append(all, newNode(t, name, []string{first.addr}, nil))
	}
	waitLive(t, 10*time.Second, namesOf(all...), first)
	if n := len(first.Changed()); n != 1 {
		t.Fatalf("%d signals pending after 4 joins, want 1", n)
	}
	<-first.Changed()
	select {
	case <-first.Changed():
		t.Error("a second signal followed the burst although nothing changed")
	case <-time.After(3 * DefaultProbeInterval):
	}
}

func TestEventDelegateSignalsOnlyChangesOfTheLiveSet(t *testing.T) {
	ch := make(chan struct{}, 1)
	e := newEvents(ch)
	node := func(name string, last byte) *memberlist.Node {
		return &memberlist.Node{Name: name, Addr: []byte{192, 0, 2, last}, Port: 7946}
	}
	pending := func() int {
		n := len(ch)
		drain(ch)
		return n
	}
	for i := range 100 {
		e.NotifyJoin(node(string(rune('a'+i%26))+string(rune('a'+i/26)), byte(i)))
	}
	if got := pending(); got != 1 {
		t.Errorf("100 joins left %d signals, want 1", got)
	}
	e.NotifyJoin(node("aa", 0))
	e.NotifyUpdate(node("aa", 200))
	e.NotifyLeave(node("unknown", 1))
	if got := pending(); got != 0 {
		t.Errorf("a known join, an update and an unknown leave left %d signals, want 0", got)
	}
	if got := e.liveAddrs(); !got[nodeAddr(node("aa", 200))] {
		t.Errorf("the update did not record the new address of aa: %v", got)
	}
	e.NotifyLeave(node("aa", 0))
	if got := pending(); got != 1 || slices.Contains(e.names(), "aa") {
		t.Errorf("leave: %d signals, live %v; want 1 signal and aa gone", got, e.names())
	}
}

func drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// TestLeaveAfterCloseDoesNotPanic covers memberlist's rule that Leave after Shutdown panics.
func TestLeaveAfterCloseDoesNotPanic(t *testing.T) {
	n := newNode(t, "a", nil, nil)
	n.Close()
	if err := n.Leave(time.Second); err != nil {
		t.Errorf("Leave after Close: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := n.Start(ctx); !errors.Is(err, ErrStarted) {
		t.Errorf("Start after Close = %v, want ErrStarted", err)
	}
}

func TestMembersSeeEachOthersMetadata(t *testing.T) {
	nodes := newCluster(t, "meta", 3, func(c *Config) { c.Meta = []byte("ifaces:" + c.NodeName) })
	deadline := time.Now().Add(10 * time.Second)
	for {
		missing := ""
		for _, n := range nodes {
			meta := n.Meta()
			for _, other := range nodes {
				if string(meta[other.name]) != "ifaces:"+other.name {
					missing = fmt.Sprintf("%s sees %q for %s", n.name, meta[other.name], other.name)
				}
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(missing)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
