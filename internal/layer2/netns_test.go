package layer2

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heraldlb/herald/internal/netnstest"
)

// The privileged tests run a Speaker in a child process inside one network namespace and real
// arping and ndisc6 in another, joined by a veth pair.

const helperEnv = "HERALD_LAYER2_HELPER" // "ifname=addr,addr"

func TestMain(m *testing.M) {
	if spec := os.Getenv(helperEnv); spec != "" {
		os.Exit(runHelper(spec))
	}
	os.Exit(m.Run())
}

// runHelper serves the addresses in spec until stdin closes or SIGTERM.
func runHelper(spec string) int {
	ifname, list, _ := strings.Cut(spec, "=")
	var addrs []netip.Addr
	for _, s := range strings.Split(list, ",") {
		addrs = append(addrs, netip.MustParseAddr(s))
	}
	s := New(Config{Announcements: 3, AnnounceInterval: 100 * time.Millisecond})
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer cancel()
	s.Start(ctx)
	if err := s.Set(map[string][]netip.Addr{ifname: addrs}); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("ready")
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	<-ctx.Done()
	_ = s.Close()
	return 0
}

func requirePrivileges(t *testing.T, tools ...string) {
	t.Helper()
	netnstest.RequirePrivileges(t, "iproute2, iputils-arping, ndisc6", tools...)
}

func run(t *testing.T, args ...string) string {
	t.Helper()
	return netnstest.Run(t, args...)
}

// segment is two namespaces joined by a veth pair: "spk" holds the speaker, "cli" the client.
type segment struct {
	spk, cli       string
	spkIf, cliIf   string
	spkMAC, cliMAC string
}

func newSegment(t *testing.T) *segment {
	t.Helper()
	id := os.Getpid() % 100000
	s := &segment{
		spk: fmt.Sprintf("hl2-%d-spk", id), cli: fmt.Sprintf("hl2-%d-cli", id),
		spkIf: fmt.Sprintf("hs%d", id), cliIf: fmt.Sprintf("hc%d", id),
		spkMAC: "02:00:5e:10:00:01", cliMAC: "02:00:5e:10:00:02",
	}
	t.Cleanup(func() {
		_ = exec.Command("ip", "netns", "del", s.spk).Run()
		_ = exec.Command("ip", "netns", "del", s.cli).Run()
	})
	run(t, "ip", "netns", "add", s.spk)
	run(t, "ip", "netns", "add", s.cli)
	run(t, "ip", "link", "add", s.spkIf, "address", s.spkMAC, "netns", s.spk, "type", "veth", "peer", "name", s.cliIf, "address", s.cliMAC, "netns", s.cli)
	for _, c := range [][]string{
		{s.spk, "ip", "addr", "add", "192.0.2.1/24", "dev", s.spkIf},
		{s.spk, "ip", "addr", "add", "2001:db8::1/64", "dev", s.spkIf, "nodad"},
		{s.spk, "ip", "link", "set", s.spkIf, "up"},
		{s.cli, "ip", "addr", "add", "192.0.2.100/24", "dev", s.cliIf},
		{s.cli, "ip", "addr", "add", "2001:db8::100/64", "dev", s.cliIf, "nodad"},
		{s.cli, "sysctl", "-qw", "net.ipv4.conf.all.arp_accept=1"},
		{s.cli, "sysctl", "-qw", "net.ipv4.conf." + s.cliIf + ".arp_accept=1"},
		{s.cli, "ip", "link", "set", s.cliIf, "up"},
	} {
		run(t, append([]string{"ip", "netns", "exec"}, c...)...)
	}
	// The link-local addresses come up with the links; the NDP socket binds to one.
	eventuallyTrue(t, "link-local address on "+s.spkIf, func() bool {
		out, _ := exec.Command("ip", "netns", "exec", s.spk, "ip", "-6", "addr", "show", "dev", s.spkIf, "scope", "link").Output()
		return strings.Contains(string(out), "fe80::") && !strings.Contains(string(out), "tentative")
	})
	return s
}

func eventuallyTrue(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startHelper runs a Speaker for addrs inside the speaker namespace and waits until it serves.
func (s *segment) startHelper(t *testing.T, addrs ...string) (stop func()) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", s.spk, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+s.spkIf+"="+strings.Join(addrs, ","))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	t.Cleanup(stop)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("speaker helper did not start: %q %v", line, err)
	}
	return stop
}

var macRE = regexp.MustCompile(`([0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5})`)

func TestRealARPAndNDPClientsGetTheSpeakersMAC(t *testing.T) {
	requirePrivileges(t, "ip", "arping", "ndisc6")
	seg := newSegment(t)
	seg.startHelper(t, "192.0.2.10", "2001:db8::10")

	out, err := exec.Command("ip", "netns", "exec", seg.cli, "arping", "-c", "1", "-w", "5", "-I", seg.cliIf, "192.0.2.10").CombinedOutput()
	if err != nil {
		t.Fatalf("arping: %v\n%s", err, out)
	}
	if m := macRE.FindString(strings.SplitN(string(out), "reply from", 2)[len(strings.SplitN(string(out), "reply from", 2))-1]); !strings.EqualFold(m, seg.spkMAC) {
		t.Errorf("ARP reply MAC = %q, want %s:\n%s", m, seg.spkMAC, out)
	}

	out, err = exec.Command("ip", "netns", "exec", seg.cli, "ndisc6", "-1", "-r", "5", "-w", "1000", "2001:db8::10", seg.cliIf).CombinedOutput()
	if err != nil {
		t.Fatalf("ndisc6: %v\n%s", err, out)
	}
	if !strings.Contains(strings.ToLower(string(out)), "target link-layer address: "+seg.spkMAC) {
		t.Errorf("ndisc6 did not report %s:\n%s", seg.spkMAC, out)
	}

	// An address the speaker does not own gets no answer.
	out, err = exec.Command("ip", "netns", "exec", seg.cli, "arping", "-c", "2", "-w", "2", "-I", seg.cliIf, "192.0.2.11").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Received 0 response") {
		t.Errorf("arping for an address nobody owns got an answer: %v\n%s", err, out)
	}
}

func TestRealGratuitousAnnouncementsUpdateNeighbourTables(t *testing.T) {
	requirePrivileges(t, "ip")
	seg := newSegment(t)
	// A stale entry pointing elsewhere, as a client has after a failover.
	for _, c := range [][]string{
		{"ip", "neigh", "replace", "192.0.2.10", "lladdr", "02:00:5e:10:00:99", "dev", seg.cliIf, "nud", "stale"},
		{"ip", "-6", "neigh", "replace", "2001:db8::10", "lladdr", "02:00:5e:10:00:99", "dev", seg.cliIf, "nud", "stale"},
	} {
		run(t, append([]string{"ip", "netns", "exec", seg.cli}, c...)...)
	}
	seg.startHelper(t, "192.0.2.10", "2001:db8::10")
	for _, addr := range []string{"192.0.2.10", "2001:db8::10"} {
		eventuallyTrue(t, "the client's entry for "+addr+" to point at the speaker", func() bool {
			out, _ := exec.Command("ip", "netns", "exec", seg.cli, "ip", "neigh", "show", addr, "dev", seg.cliIf).Output()
			return strings.Contains(strings.ToLower(string(out)), seg.spkMAC)
		})
	}
}
