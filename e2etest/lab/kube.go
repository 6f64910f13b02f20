package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// Client returns a client of the lab's API server as an administrator, knowing Herald's kinds.
func (l *Lab) Client() (client.Client, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", l.Kubeconfig())
	if err != nil {
		return nil, fmt.Errorf("lab: kubeconfig: %w", err)
	}
	// No client-side throttling (client-go's default is 5 requests/s): tests and benchmarks make
	// thousands of objects, and the API server has its own fairness.
	cfg.QPS, cfg.Burst = 1000, 2000
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := heraldv1beta1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: scheme})
}

// createClusterObjects installs the CRDs and creates Herald's namespace and the Node objects.
// There is no kubelet: the Nodes are created Ready and nothing changes their status after.
func (l *Lab) createClusterObjects(ctx context.Context) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", l.Kubeconfig())
	if err != nil {
		return err
	}
	if _, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{
		Paths:              []string{filepath.Join(l.Root, "config", "crd", "bases")},
		ErrorIfPathMissing: true,
	}); err != nil {
		return fmt.Errorf("install CRDs: %w", err)
	}
	c, err := l.Client()
	if err != nil {
		return err
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: HeraldNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	for _, n := range l.Nodes {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
			Name:   n.Name,
			Labels: map[string]string{"kubernetes.io/hostname": n.Name, "kubernetes.io/os": "linux"},
		}}
		if err := c.Create(ctx, node); err != nil {
			return fmt.Errorf("create Node %s: %w", n.Name, err)
		}
		now := metav1.Now()
		node.Status = corev1.NodeStatus{Conditions: []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "LabNode",
			Message: "the lab's node namespace " + n.Namespace, LastHeartbeatTime: now, LastTransitionTime: now,
		}}}
		for _, a := range n.Addrs() {
			node.Status.Addresses = append(node.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: a.String()})
		}
		node.Status.Addresses = append(node.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeHostName, Address: n.Name})
		if err := c.Status().Update(ctx, node); err != nil {
			return fmt.Errorf("set the status of Node %s: %w", n.Name, err)
		}
	}
	pw := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: RouterPasswordSecret, Namespace: HeraldNamespace},
		StringData: map[string]string{"password": routerPassword}}
	if err := c.Create(ctx, pw); err != nil {
		return fmt.Errorf("create Secret %s: %w", pw.Name, err)
	}
	for _, p := range l.RouterPeers() {
		if err := c.Create(ctx, p); err != nil {
			return fmt.Errorf("create BGPPeer %s: %w", p.Name, err)
		}
	}
	return l.applyChartRBAC(ctx)
}

// RouterPeers are the BGPPeers of the lab's router, one session per family ("router-ipv4",
// "router-ipv6"), with the password in Secret RouterPasswordSecret, as the lab creates them.
func (l *Lab) RouterPeers() []*heraldv1beta1.BGPPeer {
	var peers []*heraldv1beta1.BGPPeer
	for _, a := range l.Router.Addrs() {
		fam := heraldv1beta1.AddressFamilyIPv4
		if a.Is6() {
			fam = heraldv1beta1.AddressFamilyIPv6
		}
		peers = append(peers, &heraldv1beta1.BGPPeer{
			ObjectMeta: metav1.ObjectMeta{Name: "router-" + strings.ToLower(string(fam)), Namespace: HeraldNamespace},
			Spec: heraldv1beta1.BGPPeerSpec{
				MyASN: int64(l.Router.NodeASN), PeerASN: ptr.To(int64(l.Router.ASN)),
				PeerAddress: heraldv1beta1.IPAddress(a.String()), AddressFamilies: []heraldv1beta1.AddressFamily{fam},
				PasswordSecret: &corev1.SecretReference{Name: RouterPasswordSecret},
			},
		})
	}
	return peers
}

// ApplyL2Pool creates an IPAddressPool of the lab's layer 2 addresses and an L2Advertisement of
// it, both named name, unless they exist.
func (l *Lab) ApplyL2Pool(ctx context.Context, name string) error {
	ad := &heraldv1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: HeraldNamespace}}
	ad.Spec.IPAddressPools = []heraldv1beta1.ObjectName{heraldv1beta1.ObjectName(name)}
	return l.createPool(ctx, name, l.PoolRanges, ad)
}

// ApplyBGPPool creates an IPAddressPool of the lab's BGP addresses (off the segment, reached
// through the router) and a BGPAdvertisement of it to every peer, both named name, unless they
// exist. The pool takes only Services that ask for it (herald.io/address-pool): autoAssign is
// off, so that the layer 2 pool stays the default.
func (l *Lab) ApplyBGPPool(ctx context.Context, name string) error {
	ad := &heraldv1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: HeraldNamespace}}
	ad.Spec.IPAddressPools = []heraldv1beta1.ObjectName{heraldv1beta1.ObjectName(name)}
	return l.createPool(ctx, name, l.BGPPoolRanges, ad, func(p *heraldv1beta1.IPAddressPool) { p.Spec.AutoAssign = ptr.To(false) })
}

func (l *Lab) createPool(ctx context.Context, name string, ranges []string, ad client.Object, edit ...func(*heraldv1beta1.IPAddressPool)) error {
	c, err := l.Client()
	if err != nil {
		return err
	}
	pool := &heraldv1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: HeraldNamespace}}
	for _, r := range ranges {
		pool.Spec.Addresses = append(pool.Spec.Addresses, heraldv1beta1.AddressRange(r))
	}
	for _, e := range edit {
		e(pool)
	}
	for _, obj := range []client.Object{pool, ad} {
		err := c.Create(ctx, obj)
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("create %T %s: %w", obj, name, err)
		}
	}
	return nil
}

// ServiceSpec describes a LoadBalancer Service the lab makes, with its endpoints.
type ServiceSpec struct {
	Namespace, Name string
	// Families: IPv4, IPv6 or both (dual-stack); default the lab's first family.
	Families []corev1.IPFamily
	// Port is the Service port; default 80. It maps to every endpoint node's backend.
	Port int32
	// EndpointNodes are the nodes with a ready endpoint; default (nil) all.
	EndpointNodes []string
	// Local sets externalTrafficPolicy: Local.
	Local bool
	// Annotations, such as herald.io/loadBalancerIPs.
	Annotations map[string]string
}

// CreateService makes a LoadBalancer Service and its EndpointSlices (one endpoint per chosen
// node, at the node's backend), waits until Herald gave it an address of each family, and
// programs the kube-proxy emulation of the endpoint nodes for those addresses. It returns the
// Service as it is then.
func (l *Lab) CreateService(ctx context.Context, s ServiceSpec) (*corev1.Service, error) {
	if s.Port == 0 {
		s.Port = 80
	}
	if len(s.Families) == 0 {
		s.Families = []corev1.IPFamily{corev1.IPv4Protocol}
		if !l.Has4() {
			s.Families = []corev1.IPFamily{corev1.IPv6Protocol}
		}
	}
	if len(s.EndpointNodes) == 0 {
		for _, n := range l.Nodes {
			s.EndpointNodes = append(s.EndpointNodes, n.Name)
		}
	}
	c, err := l.Client()
	if err != nil {
		return nil, err
	}
	if s.Namespace != "default" && s.Namespace != "" {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.Namespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, err
		}
	}
	policy := corev1.IPFamilyPolicySingleStack
	if len(s.Families) > 1 {
		policy = corev1.IPFamilyPolicyRequireDualStack
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: s.Name, Annotations: s.Annotations},
		Spec: corev1.ServiceSpec{
			Type:                  corev1.ServiceTypeLoadBalancer,
			IPFamilies:            s.Families,
			IPFamilyPolicy:        &policy,
			Selector:              map[string]string{"app": s.Name},
			ExternalTrafficPolicy: etp(s.Local),
			Ports: []corev1.ServicePort{{
				Name: "http", Protocol: corev1.ProtocolTCP, Port: s.Port, TargetPort: intstr.FromInt32(BackendPort),
			}},
		},
	}
	if err := c.Create(ctx, svc); err != nil {
		return nil, fmt.Errorf("create Service %s/%s: %w", s.Namespace, s.Name, err)
	}
	for _, fam := range s.Families {
		if err := l.createEndpointSlice(ctx, c, svc, fam, s.EndpointNodes); err != nil {
			return nil, err
		}
	}
	var addrs []netip.Addr
	err = Poll(ctx, 30*time.Second, func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
			return false, nil
		}
		addrs = IngressAddrs(svc)
		return len(addrs) == len(s.Families), nil
	})
	if err != nil {
		return nil, fmt.Errorf("the Service %s/%s got no address of each family %v: %w", s.Namespace, s.Name, s.Families, err)
	}
	if err := l.programProxy(svc, s.EndpointNodes); err != nil {
		return nil, err
	}
	return svc, nil
}

func etp(local bool) corev1.ServiceExternalTrafficPolicy {
	if local {
		return corev1.ServiceExternalTrafficPolicyLocal
	}
	return corev1.ServiceExternalTrafficPolicyCluster
}

// programProxy sets the kube-proxy emulation of every node for a Service whose endpoints are
// on endpointNodes. As kube-proxy does, a node serves traffic of an externalTrafficPolicy
// Cluster Service whenever the Service has an endpoint anywhere (the lab serves it from the
// receiving node's backend, so that the answer names the node traffic came in at), and of a
// Local one only with an endpoint of its own.
func (l *Lab) programProxy(svc *corev1.Service, endpointNodes []string) error {
	for _, n := range l.Nodes {
		serve := slices.Contains(endpointNodes, n.Name)
		if svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
			serve = len(endpointNodes) > 0
		}
		for _, a := range IngressAddrs(svc) {
			for _, p := range svc.Spec.Ports {
				// Remove first: adding an element that exists fails.
				if err := l.setProxy(n, a, p.Port, false); err != nil && !strings.Contains(err.Error(), "No such file") {
					return err
				}
				if !serve {
					continue
				}
				if err := l.setProxy(n, a, p.Port, true); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (l *Lab) createEndpointSlice(ctx context.Context, c client.Client, svc *corev1.Service, fam corev1.IPFamily, nodes []string) error {
	es, err := l.endpointSlice(svc, fam, nodes)
	if err != nil {
		return err
	}
	if err := c.Create(ctx, es); err != nil {
		return fmt.Errorf("create EndpointSlice %s/%s: %w", es.Namespace, es.Name, err)
	}
	return nil
}

// endpointSlice is the EndpointSlice of a Service's family with a ready endpoint on each of nodes.
func (l *Lab) endpointSlice(svc *corev1.Service, fam corev1.IPFamily, nodes []string) (*discoveryv1.EndpointSlice, error) {
	at := discoveryv1.AddressTypeIPv4
	if fam == corev1.IPv6Protocol {
		at = discoveryv1.AddressTypeIPv6
	}
	es := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: svc.Namespace,
			Name:      svc.Name + "-" + strings.ToLower(string(fam)),
			Labels: map[string]string{
				discoveryv1.LabelServiceName: svc.Name,
				discoveryv1.LabelManagedBy:   "herald-lab",
			},
		},
		AddressType: at,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To[int32](BackendPort)}},
	}
	for _, name := range nodes {
		n, ok := l.Node(name)
		if !ok {
			return nil, fmt.Errorf("no node %s", name)
		}
		a := n.Addr4
		if fam == corev1.IPv6Protocol {
			a = n.Addr6
		}
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{a.String()},
			NodeName:   ptr.To(n.Name),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)},
		})
	}
	return es, nil
}

// SetEndpoints replaces, in place, the endpoints of a Service the lab made: ready ones on
// nodes (none if empty), in each of its families; then it programs the kube-proxy emulation
// to match.
func (l *Lab) SetEndpoints(ctx context.Context, svc *corev1.Service, nodes []string) error {
	c, err := l.Client()
	if err != nil {
		return err
	}
	for _, fam := range svc.Spec.IPFamilies {
		want, err := l.endpointSlice(svc, fam, nodes)
		if err != nil {
			return err
		}
		var es discoveryv1.EndpointSlice
		if err := c.Get(ctx, client.ObjectKeyFromObject(want), &es); err != nil {
			return fmt.Errorf("get EndpointSlice %s/%s: %w", want.Namespace, want.Name, err)
		}
		es.Endpoints = want.Endpoints
		if err := c.Update(ctx, &es); err != nil {
			return fmt.Errorf("update EndpointSlice %s/%s: %w", es.Namespace, es.Name, err)
		}
	}
	return l.programProxy(svc, nodes)
}

// DeleteService deletes a Service the lab made, its EndpointSlices and its proxy entries.
func (l *Lab) DeleteService(ctx context.Context, svc *corev1.Service) error {
	c, err := l.Client()
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range l.Nodes {
		for _, a := range IngressAddrs(svc) {
			for _, p := range svc.Spec.Ports {
				if err := l.setProxy(n, a, p.Port, false); err != nil && !strings.Contains(err.Error(), "No such file") {
					errs = append(errs, err)
				}
			}
		}
	}
	errs = append(errs, client.IgnoreNotFound(c.DeleteAllOf(ctx, &discoveryv1.EndpointSlice{},
		client.InNamespace(svc.Namespace), client.MatchingLabels{discoveryv1.LabelServiceName: svc.Name})))
	errs = append(errs, client.IgnoreNotFound(c.Delete(ctx, svc)))
	return errors.Join(errs...)
}

// IngressAddrs returns the addresses in a Service's status.loadBalancer.ingress.
func IngressAddrs(svc *corev1.Service) []netip.Addr {
	var out []netip.Addr
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(in.IP); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// Announcers returns the nodes whose ServiceL2Status says they announce addr for the Service.
func (l *Lab) Announcers(ctx context.Context, svc *corev1.Service, addr netip.Addr) ([]string, error) {
	c, err := l.Client()
	if err != nil {
		return nil, err
	}
	var sts heraldv1beta1.ServiceL2StatusList
	if err := c.List(ctx, &sts, client.InNamespace(HeraldNamespace)); err != nil {
		return nil, err
	}
	var nodes []string
	for _, st := range sts.Items {
		if st.Spec.ServiceNamespace == svc.Namespace && st.Spec.ServiceName == svc.Name && slices.Contains(st.Status.Addresses, addr.String()) {
			nodes = append(nodes, st.Spec.Node)
		}
	}
	slices.Sort(nodes)
	return nodes, nil
}

// Dump writes what is needed to debug a failure: Herald's objects, the Services with their
// status, the client's neighbour table and the tail of every speaker's and the controller's log.
func (l *Lab) Dump(ctx context.Context, w io.Writer) {
	fmt.Fprintf(w, "===== lab dump %s\n", time.Now().UTC().Format(time.RFC3339Nano))
	if c, err := l.Client(); err != nil {
		fmt.Fprintf(w, "no client: %v\n", err)
	} else {
		dumpObjects(ctx, w, c)
	}
	for _, cmd := range [][]string{{"ip", "neigh", "show"}, {"ip", "-6", "neigh", "show"}} {
		out, _ := Output(l.ClientNS, cmd...)
		fmt.Fprintf(w, "--- %s: %s\n%s", l.ClientNS, strings.Join(cmd, " "), out)
	}
	for _, n := range l.Nodes {
		out, _ := Output(n.Namespace, "nft", "list", "table", "inet", nftTable)
		fmt.Fprintf(w, "--- %s: nftables\n%s", n.Namespace, out)
	}
	for _, cmd := range []string{"show bgp summary", "show ip route bgp", "show ipv6 route bgp"} {
		out, err := l.Vtysh(cmd)
		fmt.Fprintf(w, "--- router: %s (%v)\n%s", cmd, err, out)
	}
	names := []string{"herald-controller", "bgpd"}
	for _, n := range l.Nodes {
		names = append(names, "speaker-"+n.Name)
	}
	for _, name := range names {
		_, up := l.running(name)
		fmt.Fprintf(w, "--- %s (running: %v), last lines of %s\n%s", name, up, l.LogPath(name), tail(l.LogPath(name), 40))
	}
}

func dumpObjects(ctx context.Context, w io.Writer, c client.Client) {
	var svcs corev1.ServiceList
	if err := c.List(ctx, &svcs); err == nil {
		fmt.Fprintln(w, "--- Services")
		for _, s := range svcs.Items {
			fmt.Fprintf(w, "%s/%s type=%s clusterIPs=%v ingress=%v annotations=%v\n", s.Namespace, s.Name, s.Spec.Type,
				s.Spec.ClusterIPs, IngressAddrs(&s), s.Annotations)
		}
	}
	var pools heraldv1beta1.IPAddressPoolList
	if err := c.List(ctx, &pools); err == nil {
		fmt.Fprintln(w, "--- IPAddressPools")
		for _, p := range pools.Items {
			fmt.Fprintf(w, "%s/%s spec=%+v status=%+v\n", p.Namespace, p.Name, p.Spec, p.Status)
		}
	}
	var ads heraldv1beta1.L2AdvertisementList
	if err := c.List(ctx, &ads); err == nil {
		fmt.Fprintln(w, "--- L2Advertisements")
		for _, a := range ads.Items {
			fmt.Fprintf(w, "%s/%s spec=%+v\n", a.Namespace, a.Name, a.Spec)
		}
	}
	var sts heraldv1beta1.ServiceL2StatusList
	if err := c.List(ctx, &sts); err == nil {
		fmt.Fprintln(w, "--- ServiceL2Statuses")
		for _, s := range sts.Items {
			fmt.Fprintf(w, "%s node=%s service=%s/%s status=%+v\n", s.Name, s.Spec.Node, s.Spec.ServiceNamespace, s.Spec.ServiceName, s.Status)
		}
	}
	var bs heraldv1beta1.ServiceBGPStatusList
	if err := c.List(ctx, &bs); err == nil {
		fmt.Fprintln(w, "--- ServiceBGPStatuses")
		for _, s := range bs.Items {
			fmt.Fprintf(w, "%s node=%s service=%s/%s status=%+v\n", s.Name, s.Spec.Node, s.Spec.ServiceNamespace, s.Spec.ServiceName, s.Status)
		}
	}
	var ss heraldv1beta1.BGPSessionStateList
	if err := c.List(ctx, &ss); err == nil {
		fmt.Fprintln(w, "--- BGPSessionStates")
		for _, s := range ss.Items {
			fmt.Fprintf(w, "%s node=%s peer=%s status=%+v\n", s.Name, s.Spec.Node, s.Spec.Peer, s.Status)
		}
	}
	var cs heraldv1beta1.ConfigurationStateList
	if err := c.List(ctx, &cs); err == nil {
		fmt.Fprintln(w, "--- ConfigurationStates")
		for _, s := range cs.Items {
			fmt.Fprintf(w, "%s status=%+v\n", s.Name, s.Status)
		}
	}
	var evs corev1.EventList
	if err := c.List(ctx, &evs); err == nil {
		fmt.Fprintln(w, "--- Events")
		for _, e := range evs.Items {
			fmt.Fprintf(w, "%s %s/%s %s: %s\n", e.LastTimestamp.UTC().Format(time.RFC3339), e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
		}
	}
}
