package bgp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/heraldlb/herald/internal/netnstest"
)

// The privileged tests run real routers (FRR, BIRD) in one network namespace and each speaker
// in a child process (this test binary, re-executed) in a namespace of its own, joined by veths.

const helperEnv = "HERALD_BGP_HELPER" // JSON Desired

func TestMain(m *testing.M) {
	if spec := os.Getenv(helperEnv); spec != "" {
		os.Exit(runHelper(spec))
	}
	os.Exit(m.Run())
}

// runHelper runs a Speaker for the Desired in spec. It reads commands from stdin, one a line:
// "sessions" prints Sessions() as JSON, "set <json>" applies another Desired and prints "ok";
// "close" or the end of stdin closes the Speaker and exits.
func runHelper(spec string) int {
	var d Desired
	if err := json.Unmarshal([]byte(spec), &d); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	s := New(Config{ConnectRetry: time.Second})
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer cancel()
	s.Start(ctx)
	if err := s.Set(ctx, d); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("ready")
	in := bufio.NewReader(os.Stdin)
	for {
		line, err := in.ReadString('\n')
		cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch {
		case err != nil || cmd == "close":
			if err := s.Close(); err != nil {
				fmt.Println("error:", err)
				return 1
			}
			fmt.Println("closed")
			return 0
		case cmd == "sessions":
			b, _ := json.Marshal(s.Sessions())
			fmt.Println(string(b))
		case cmd == "set":
			var d Desired
			if err := json.Unmarshal([]byte(arg), &d); err != nil {
				fmt.Println("error:", err)
				continue
			}
			if err := s.Set(ctx, d); err != nil {
				fmt.Println("error:", err)
				continue
			}
			fmt.Println("ok")
		}
	}
}

func requirePrivileges(t *testing.T, tools ...string) {
	t.Helper()
	netnstest.RequirePrivileges(t, "iproute2, frr, bird2", tools...)
}

func run(t *testing.T, args ...string) string {
	t.Helper()
	return netnstest.Run(t, args...)
}

func inNS(t *testing.T, ns string, args ...string) string {
	t.Helper()
	return run(t, append([]string{"ip", "netns", "exec", ns}, args...)...)
}

var nsSeq atomic.Int32

// newNS creates a namespace with lo up, deleted when the test ends.
func newNS(t *testing.T, role string) string {
	t.Helper()
	name := fmt.Sprintf("hbgp-%d-%d-%s", os.Getpid()%100000, nsSeq.Add(1), role)
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	inNS(t, name, "ip", "link", "set", "lo", "up")
	return name
}

// link joins ns a and b with a veth pair named ifA in a and ifB in b, and sets the addresses.
func link(t *testing.T, a, ifA string, addrsA []string, b, ifB string, addrsB []string) {
	t.Helper()
	run(t, "ip", "link", "add", ifA, "netns", a, "type", "veth", "peer", "name", ifB, "netns", b)
	for _, side := range []struct {
		ns, ifname string
		addrs      []string
	}{{a, ifA, addrsA}, {b, ifB, addrsB}} {
		for _, addr := range side.addrs {
			args := []string{"ip", "addr", "add", addr, "dev", side.ifname}
			if strings.Contains(addr, ":") {
				args = append(args, "nodad")
			}
			inNS(t, side.ns, args...)
		}
		inNS(t, side.ns, "ip", "link", "set", side.ifname, "up")
	}
}

// daemonDir returns a directory the routers' unprivileged users can use, removed at the end.
func daemonDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "herald-bgp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startProcess starts args in ns, stopped (SIGTERM, then SIGKILL) when the test ends; its
// output goes to logFile.
func startProcess(t *testing.T, ns, logFile string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	f, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", args, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = f.Close(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return cmd
}

// frr is an FRR zebra and bgpd running in a namespace with their own files and sockets.
type frr struct {
	ns, dir string
}

// startFRR runs zebra and bgpd in ns with bgpConf. zebra installs the routes in the
// namespace's kernel table.
func startFRR(t *testing.T, ns, bgpConf string) *frr {
	t.Helper()
	requirePrivileges(t, "ip", "/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "vtysh")
	r := &frr{ns: ns, dir: daemonDir(t)}
	write := func(name, content string) string {
		p := filepath.Join(r.dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	zconf := write("zebra.conf", "hostname r\n")
	bconf := write("bgpd.conf", bgpConf)
	zserv := filepath.Join(r.dir, "zserv.api")
	// zebra runs as the frr user (its vty group check fails for root); bgpd as root (-S).
	startProcess(t, ns, filepath.Join(r.dir, "zebra.log"), "/usr/lib/frr/zebra", "-f", zconf,
		"-i", filepath.Join(r.dir, "zebra.pid"), "-z", zserv, "--vty_socket", r.dir, "-u", "frr", "-g", "frr", "-P", "0", "--log", "stdout")
	eventually(t, "zebra's socket", 15*time.Second, func() bool { _, err := os.Stat(zserv); return err == nil })
	startProcess(t, ns, filepath.Join(r.dir, "bgpd.log"), "/usr/lib/frr/bgpd", "-f", bconf,
		"-i", filepath.Join(r.dir, "bgpd.pid"), "-z", zserv, "--vty_socket", r.dir, "-S", "-P", "0", "--log", "stdout")
	eventually(t, "bgpd's vty", 15*time.Second, func() bool {
		return exec.Command("ip", "netns", "exec", ns, "vtysh", "--vty_socket", r.dir, "-c", "show bgp summary json").Run() == nil
	})
	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range []string{"bgpd.log"} {
				b, _ := os.ReadFile(filepath.Join(r.dir, f))
				t.Logf("%s:\n%s", f, b)
			}
		}
	})
	return r
}

func (r *frr) vtysh(t *testing.T, cmd string) []byte {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", r.ns, "vtysh", "--vty_socket", r.dir, "-c", cmd).CombinedOutput()
	if err != nil {
		t.Fatalf("vtysh -c %q: %v\n%s", cmd, err, out)
	}
	return out
}

type frrRoute struct {
	Protocol  string `json:"protocol"`
	Installed bool   `json:"installed"`
	Nexthops  []struct {
		IP     string `json:"ip"`
		Active bool   `json:"active"`
	} `json:"nexthops"`
}

// installedNextHops returns the active next hops of the BGP route to prefix that zebra
// installed, sorted; nil if there is none.
func (r *frr) installedNextHops(t *testing.T, prefix string) []string {
	t.Helper()
	cmd := "show ip route " + prefix + " json"
	if strings.Contains(prefix, ":") {
		cmd = "show ipv6 route " + prefix + " json"
	}
	var routes map[string][]frrRoute
	if err := json.Unmarshal(r.vtysh(t, cmd), &routes); err != nil {
		t.Fatal(err)
	}
	var nhs []string
	for _, rt := range routes[prefix] {
		if rt.Protocol != "bgp" || !rt.Installed {
			continue
		}
		for _, nh := range rt.Nexthops {
			if nh.Active {
				nhs = append(nhs, nh.IP)
			}
		}
	}
	return sortedStrings(nhs)
}

// neighborState returns FRR's state of the session with addr.
func (r *frr) neighborState(t *testing.T, addr string) string {
	t.Helper()
	var n map[string]struct {
		State string `json:"bgpState"`
	}
	if err := json.Unmarshal(r.vtysh(t, "show bgp neighbors "+addr+" json"), &n); err != nil {
		t.Fatal(err)
	}
	return n[addr].State
}

// helper is a Speaker in a child process in its own namespace.
type helper struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	done   chan struct{}
}

// startHelper runs a Speaker for d in ns and waits until it applied d.
func startHelper(t *testing.T, ns string, d Desired) *helper {
	t.Helper()
	spec, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	h := &helper{cmd: exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^$"), done: make(chan struct{})}
	h.cmd.Env = append(os.Environ(), helperEnv+"="+string(spec))
	if h.stdin, err = h.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := h.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	h.stdout = bufio.NewReaderSize(out, 1<<20)
	h.cmd.Stderr = os.Stderr
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = h.cmd.Wait(); close(h.done) }()
	t.Cleanup(func() { h.kill() })
	if line := h.readLine(t); line != "ready" {
		t.Fatalf("speaker helper did not start: %q", line)
	}
	return h
}

func (h *helper) readLine(t *testing.T) string {
	t.Helper()
	line, err := h.stdout.ReadString('\n')
	if err != nil {
		t.Fatalf("speaker helper: %v (%q)", err, line)
	}
	return strings.TrimSpace(line)
}

func (h *helper) command(t *testing.T, cmd string) string {
	t.Helper()
	if _, err := io.WriteString(h.stdin, cmd+"\n"); err != nil {
		t.Fatal(err)
	}
	return h.readLine(t)
}

func (h *helper) set(t *testing.T, d Desired) {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if out := h.command(t, "set "+string(b)); out != "ok" {
		t.Fatalf("set: %s", out)
	}
}

func (h *helper) sessions(t *testing.T) []SessionState {
	t.Helper()
	var ss []SessionState
	if err := json.Unmarshal([]byte(h.command(t, "sessions")), &ss); err != nil {
		t.Fatal(err)
	}
	return ss
}

// close closes the Speaker (Close) and waits for the process to exit.
func (h *helper) close(t *testing.T) {
	t.Helper()
	if out := h.command(t, "close"); out != "closed" {
		t.Fatalf("close: %s", out)
	}
	<-h.done
}

// kill ends the process without letting the Speaker close, as a crash does.
func (h *helper) kill() {
	_ = h.cmd.Process.Kill()
	<-h.done
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	slices.Sort(out)
	return out
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
