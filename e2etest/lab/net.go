package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"time"
)

// run runs a command, in a network namespace unless ns is "".
func run(ns string, args ...string) error {
	_, err := Output(ns, args...)
	return err
}

// Output runs a command, in network namespace ns unless ns is "", and returns its combined
// output; the error names the command and holds the output.
func Output(ns string, args ...string) (string, error) {
	if ns != "" {
		args = append([]string{"ip", "netns", "exec", ns}, args...)
	}
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// namespaces lists the network namespaces named with Prefix.
func namespaces() ([]string, error) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return nil, fmt.Errorf("ip netns list: %w", err)
	}
	var nss []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(f[0], Prefix+"-") {
			nss = append(nss, f[0])
		}
	}
	return nss, nil
}

// prefixedLinks lists the root namespace's links named with Prefix.
func prefixedLinks() ([]string, error) {
	out, err := exec.Command("ip", "-j", "link", "show").Output()
	if err != nil {
		return nil, fmt.Errorf("ip link show: %w", err)
	}
	var links []struct {
		Name string `json:"ifname"`
		Kind string `json:"link_type"`
	}
	if err := json.Unmarshal(out, &links); err != nil {
		return nil, fmt.Errorf("parse ip -j link show: %w", err)
	}
	var names []string
	for _, l := range links {
		if strings.HasPrefix(l.Name, Prefix+"-") {
			names = append(names, l.Name)
		}
	}
	return names, nil
}

func linkExists(name string) bool {
	return exec.Command("ip", "link", "show", "dev", name).Run() == nil
}

// createNetwork makes the bridge with the API server's address, the node and client
// namespaces and their veths, and the kube-proxy emulation's nftables in each node.
func (l *Lab) createNetwork(ctx context.Context) error {
	if err := l.checkHostRoutes(); err != nil {
		return err
	}
	steps := [][]string{
		// No multicast snooping: NDP's solicited-node multicast floods to every port. No
		// netfilter on bridged frames: the host's firewall has no business with the segment.
		{"ip", "link", "add", Bridge, "type", "bridge", "mcast_snooping", "0"},
		{"ip", "link", "set", Bridge, "up"},
	}
	if l.Has4() {
		steps = append(steps, []string{"ip", "addr", "add", prefixOf(bridgeAddr4, segment4), "dev", Bridge})
	}
	if l.Has6() {
		steps = append(steps, []string{"ip", "addr", "add", prefixOf(bridgeAddr6, segment6), "dev", Bridge, "nodad"})
	}
	for _, s := range steps {
		if err := run("", s...); err != nil {
			return err
		}
	}
	_ = run("", "ip", "link", "set", Bridge, "type", "bridge", "nf_call_iptables", "0", "nf_call_ip6tables", "0", "nf_call_arptables", "0")
	for i, n := range l.Nodes {
		if err := l.createHost(n.Namespace, fmt.Sprintf("%s-n%d", Prefix, i+1), n.MAC, n.Addr4, n.Addr6); err != nil {
			return err
		}
		if err := l.createProxy(n); err != nil {
			return err
		}
	}
	if err := l.createHost(l.ClientNS, Prefix+"-cl", l.ClientMAC, l.ClientAddr4, l.ClientAddr6); err != nil {
		return err
	}
	if err := l.createRouter(); err != nil {
		return err
	}
	// The client takes gratuitous ARP into its table, as the failover tests expect of a client.
	for _, s := range []string{"net.ipv4.conf.all.arp_accept=1", "net.ipv4.conf." + NodeIf + ".arp_accept=1"} {
		if err := run(l.ClientNS, "sysctl", "-qw", s); err != nil {
			return err
		}
	}
	return l.waitLinkLocal(ctx)
}

func prefixOf(a netip.Addr, p netip.Prefix) string {
	return netip.PrefixFrom(a, p.Bits()).String()
}

// createHost makes network namespace ns with NodeIf (mac, addresses) plugged into the bridge
// through rootIf.
func (l *Lab) createHost(ns, rootIf, mac string, a4, a6 netip.Addr) error {
	steps := [][]string{
		{"ip", "netns", "add", ns},
		// No duplicate address detection: addresses and link-local ones are usable at once.
		{"ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0"},
		{"ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0"},
		{"ip", "link", "add", rootIf, "type", "veth", "peer", "name", NodeIf, "address", mac, "netns", ns},
		{"ip", "link", "set", rootIf, "master", Bridge, "up"},
		{"ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"},
	}
	if a4.IsValid() {
		steps = append(steps, []string{"ip", "netns", "exec", ns, "ip", "addr", "add", prefixOf(a4, segment4), "dev", NodeIf})
	}
	if a6.IsValid() {
		steps = append(steps, []string{"ip", "netns", "exec", ns, "ip", "addr", "add", prefixOf(a6, segment6), "dev", NodeIf, "nodad"})
	}
	steps = append(steps, []string{"ip", "netns", "exec", ns, "ip", "link", "set", NodeIf, "up"})
	for _, s := range steps {
		if err := run("", s...); err != nil {
			return err
		}
	}
	return nil
}

// waitLinkLocal waits until every namespace's interface has a usable link-local address: the
// speakers' NDP sockets bind to it.
func (l *Lab) waitLinkLocal(ctx context.Context) error {
	if !l.Has6() {
		return nil
	}
	for _, ns := range append(l.nodeNamespaces(), l.ClientNS, l.Router.Namespace) {
		err := Poll(ctx, 10*time.Second, func() (bool, error) {
			out, err := Output(ns, "ip", "-6", "addr", "show", "dev", NodeIf, "scope", "link")
			return err == nil && strings.Contains(out, "fe80::") && !strings.Contains(out, "tentative"), nil
		})
		if err != nil {
			return fmt.Errorf("link-local address in %s: %w", ns, err)
		}
	}
	return nil
}

// The kube-proxy emulation: in each node, a DNAT from Service address and port to the node's
// backend, kept in nftables maps that ExposeService fills. The kernel never owns a Service
// address, so only the speaker answers ARP/NDP for it.
const nftTable = Prefix

func (l *Lab) createProxy(n Node) error {
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s {\n", nftTable)
	fmt.Fprintf(&b, "  map svc4 { type ipv4_addr . inet_service : ipv4_addr . inet_service; }\n")
	fmt.Fprintf(&b, "  map svc6 { type ipv6_addr . inet_service : ipv6_addr . inet_service; }\n")
	fmt.Fprintf(&b, "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n")
	fmt.Fprintf(&b, "    dnat ip to ip daddr . tcp dport map @svc4\n")
	fmt.Fprintf(&b, "    dnat ip6 to ip6 daddr . tcp dport map @svc6\n  }\n}\n")
	cmd := exec.Command("ip", "netns", "exec", n.Namespace, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nftables in %s: %w: %s", n.Namespace, err, out)
	}
	return nil
}

// setProxy adds (or, with add false, removes) the DNAT of addr:port to the node's backend.
func (l *Lab) setProxy(n Node, addr netip.Addr, port int32, add bool) error {
	m, backend := "svc4", n.Addr4
	if addr.Is6() {
		m, backend = "svc6", n.Addr6
	}
	if !backend.IsValid() {
		return fmt.Errorf("node %s has no address of the family of %s", n.Name, addr)
	}
	verb, elem := "add", fmt.Sprintf("{ %s . %d : %s . %d }", addr, port, backend, BackendPort)
	if !add {
		verb, elem = "delete", fmt.Sprintf("{ %s . %d }", addr, port)
	}
	return run(n.Namespace, "nft", verb, "element", "inet", nftTable, m, elem)
}

// Poll calls cond every 20ms until it returns true or an error, or timeout passes.
func Poll(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not within %s: %w", timeout, ctx.Err())
		case <-t.C:
		}
	}
}

// checkHostRoutes fails when a route of the root namespace overlaps the lab's prefixes: the
// lab would shadow the host's own network.
func (l *Lab) checkHostRoutes() error {
	for _, seg := range append(l.segmentPrefixes(), l.routedPrefixes()...) {
		fam := "-4"
		if seg.Addr().Is6() {
			fam = "-6"
		}
		out, err := exec.Command("ip", "-j", fam, "route", "show", "table", "all").Output()
		if err != nil {
			return fmt.Errorf("ip route show: %w", err)
		}
		var routes []struct {
			Dst string `json:"dst"`
			Dev string `json:"dev"`
		}
		if err := json.Unmarshal(out, &routes); err != nil {
			return fmt.Errorf("parse ip -j route: %w", err)
		}
		for _, r := range routes {
			p, err := netip.ParsePrefix(r.Dst)
			if err != nil {
				a, aerr := netip.ParseAddr(r.Dst)
				if aerr != nil {
					continue // "default", multicast and the like
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			if p.Bits() > 0 && p.Overlaps(seg) && !strings.HasPrefix(r.Dev, Prefix+"-") {
				return fmt.Errorf("the host routes %s via %s, which overlaps the lab's segment %s: the lab would shadow it", r.Dst, r.Dev, seg)
			}
		}
	}
	return nil
}
