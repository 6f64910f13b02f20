package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The router: a namespace on the segment running FRR (zebra and bgpd), peering with every
// node's speaker, installing what they announce with ECMP and routing to the routed client on a
// link of its own. Its BGP configuration is fixed: the lab's BGPPeer objects match it.
const (
	RouterNS        = Prefix + "-router"
	RoutedClientNS  = Prefix + "-rclient"
	RouterASN       = 64500
	NodeASN         = 64501
	routerMAC       = "02:48:4c:00:00:02"
	routedClientMAC = "02:48:4c:00:00:fa"
	// RouterIf is the router's interface towards the routed client.
	RouterIf = "eth1"
	// routerOnlyPrefix4 and 6 are announced by the router to the nodes, which must neither
	// install nor pass them on.
	routerOnlyPrefix4 = "203.0.113.0/28"
	routerOnlyPrefix6 = "2001:db8:40::/64"
	// RouterPasswordSecret holds the TCP MD5 password of the sessions with the router, which the
	// lab's BGPPeers name.
	RouterPasswordSecret = "router-bgp-password"
	routerPassword       = "herald-lab-md5"
)

// Routed side addresses.
var (
	routerAddr4       = netip.MustParseAddr("203.0.113.130")
	routerAddr6       = netip.MustParseAddr("2001:db8:10::2")
	routedLink4       = netip.MustParsePrefix("203.0.113.248/29")
	routedLink6       = netip.MustParsePrefix("2001:db8:20::/64")
	routerLinkAddr4   = netip.MustParseAddr("203.0.113.249")
	routerLinkAddr6   = netip.MustParseAddr("2001:db8:20::1")
	routedClientAddr4 = netip.MustParseAddr("203.0.113.250")
	routedClientAddr6 = netip.MustParseAddr("2001:db8:20::2")
	// The BGP pool lies off the segment: only the router's routes lead there.
	bgpPoolNet4   = netip.MustParsePrefix("203.0.113.192/27")
	bgpPoolNet6   = netip.MustParsePrefix("2001:db8:30::/64")
	bgpPoolRange4 = "203.0.113.200-203.0.113.223"
	bgpPoolRange6 = "2001:db8:30::200-2001:db8:30::249"
)

// Router describes the lab's router.
type Router struct {
	Namespace string     `json:"namespace"`
	MAC       string     `json:"mac"`
	Addr4     netip.Addr `json:"addr4,omitzero"`
	Addr6     netip.Addr `json:"addr6,omitzero"`
	ASN       uint32     `json:"asn"`
	// NodeASN is the AS of every node's speaker.
	NodeASN uint32 `json:"nodeASN"`
	// Dir holds FRR's configuration, sockets and pid files (see routerDir).
	Dir string `json:"dir"`
}

// routerDir is where FRR's files go: outside the repository, because zebra drops to the frr
// user, which must reach the directory, and a checkout may sit below a directory only root can
// enter (mktemp -d makes them 0700). The lab owns the name, as it owns every hlab-* name.
func routerDir() string { return filepath.Join(os.TempDir(), Prefix+"-router") }

// Addrs returns the router's segment addresses, IPv4 first.
func (r Router) Addrs() []netip.Addr { return validAddrs(r.Addr4, r.Addr6) }

// RouterOnlyPrefixes are the prefixes the router announces to the nodes.
func (l *Lab) RouterOnlyPrefixes() []string {
	var out []string
	if l.Has4() {
		out = append(out, routerOnlyPrefix4)
	}
	if l.Has6() {
		out = append(out, routerOnlyPrefix6)
	}
	return out
}

// routedPrefixes are the lab's prefixes off the segment: the routed link and the BGP pool.
func (l *Lab) routedPrefixes() []netip.Prefix {
	var out []netip.Prefix
	if l.Has4() {
		out = append(out, routedLink4, bgpPoolNet4)
	}
	if l.Has6() {
		out = append(out, routedLink6, bgpPoolNet6)
	}
	return out
}

// routedLinks are the prefixes of the link between router and routed client.
func (l *Lab) routedLinks() []string {
	var out []string
	if l.Has4() {
		out = append(out, routedLink4.String())
	}
	if l.Has6() {
		out = append(out, routedLink6.String())
	}
	return out
}

// createRouter makes the router and routed client namespaces and their links, and the routes
// of the client and nodes towards the routed side.
func (l *Lab) createRouter() error {
	r := l.Router
	if err := l.createHost(r.Namespace, Prefix+"-rt", r.MAC, r.Addr4, r.Addr6); err != nil {
		return err
	}
	if err := run("", "ip", "netns", "add", l.RoutedClientNS); err != nil {
		return err
	}
	steps := [][]string{
		{"ip", "netns", "exec", l.RoutedClientNS, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0"},
		{"ip", "netns", "exec", l.RoutedClientNS, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0"},
		{"ip", "-n", r.Namespace, "link", "add", RouterIf, "type", "veth", "peer", "name", NodeIf, "address", routedClientMAC, "netns", l.RoutedClientNS},
		{"ip", "-n", l.RoutedClientNS, "link", "set", "lo", "up"},
		// Forwarding, and ECMP hashed on ports too: one client's connections spread over the
		// next hops.
		{"ip", "netns", "exec", r.Namespace, "sysctl", "-qw", "net.ipv4.ip_forward=1"},
		{"ip", "netns", "exec", r.Namespace, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"},
		{"ip", "netns", "exec", r.Namespace, "sysctl", "-qw", "net.ipv4.fib_multipath_hash_policy=1"},
		{"ip", "netns", "exec", r.Namespace, "sysctl", "-qw", "net.ipv6.fib_multipath_hash_policy=1"},
	}
	type route struct{ ns, dst, via string }
	var routes []route
	if l.Has4() {
		steps = append(steps,
			[]string{"ip", "-n", r.Namespace, "addr", "add", prefixOf(routerLinkAddr4, routedLink4), "dev", RouterIf},
			[]string{"ip", "-n", l.RoutedClientNS, "addr", "add", prefixOf(routedClientAddr4, routedLink4), "dev", NodeIf})
		routes = append(routes, route{l.RoutedClientNS, "default", routerLinkAddr4.String()},
			route{l.ClientNS, bgpPoolNet4.String(), r.Addr4.String()})
		for _, n := range l.Nodes {
			routes = append(routes, route{n.Namespace, routedLink4.String(), r.Addr4.String()})
		}
	}
	if l.Has6() {
		steps = append(steps,
			[]string{"ip", "-n", r.Namespace, "addr", "add", prefixOf(routerLinkAddr6, routedLink6), "dev", RouterIf, "nodad"},
			[]string{"ip", "-n", l.RoutedClientNS, "addr", "add", prefixOf(routedClientAddr6, routedLink6), "dev", NodeIf, "nodad"})
		routes = append(routes, route{l.RoutedClientNS, "default", routerLinkAddr6.String()},
			route{l.ClientNS, bgpPoolNet6.String(), r.Addr6.String()})
		for _, n := range l.Nodes {
			routes = append(routes, route{n.Namespace, routedLink6.String(), r.Addr6.String()})
		}
	}
	steps = append(steps,
		[]string{"ip", "-n", r.Namespace, "link", "set", RouterIf, "up"},
		[]string{"ip", "-n", l.RoutedClientNS, "link", "set", NodeIf, "up"})
	for _, s := range steps {
		if err := run("", s...); err != nil {
			return err
		}
	}
	for _, rt := range routes {
		fam := "-4"
		if strings.Contains(rt.via, ":") {
			fam = "-6"
		}
		if err := run("", "ip", fam, "-n", rt.ns, "route", "add", rt.dst, "via", rt.via); err != nil {
			return err
		}
	}
	return nil
}

// frrConfig is bgpd's configuration: one peer group per family with every node in it (TCP MD5
// password RouterPasswordSecret), ECMP
// over as many paths as there are nodes, graceful restart (as a helper), and the router-only
// prefixes announced to the nodes.
func (l *Lab) frrConfig() string {
	r := l.Router
	var b strings.Builder
	fmt.Fprintf(&b, "frr defaults traditional\nhostname %s\nlog stdout informational\n", r.Namespace)
	if l.Has4() {
		fmt.Fprintf(&b, "ip route %s blackhole\n", routerOnlyPrefix4)
	}
	if l.Has6() {
		fmt.Fprintf(&b, "ipv6 route %s blackhole\n", routerOnlyPrefix6)
	}
	routerID := r.Addr4
	if !routerID.IsValid() {
		routerID = netip.MustParseAddr("203.0.113.130")
	}
	fmt.Fprintf(&b, "router bgp %d\n bgp router-id %s\n no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n", r.ASN, routerID)
	fmt.Fprintf(&b, " bgp bestpath as-path multipath-relax\n bgp graceful-restart\n")
	groups := []struct {
		name string
		has  bool
		addr func(Node) netip.Addr
		af   string
		pfx  string
	}{
		{"NODES4", l.Has4(), func(n Node) netip.Addr { return n.Addr4 }, "ipv4", routerOnlyPrefix4},
		{"NODES6", l.Has6(), func(n Node) netip.Addr { return n.Addr6 }, "ipv6", routerOnlyPrefix6},
	}
	for _, g := range groups {
		if !g.has {
			continue
		}
		fmt.Fprintf(&b, " neighbor %s peer-group\n neighbor %s remote-as %d\n neighbor %s timers connect 2\n neighbor %s password %s\n",
			g.name, g.name, r.NodeASN, g.name, g.name, routerPassword)
		for _, n := range l.Nodes {
			fmt.Fprintf(&b, " neighbor %s peer-group %s\n", g.addr(n), g.name)
		}
	}
	for _, g := range groups {
		if !g.has {
			continue
		}
		fmt.Fprintf(&b, " address-family %s unicast\n  network %s\n  neighbor %s activate\n  maximum-paths 16\n exit-address-family\n", g.af, g.pfx, g.name)
	}
	return b.String()
}

// startRouter runs zebra (as the frr user, as FRR wants) and bgpd (as root) in the router's
// namespace, each with its own files in Router.Dir.
func (l *Lab) startRouter(ctx context.Context) error {
	r := l.Router
	if err := os.MkdirAll(r.Dir, 0o777); err != nil {
		return err
	}
	// zebra drops to the frr user: it must write its socket and pid file here.
	if err := os.Chmod(r.Dir, 0o777); err != nil {
		return err
	}
	for name, content := range map[string]string{"zebra.conf": "hostname " + r.Namespace + "\n", "bgpd.conf": l.frrConfig()} {
		if err := os.WriteFile(filepath.Join(r.Dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	if _, err := l.startProcess("zebra", procSpec{Namespace: r.Namespace, Args: []string{
		"/usr/lib/frr/zebra", "-f", filepath.Join(r.Dir, "zebra.conf"), "-i", filepath.Join(r.Dir, "zebra.pid"),
		"-z", l.zservPath(), "--vty_socket", r.Dir, "-u", "frr", "-g", "frr", "-P", "0", "--log", "stdout",
	}}); err != nil {
		return err
	}
	if err := Poll(ctx, 15*time.Second, func() (bool, error) { _, err := os.Stat(l.zservPath()); return err == nil, nil }); err != nil {
		return fmt.Errorf("zebra's socket: %w; its log:\n%s", err, tail(l.LogPath("zebra"), 15))
	}
	if _, err := l.startProcess("bgpd", procSpec{Namespace: r.Namespace, Args: []string{
		"/usr/lib/frr/bgpd", "-f", filepath.Join(r.Dir, "bgpd.conf"), "-i", filepath.Join(r.Dir, "bgpd.pid"),
		"-z", l.zservPath(), "--vty_socket", r.Dir, "-S", "-P", "0", "--log", "stdout",
	}}); err != nil {
		return err
	}
	if err := Poll(ctx, 15*time.Second, func() (bool, error) { _, err := l.Vtysh("show bgp summary json"); return err == nil, nil }); err != nil {
		return fmt.Errorf("bgpd's vty: %w; its log:\n%s", err, tail(l.LogPath("bgpd"), 15))
	}
	return nil
}

func (l *Lab) zservPath() string { return filepath.Join(l.Router.Dir, "zserv.api") }

// RestartRouter stops zebra and bgpd (SIGKILL: the router dies, it does not say goodbye),
// removes their sockets and pid files, and starts them again. zebra's routes go with it.
func (l *Lab) RestartRouter(ctx context.Context) error {
	for _, name := range []string{"bgpd", "zebra"} {
		if wait, err := l.Signal(name, 9); err == nil {
			if err := wait(10 * time.Second); err != nil {
				return err
			}
		}
	}
	for _, f := range []string{"zserv.api", "zebra.pid", "bgpd.pid", "zebra.vty", "bgpd.vty"} {
		_ = os.Remove(filepath.Join(l.Router.Dir, f))
	}
	// Routes zebra installed survive it in the kernel; a real router's reboot loses them.
	_ = run(l.Router.Namespace, "ip", "route", "flush", "proto", "bgp")
	_ = run(l.Router.Namespace, "ip", "-6", "route", "flush", "proto", "bgp")
	return l.startRouter(ctx)
}

// Vtysh runs one vtysh command on the router and returns its output.
func (l *Lab) Vtysh(cmd string) ([]byte, error) {
	out, err := Output(l.Router.Namespace, "vtysh", "--vty_socket", l.Router.Dir, "-c", cmd)
	return []byte(out), err
}

// RouterNextHops returns the active next hops of the BGP route to prefix installed in the
// router's FIB (as FRR reports it), sorted; nil if there is none.
func (l *Lab) RouterNextHops(prefix netip.Prefix) ([]netip.Addr, error) {
	cmd := "show ip route " + prefix.String() + " json"
	if prefix.Addr().Is6() {
		cmd = "show ipv6 route " + prefix.String() + " json"
	}
	out, err := l.Vtysh(cmd)
	if err != nil {
		return nil, err
	}
	var routes map[string][]struct {
		Protocol  string `json:"protocol"`
		Installed bool   `json:"installed"`
		Nexthops  []struct {
			IP     string `json:"ip"`
			Active bool   `json:"active"`
		} `json:"nexthops"`
	}
	if err := json.Unmarshal(out, &routes); err != nil {
		return nil, fmt.Errorf("parse %q: %w: %s", cmd, err, out)
	}
	var nhs []netip.Addr
	for _, rt := range routes[prefix.String()] {
		if rt.Protocol != "bgp" || !rt.Installed {
			continue
		}
		for _, nh := range rt.Nexthops {
			if a, err := netip.ParseAddr(nh.IP); err == nil && nh.Active {
				nhs = append(nhs, a)
			}
		}
	}
	slices.SortFunc(nhs, func(a, b netip.Addr) int { return a.Compare(b) })
	return nhs, nil
}

// RouterSessions returns FRR's state of the session with each neighbour, by address.
func (l *Lab) RouterSessions() (map[netip.Addr]string, error) {
	out, err := l.Vtysh("show bgp neighbors json")
	if err != nil {
		return nil, err
	}
	var ns map[string]struct {
		State string `json:"bgpState"`
	}
	if err := json.Unmarshal(out, &ns); err != nil {
		return nil, fmt.Errorf("parse show bgp neighbors json: %w", err)
	}
	states := map[netip.Addr]string{}
	for a, n := range ns {
		if addr, err := netip.ParseAddr(a); err == nil {
			states[addr] = n.State
		}
	}
	return states, nil
}

// RoutedClientAddrs returns the routed client's addresses, IPv4 first.
func (l *Lab) RoutedClientAddrs() []netip.Addr {
	var out []netip.Addr
	if l.Has4() {
		out = append(out, routedClientAddr4)
	}
	if l.Has6() {
		out = append(out, routedClientAddr6)
	}
	return out
}
