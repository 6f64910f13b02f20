// Package lab builds and removes the Herald lab: a real kube-apiserver and etcd, N node network
// namespaces on one layer 2 segment each running the real herald-speaker, one herald-controller,
// a client namespace, and per node an HTTP backend behind a kube-proxy emulation.
//
// Addresses (all from documentation ranges, none in testenv.ServiceCIDRs, the cluster IP ranges):
//
//	segment             203.0.113.128/26              2001:db8:10::/64
//	bridge hlab-br0     203.0.113.129 (API server)    2001:db8:10::1
//	node i (hlab-nodeI) 203.0.113.(140+i)             2001:db8:10::(10+i)   MAC 02:48:4c:00:01:0i
//	client hlab-client  203.0.113.190                 2001:db8:10::100      MAC 02:48:4c:00:00:64
//	router hlab-router  203.0.113.130                 2001:db8:10::2        MAC 02:48:4c:00:00:02
//	layer 2 pool        203.0.113.160-203.0.113.179   2001:db8:10::200-2001:db8:10::249
//
// and, behind the router (FRR, AS 64500, peering with every node's speaker, AS 64501):
//
//	routed link         203.0.113.248/29              2001:db8:20::/64
//	router eth1         203.0.113.249                 2001:db8:20::1
//	routed client       203.0.113.250                 2001:db8:20::2  (hlab-rclient)
//	BGP pool            203.0.113.200-203.0.113.223   2001:db8:30::200-2001:db8:30::249
//	                    (within 203.0.113.192/27 and 2001:db8:30::/64, routed by the router)
//
// (node1 is 203.0.113.141 and 2001:db8:10::11.) 203.0.113.64/26 is left alone: development
// machines have a host route there (203.0.113.80), as they may sit on 192.0.2.0/24. The lab
// refuses to start when a route of the root namespace overlaps its prefixes.
//
// The lab owns every name starting with Prefix ("hlab"): namespaces, links and the bridge, and
// every process it starts carries the environment variable ProcessMarker, so that Down finds
// all of it by name, also from a fresh shell after a crash. It owns the directory
// _output/lab of the repository: state, kubeconfig, env file, certificates, etcd data, logs; and
// $TMPDIR/hlab-router for FRR, which runs as the frr user.
//
// The package does not answer ARP or NDP itself and adds no Service address to any interface:
// a node receives traffic for a Service address only when its speaker answered for it.
package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/heraldlb/herald/internal/testenv"
)

// Prefix starts the name of every namespace, link and bridge the lab creates.
const Prefix = "hlab"

// Names of what the lab creates.
const (
	Bridge          = Prefix + "-br0"
	ClientNS        = Prefix + "-client"
	HeraldNamespace = "herald-system"
	// NodeIf is the name of the segment interface inside node and client namespaces.
	NodeIf = "eth0"
	// BackendPort is where each node's HTTP backend listens; Services map their port to it.
	BackendPort = 8080
	// SpeakerHealthPort serves the speakers' /readyz inside their namespaces.
	SpeakerHealthPort = 7475
	apiServerPort     = 6443
)

// Family chooses the address families of the segment.
type Family string

// The families a lab can have.
const (
	IPv4      Family = "ipv4"
	IPv6      Family = "ipv6"
	DualStack Family = "dual"
)

// Options describe a lab.
type Options struct {
	// Nodes is the number of node namespaces; default 3.
	Nodes int `json:"nodes"`
	// Family of the segment; default DualStack.
	Family Family `json:"family"`
}

func (o Options) withDefaults() Options {
	if o.Nodes <= 0 {
		o.Nodes = 3
	}
	if o.Family == "" {
		o.Family = DualStack
	}
	return o
}

func (o Options) validate() error {
	if o.Nodes > 9 {
		return fmt.Errorf("lab: at most 9 nodes, got %d", o.Nodes)
	}
	switch o.Family {
	case IPv4, IPv6, DualStack:
		return nil
	}
	return fmt.Errorf("lab: family %q: want ipv4, ipv6 or dual", o.Family)
}

// Segment addresses.
var (
	segment4     = netip.MustParsePrefix("203.0.113.128/26")
	segment6     = netip.MustParsePrefix("2001:db8:10::/64")
	bridgeAddr4  = netip.MustParseAddr("203.0.113.129")
	bridgeAddr6  = netip.MustParseAddr("2001:db8:10::1")
	clientAddr4  = netip.MustParseAddr("203.0.113.190")
	clientAddr6  = netip.MustParseAddr("2001:db8:10::100")
	clientMAC    = "02:48:4c:00:00:64"
	poolRange4   = "203.0.113.160-203.0.113.179"
	poolRange6   = "2001:db8:10::200-2001:db8:10::249"
	nodeMACBase  = "02:48:4c:00:01:"
	nodeAddrBase = 140
)

// Node is one node namespace.
type Node struct {
	// Name is the Kubernetes Node name ("node1").
	Name string `json:"name"`
	// Namespace is the network namespace ("hlab-node1").
	Namespace string `json:"namespace"`
	// MAC of the node's segment interface (NodeIf inside Namespace).
	MAC   string     `json:"mac"`
	Addr4 netip.Addr `json:"addr4,omitzero"`
	Addr6 netip.Addr `json:"addr6,omitzero"`
}

// Addrs returns the node's segment addresses, IPv4 first.
func (n Node) Addrs() []netip.Addr { return validAddrs(n.Addr4, n.Addr6) }

// validAddrs returns the valid ones of addrs, in order.
func validAddrs(addrs ...netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		if a.IsValid() {
			out = append(out, a)
		}
	}
	return out
}

// Lab is a lab that is up. Its exported fields are its state, saved in Dir/state.json.
type Lab struct {
	Options Options `json:"options"`
	// Root is the repository; Dir is Root/_output/lab.
	Root string `json:"root"`
	Dir  string `json:"dir"`
	// APIServer is the host:port of the API server, on the bridge.
	APIServer string `json:"apiServer"`
	Nodes     []Node `json:"nodes"`
	// ClientNS is the client namespace; ClientMAC its interface's MAC.
	ClientNS    string     `json:"clientNS"`
	ClientMAC   string     `json:"clientMAC"`
	ClientAddr4 netip.Addr `json:"clientAddr4,omitzero"`
	ClientAddr6 netip.Addr `json:"clientAddr6,omitzero"`
	// PoolRanges are the addresses of the layer 2 pool.
	PoolRanges []string `json:"poolRanges"`
	// Router is the BGP router on the segment; RoutedClientNS the client behind it.
	Router         Router `json:"router"`
	RoutedClientNS string `json:"routedClientNS"`
	// BGPPoolRanges are the addresses of the BGP pool, off the segment.
	BGPPoolRanges []string `json:"bgpPoolRanges"`
	// Token authenticates as a cluster administrator (the lab's static token file).
	Token string `json:"token"`
	// Log receives progress lines; nil is silent.
	Log func(format string, args ...any) `json:"-"`
}

// DefaultDir returns _output/lab of the repository holding the working directory.
func DefaultDir() (root, dir string, err error) {
	root, err = testenv.RepoRoot()
	if err != nil {
		return "", "", err
	}
	return root, filepath.Join(root, "_output", "lab"), nil
}

func (l *Lab) logf(format string, args ...any) {
	if l.Log != nil {
		l.Log(format, args...)
	}
}

// Kubeconfig is the path of the lab's kubeconfig.
func (l *Lab) Kubeconfig() string { return filepath.Join(l.Dir, "kubeconfig") }

// LogDir holds one log file per process.
func (l *Lab) LogDir() string { return filepath.Join(l.Dir, "logs") }

// BinDir holds the binaries the lab runs.
func (l *Lab) BinDir() string { return filepath.Join(l.Dir, "bin") }

func (l *Lab) runDir() string    { return filepath.Join(l.Dir, "run") }
func (l *Lab) statePath() string { return filepath.Join(l.Dir, "state.json") }

// Node returns the node of that Kubernetes name.
func (l *Lab) Node(name string) (Node, bool) {
	i := slices.IndexFunc(l.Nodes, func(n Node) bool { return n.Name == name })
	if i < 0 {
		return Node{}, false
	}
	return l.Nodes[i], true
}

// NodeByMAC returns the node whose segment interface has mac.
func (l *Lab) NodeByMAC(mac string) (Node, bool) {
	i := slices.IndexFunc(l.Nodes, func(n Node) bool { return strings.EqualFold(n.MAC, mac) })
	if i < 0 {
		return Node{}, false
	}
	return l.Nodes[i], true
}

// Has4 says whether the segment carries IPv4.
func (l *Lab) Has4() bool { return l.Options.Family != IPv6 }

// Has6 says whether the segment carries IPv6.
func (l *Lab) Has6() bool { return l.Options.Family != IPv4 }

func newLab(root, dir string, opts Options) *Lab {
	l := &Lab{Options: opts, Root: root, Dir: dir, ClientNS: ClientNS, ClientMAC: clientMAC, RoutedClientNS: RoutedClientNS,
		Router: Router{Namespace: RouterNS, MAC: routerMAC, ASN: RouterASN, NodeASN: NodeASN, Dir: routerDir()}}
	if l.Has4() {
		l.ClientAddr4 = clientAddr4
		l.Router.Addr4 = routerAddr4
		l.PoolRanges = append(l.PoolRanges, poolRange4)
		l.BGPPoolRanges = append(l.BGPPoolRanges, bgpPoolRange4)
		l.APIServer = netip.AddrPortFrom(bridgeAddr4, apiServerPort).String()
	}
	if l.Has6() {
		l.ClientAddr6 = clientAddr6
		l.Router.Addr6 = routerAddr6
		l.PoolRanges = append(l.PoolRanges, poolRange6)
		l.BGPPoolRanges = append(l.BGPPoolRanges, bgpPoolRange6)
		if !l.Has4() {
			l.APIServer = netip.AddrPortFrom(bridgeAddr6, apiServerPort).String()
		}
	}
	for i := 1; i <= opts.Nodes; i++ {
		n := Node{
			Name:      fmt.Sprintf("node%d", i),
			Namespace: fmt.Sprintf("%s-node%d", Prefix, i),
			MAC:       fmt.Sprintf("%s%02x", nodeMACBase, i),
		}
		if l.Has4() {
			a := bridgeAddr4.As4()
			a[3] = byte(nodeAddrBase + i)
			n.Addr4 = netip.AddrFrom4(a)
		}
		if l.Has6() {
			a := bridgeAddr6.As16()
			a[15] = byte(0x10 + i) // ::11, ::12, ...
			n.Addr6 = netip.AddrFrom16(a)
		}
		l.Nodes = append(l.Nodes, n)
	}
	return l
}

// Open returns the lab that is up in dir, from its saved state.
func Open(dir string) (*Lab, error) {
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, fmt.Errorf("lab: read state: %w", err)
	}
	var l Lab
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("lab: parse %s: %w", filepath.Join(dir, "state.json"), err)
	}
	return &l, nil
}

// Up brings up a lab with opts in dir (see DefaultDir), building the programs first. It is
// idempotent: a lab that is up with the same options and whose processes all run is returned
// as it is; anything else the lab owns is torn down first and built anew. It needs root. On
// error, what it made is removed.
func Up(ctx context.Context, root, dir string, opts Options, log func(string, ...any)) (_ *Lab, err error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("lab: needs root to create network namespaces")
	}
	if old, err := Open(dir); err == nil && old.Options == opts {
		old.Log = log
		if problems := old.Check(); len(problems) == 0 {
			old.logf("lab is already up")
			return old, nil
		}
	}
	if err := Down(dir, log); err != nil {
		return nil, err
	}
	l := newLab(root, dir, opts)
	l.Log = log
	defer func() {
		if err != nil {
			if derr := Down(dir, log); derr != nil {
				err = errors.Join(err, derr)
			}
		}
	}()
	for _, d := range []string{l.BinDir(), l.LogDir(), l.runDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"build the programs", l.build},
		{"create the segment", l.createNetwork},
		{"start etcd and kube-apiserver", l.startControlPlane},
		{"create the cluster objects", l.createClusterObjects},
		{"start the router", l.startRouter},
		{"start the backends", l.startBackends},
		{"start herald-controller", l.startController},
		{"start the speakers", l.startSpeakers},
	}
	for _, s := range steps {
		l.logf("%s", s.name)
		if err := s.fn(ctx); err != nil {
			return nil, fmt.Errorf("lab: %s: %w", s.name, err)
		}
	}
	if err := l.save(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Lab) save() error {
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(l.statePath(), b, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(l.Dir, "env"), []byte(l.envFile()), 0o644)
}

func (l *Lab) envFile() string {
	var nodes []string
	for _, n := range l.Nodes {
		nodes = append(nodes, n.Namespace)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# The Herald lab; source this file: . %s\n", filepath.Join(l.Dir, "env"))
	fmt.Fprintf(&b, "export KUBECONFIG=%s\n", l.Kubeconfig())
	fmt.Fprintf(&b, "# node network namespaces (Kubernetes Node names node1, node2, ...)\n")
	fmt.Fprintf(&b, "export LAB_NODES=%q\n", strings.Join(nodes, " "))
	fmt.Fprintf(&b, "# the client on the nodes' layer 2 segment (%s)\n", strings.Join(l.segments(), ", "))
	fmt.Fprintf(&b, "export LAB_CLIENT_NS=%s\n", l.ClientNS)
	fmt.Fprintf(&b, "# the client behind the BGP router (%s)\n", strings.Join(l.routedLinks(), ", "))
	fmt.Fprintf(&b, "export LAB_ROUTED_CLIENT_NS=%s\n", l.RoutedClientNS)
	fmt.Fprintf(&b, "# the router: FRR, AS %d, peering with every node (AS %d); vtysh: ip netns exec $LAB_ROUTER_NS vtysh --vty_socket $LAB_ROUTER_VTY\n", l.Router.ASN, l.Router.NodeASN)
	fmt.Fprintf(&b, "export LAB_ROUTER_NS=%s\n", l.Router.Namespace)
	fmt.Fprintf(&b, "export LAB_ROUTER_VTY=%s\n", l.Router.Dir)
	fmt.Fprintf(&b, "# addresses of the layer 2 IPAddressPool and of the BGP one\n")
	fmt.Fprintf(&b, "export LAB_L2_POOL=%q\n", strings.Join(l.PoolRanges, " "))
	fmt.Fprintf(&b, "export LAB_BGP_POOL=%q\n", strings.Join(l.BGPPoolRanges, " "))
	fmt.Fprintf(&b, "export LAB_LOGS=%s\n", l.LogDir())
	return b.String()
}

func (l *Lab) segmentPrefixes() []netip.Prefix {
	var s []netip.Prefix
	if l.Has4() {
		s = append(s, segment4)
	}
	if l.Has6() {
		s = append(s, segment6)
	}
	return s
}

func (l *Lab) segments() []string {
	var s []string
	for _, p := range l.segmentPrefixes() {
		s = append(s, p.String())
	}
	return s
}

// Check returns what is wrong with a lab that should be up: missing namespaces or processes.
func (l *Lab) Check() []string {
	var problems []string
	nss, _ := namespaces()
	for _, ns := range append(l.nodeNamespaces(), l.ClientNS, l.Router.Namespace, l.RoutedClientNS) {
		if !slices.Contains(nss, ns) {
			problems = append(problems, "network namespace "+ns+" is missing")
		}
	}
	for _, name := range l.processNames() {
		if _, ok := l.running(name); !ok {
			problems = append(problems, "process "+name+" is not running")
		}
	}
	return problems
}

func (l *Lab) nodeNamespaces() []string {
	var out []string
	for _, n := range l.Nodes {
		out = append(out, n.Namespace)
	}
	return out
}

func (l *Lab) processNames() []string {
	names := []string{"etcd", "kube-apiserver", "herald-controller", "zebra", "bgpd"}
	for _, n := range l.Nodes {
		names = append(names, "speaker-"+n.Name, "backend-"+n.Name)
	}
	return names
}

// Down removes everything a lab in dir made, whether or not it came up completely: the
// processes carrying the lab's marker, the namespaces and links named with Prefix, and dir. It
// reads no state, so it works from a fresh shell after a crash.
func Down(dir string, log func(string, ...any)) error {
	if os.Geteuid() != 0 {
		return errors.New("lab: needs root to remove network namespaces")
	}
	logf := func(format string, args ...any) {
		if log != nil {
			log(format, args...)
		}
	}
	var errs []error
	// Only the processes the lab started, found by their marker; others that run in its
	// namespaces (a shell someone opened there) are named, not killed.
	nss, err := namespaces()
	errs = append(errs, err)
	pids := markedPIDs(dir)
	for _, ns := range nss {
		for _, pid := range namespacePIDs(ns) {
			if !slices.Contains(pids, pid) {
				logf("leaving process %d in %s running: the lab did not start it", pid, ns)
			}
		}
	}
	if len(pids) > 0 {
		logf("stopping %d processes", len(pids))
	}
	errs = append(errs, stopPIDs(pids, 5*time.Second))
	for _, ns := range nss {
		logf("deleting network namespace %s", ns)
		errs = append(errs, run("", "ip", "netns", "delete", ns))
	}
	links, err := prefixedLinks()
	errs = append(errs, err)
	for _, link := range links {
		logf("deleting link %s", link)
		if err := run("", "ip", "link", "delete", link); err != nil && linkExists(link) {
			errs = append(errs, err)
		}
	}
	for _, d := range []string{dir, routerDir()} {
		if _, err := os.Stat(d); err == nil {
			logf("removing %s", d)
			errs = append(errs, os.RemoveAll(d))
		}
	}
	return errors.Join(errs...)
}
