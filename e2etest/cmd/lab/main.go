// Command herald-lab brings the Herald lab up and down (see package lab), shows its state, runs
// the demo, and serves as the lab's per-node HTTP backend.
//
//	herald-lab up [-nodes 3] [-family dual|ipv4|ipv6]
//	herald-lab status
//	herald-lab demo
//	herald-lab down
//	herald-lab garbage ...   (malformed input for the chaos tests; see garbage.go)
//	herald-lab arp-wait ...  (resolve an address as soon as it answers; see arpwait.go)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/e2etest/lab"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	var err error
	switch os.Args[1] {
	case "up":
		err = up(ctx, os.Args[2:])
	case "down":
		err = down()
	case "status":
		err = status()
	case "demo":
		err = demo(ctx)
	case "backend":
		err = backend(ctx, os.Args[2:])
	case "garbage":
		err = garbage(ctx, os.Args[2:])
	case "arp-wait":
		err = arpWait(ctx, os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "herald-lab:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: herald-lab up [-nodes N] [-family dual|ipv4|ipv6] | down | status | demo")
	os.Exit(2)
}

func logf(format string, args ...any) { fmt.Printf("lab: "+format+"\n", args...) }

func up(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("up", flag.ExitOnError)
	var opts lab.Options
	fs.IntVar(&opts.Nodes, "nodes", 3, "number of node namespaces")
	family := fs.String("family", string(lab.DualStack), "address families of the segment: dual, ipv4 or ipv6")
	_ = fs.Parse(args)
	opts.Family = lab.Family(*family)
	root, dir, err := lab.DefaultDir()
	if err != nil {
		return err
	}
	l, err := lab.Up(ctx, root, dir, opts, logf)
	if err != nil {
		return err
	}
	logf("up: %d nodes, API server https://%s; . %s/env to use it; logs in %s", len(l.Nodes), l.APIServer, l.Dir, l.LogDir())
	return nil
}

func down() error {
	_, dir, err := lab.DefaultDir()
	if err != nil {
		return err
	}
	if err := lab.Down(dir, logf); err != nil {
		return err
	}
	logf("down: nothing of the lab is left")
	return nil
}

func open() (*lab.Lab, error) {
	_, dir, err := lab.DefaultDir()
	if err != nil {
		return nil, err
	}
	l, err := lab.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("the lab is not up (make lab-up): %w", err)
	}
	return l, nil
}

func status() error {
	l, err := open()
	if err != nil {
		return err
	}
	fmt.Printf("API server https://%s, kubeconfig %s\n", l.APIServer, l.Kubeconfig())
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NODE\tNETNS\tMAC\tADDRESSES")
	for _, n := range l.Nodes {
		fmt.Fprintf(w, "%s\t%s\t%s\t%v\n", n.Name, n.Namespace, n.MAC, n.Addrs())
	}
	fmt.Fprintf(w, "client\t%s\t%s\t%v %v\n", l.ClientNS, l.ClientMAC, l.ClientAddr4, l.ClientAddr6)
	fmt.Fprintf(w, "router (AS %d)\t%s\t%s\t%v\n", l.Router.ASN, l.Router.Namespace, l.Router.MAC, l.Router.Addrs())
	fmt.Fprintf(w, "routed client\t%s\t\t%v\n", l.RoutedClientNS, l.RoutedClientAddrs())
	_ = w.Flush()
	fmt.Printf("layer 2 pool: %s\nBGP pool: %s\n", strings.Join(l.PoolRanges, ", "), strings.Join(l.BGPPoolRanges, ", "))
	if problems := l.Check(); len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	fmt.Println("every process runs")
	return printServices(context.Background(), l)
}

// printServices prints the LoadBalancer Services the way `kubectl get svc -A` does.
func printServices(ctx context.Context, l *lab.Lab) error {
	c, err := l.Client()
	if err != nil {
		return err
	}
	var svcs corev1.ServiceList
	if err := c.List(ctx, &svcs); err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 3, ' ', 0)
	fmt.Fprintln(w, "NAMESPACE\tNAME\tTYPE\tCLUSTER-IP\tEXTERNAL-IP\tPORT(S)")
	for _, s := range svcs.Items {
		if s.Spec.Type != corev1.ServiceTypeLoadBalancer {
			continue
		}
		ext := "<pending>"
		if addrs := lab.IngressAddrs(&s); len(addrs) > 0 {
			var ss []string
			for _, a := range addrs {
				ss = append(ss, a.String())
			}
			ext = strings.Join(ss, ",")
		}
		var ports []string
		for _, p := range s.Spec.Ports {
			ports = append(ports, fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol))
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Namespace, s.Name, s.Spec.Type, strings.Join(s.Spec.ClusterIPs, ","), ext, strings.Join(ports, ","))
	}
	return w.Flush()
}

func demo(ctx context.Context) error {
	l, err := open()
	if err != nil {
		return err
	}
	fmt.Println("\n== an IPAddressPool named demo in", lab.HeraldNamespace, "with", strings.Join(l.PoolRanges, ", "))
	fmt.Println("   announced with an L2Advertisement (ARP/NDP on the segment) and a BGPAdvertisement (to the router)")
	if err := l.ApplyL2Pool(ctx, "demo"); err != nil {
		return err
	}
	c, err := l.Client()
	if err != nil {
		return err
	}
	ad := &heraldv1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: lab.HeraldNamespace},
		Spec: heraldv1beta1.BGPAdvertisementSpec{IPAddressPools: []heraldv1beta1.ObjectName{"demo"}}}
	if err := c.Create(ctx, ad); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	fams := []corev1.IPFamily{}
	if l.Has4() {
		fams = append(fams, corev1.IPv4Protocol)
	}
	if l.Has6() {
		fams = append(fams, corev1.IPv6Protocol)
	}
	var svc *corev1.Service
	existing := &corev1.Service{}
	if err := c.Get(ctx, clientKey("demo", "web"), existing); err == nil {
		svc = existing
	} else {
		fmt.Println("== a LoadBalancer Service demo/web with an endpoint on every node")
		if svc, err = l.CreateService(ctx, lab.ServiceSpec{Namespace: "demo", Name: "web", Families: fams}); err != nil {
			return err
		}
	}
	fmt.Println("\n$ kubectl get svc -A")
	if err := printServices(ctx, l); err != nil {
		return err
	}
	fmt.Printf("\n== from %s, on the nodes' layer 2 segment: the elected node answers ARP/NDP\n", l.ClientNS)
	for _, a := range lab.IngressAddrs(svc) {
		out, err := curlUntil(ctx, l.ClientNS, a)
		if err != nil {
			return err
		}
		// The owner writes its ServiceL2Status just after it starts answering: wait for it.
		var owners []string
		_ = lab.Poll(ctx, 10*time.Second, func() (bool, error) {
			owners, _ = l.Announcers(ctx, svc, a)
			return len(owners) > 0, nil
		})
		fmt.Printf("$ ip netns exec %s curl http://%s/\n%s", l.ClientNS, urlHost(a), out)
		fmt.Printf("   -> answered by %s; ServiceL2Status says %v announces %s\n", strings.TrimSpace(out), owners, a)
	}
	fmt.Printf("\n== from %s, behind the router: every node announces over BGP, the router spreads connections (ECMP)\n", l.RoutedClientNS)
	for _, a := range lab.IngressAddrs(svc) {
		p := netip.PrefixFrom(a, a.BitLen())
		var nhs []netip.Addr
		if err := lab.Poll(ctx, 30*time.Second, func() (bool, error) {
			nhs, _ = l.RouterNextHops(p)
			return len(nhs) == len(l.Nodes), nil
		}); err != nil {
			return fmt.Errorf("the router has next hops %v for %s, want one per node: %w", nhs, p, err)
		}
		fmt.Printf("router: %s via %v\n", p, nhs)
		if _, err := curlUntil(ctx, l.RoutedClientNS, a); err != nil {
			return err
		}
		count := map[string]int{}
		for range 30 {
			out, err := lab.Output(l.RoutedClientNS, "curl", "-sS", "-g", "--max-time", "2", "http://"+urlHost(a)+"/")
			if err == nil {
				count[strings.TrimSpace(out)]++
			}
		}
		fmt.Printf("$ for i in $(seq 30); do ip netns exec %s curl -s http://%s/; done | sort | uniq -c\n", l.RoutedClientNS, urlHost(a))
		for _, n := range l.Nodes {
			fmt.Printf("%7d %s\n", count[n.Name], n.Name)
		}
	}
	fmt.Printf(`
Explore:
  . %s/env                            # KUBECONFIG and the lab's names
  kubectl get svc -A; kubectl -n %s get servicel2statuses,servicebgpstatuses,bgpsessionstates   # if you have kubectl
  ip netns exec %s ip neigh           # the client's neighbour table
  ip netns exec %s arping -c 2 -I eth0 %s
  ip netns exec %s vtysh --vty_socket %s -c 'show bgp summary' -c 'show ip route bgp'
  kill -9 $(cat %s/run/speaker-node1.pid)   # or -TERM: watch another node take over
  %s/herald-lab status
  logs: %s
Tear down: make lab-down
`, l.Dir, lab.HeraldNamespace, l.ClientNS, l.ClientNS, lab.IngressAddrs(svc)[0], l.Router.Namespace, l.Router.Dir, l.Dir, l.BinDir(), l.LogDir())
	return nil
}

func urlHost(a netip.Addr) string {
	if a.Is6() {
		return "[" + a.String() + "]"
	}
	return a.String()
}

// curlUntil fetches http://a/ from namespace ns until it answers, for up to 15 seconds.
func curlUntil(ctx context.Context, ns string, a netip.Addr) (string, error) {
	var out string
	var err error
	if perr := lab.Poll(ctx, 15*time.Second, func() (bool, error) {
		out, err = lab.Output(ns, "curl", "-sS", "-g", "--max-time", "2", "http://"+urlHost(a)+"/")
		return err == nil, nil
	}); perr != nil {
		return "", fmt.Errorf("curl http://%s/ from %s: %w", urlHost(a), ns, errors.Join(perr, err))
	}
	return out, nil
}

// backend answers every HTTP request with the node name: the lab's stand-in for a pod.
func backend(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("backend", flag.ExitOnError)
	name := fs.String("name", "", "node name to answer with")
	listen := fs.String("listen", ":8080", "address to listen on")
	_ = fs.Parse(args)
	srv := &http.Server{Addr: *listen, ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, *name)
	})}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func clientKey(ns, name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }
