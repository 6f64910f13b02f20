package k8s

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/announcer"
	"github.com/heraldlb/herald/internal/config"
	"github.com/heraldlb/herald/internal/membership"
)

// Labels on the status objects the speaker writes, to find its own.
const (
	LabelNode             = "herald.io/node"
	LabelServiceName      = "herald.io/service-name"
	LabelServiceNamespace = "herald.io/service-namespace"
	// LabelExcludeFromLB is the well-known label that keeps a node out of load balancing.
	LabelExcludeFromLB = "node.kubernetes.io/exclude-from-external-load-balancers"
	// ReasonAnnounced is the event a node records on a Service when it starts answering for it.
	ReasonAnnounced = "AnnouncedByNode"
)

// L2Setter is what the speaker hands its layer 2 state to (internal/layer2.Speaker).
type L2Setter interface {
	Set(desired map[string][]netip.Addr) error
}

// L2SpeakerOptions configure the layer 2 speaker reconciler.
type L2SpeakerOptions struct {
	// Node is the node this speaker runs on.
	Node string
	// Namespace holds Herald's configuration.
	Namespace string
	// LoadBalancerClass is the class served; "" serves Services without a class.
	LoadBalancerClass string
	// Membership is the live set of speakers. Nil means memberlist is disabled: the live set is
	// then the nodes whose Ready condition is True, which every speaker reads alike from the API
	// server, at the cost of slower failover (the node lifecycle controller's grace period).
	Membership membership.Membership
	// SettleTime is how long after start a speaker that sees no peer waits before it announces:
	// until its first join completes it sees only itself and would claim every address.
	// Default 2s; a peer seen earlier ends the wait.
	SettleTime time.Duration
	// Layer2 answers ARP/NDP.
	Layer2 L2Setter
	// BGP advertises routes; nil disables BGP.
	BGP BGPSetter
	// Interfaces lists this node's interfaces; nil reads them from the system.
	Interfaces func() ([]announcer.Interface, error)
	Logger     *slog.Logger

	skipNameValidation bool
	// gauges, when set, replace the process-wide configuration metrics (tests).
	gauges configGauges
}

// L2Speaker recomputes, on any change of Services, endpoints, nodes, configuration or live
// speakers, which Service addresses this node answers for, hands that to layer 2, and keeps
// the ServiceL2Status objects and events in line. Everything is recomputed from the informer
// caches, so the speaker keeps answering, and keeps deciding on membership changes, when the API
// server is unreachable.
type L2Speaker struct {
	client client.Client
	reader client.Reader
	// apiReader reads Secrets directly: the speaker does not cache every Secret it may read.
	apiReader client.Reader
	recorder  record.EventRecorder
	opts      L2SpeakerOptions
	log       *slog.Logger

	// keeper holds the last valid configuration and reports on it.
	keeper *configKeeper

	mu sync.Mutex
	// owned are the addresses this node announced at the last sync, per Service key, for events.
	owned map[string][]netip.Addr
	// restored is false until owned was seeded from the status objects of a previous run.
	restored bool
	// started is when the reconciler was built, for SettleTime; frozen stops changes to layer 2
	// during the hand-over at shutdown.
	started time.Time
	frozen  bool
	// passwords are the BGP passwords last read, by Secret name: used while the API server
	// cannot be reached, so that sessions stay up.
	passwords map[string]string
}

var l2SyncKey = reconcile.Request{NamespacedName: types.NamespacedName{Name: "layer2"}}

// NewL2Speaker builds the reconciler; SetupWithManager registers it.
func NewL2Speaker(mgr manager.Manager, opts L2SpeakerOptions) *L2Speaker {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Interfaces == nil {
		opts.Interfaces = systemInterfaces
	}
	if opts.SettleTime <= 0 {
		opts.SettleTime = 2 * time.Second
	}
	return &L2Speaker{
		client:    mgr.GetClient(),
		reader:    mgr.GetCache(),
		apiReader: mgr.GetAPIReader(),
		recorder:  mgr.GetEventRecorderFor("herald-speaker"),
		opts:      opts,
		log:       opts.Logger,
		owned:     map[string][]netip.Addr{},
		started:   time.Now(),
		keeper:    newConfigKeeper(opts.Logger, opts.gauges),
	}
}

// Freeze stops every further change to what layer 2 serves: at shutdown the speaker keeps
// answering while it leaves the membership and the others take over.
func (s *L2Speaker) Freeze() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frozen = true
}

// SetupWithManager watches everything the outcome depends on; every change enqueues the one
// sync key, so bursts coalesce into one recomputation.
func (s *L2Speaker) SetupWithManager(mgr manager.Manager) error {
	all := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{l2SyncKey}
	})
	membershipEvents := make(chan event.GenericEvent, 1)
	// One sync at start, so that an empty cluster is handled (and reported) too.
	membershipEvents <- event.GenericEvent{Object: &corev1.Node{}}
	var changed <-chan struct{}
	if s.opts.Membership != nil {
		changed = s.opts.Membership.Changed()
	}
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-changed:
				select {
				case membershipEvents <- event.GenericEvent{Object: &corev1.Node{}}:
				default:
				}
			}
		}
	})); err != nil {
		return err
	}
	if s.opts.BGP != nil {
		// Sessions change without Kubernetes events: their state objects are refreshed on a
		// timer of their own, so that the whole sync does not run every few seconds.
		if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
			every(ctx, sessionRefresh, func() {
				if err := s.syncSessionStates(ctx); err != nil && ctx.Err() == nil {
					s.log.Debug("BGP session states not written", "error", err.Error())
				}
			})
			return nil
		})); err != nil {
			return err
		}
	}
	if err := mgr.Add(newConfigStateWriter(mgr, s.keeper, s.opts.Namespace,
		heraldv1beta1.ConfigurationStateSpec{Component: heraldv1beta1.ComponentSpeaker, Node: s.opts.Node}, s.recorder, s.log)); err != nil {
		return fmt.Errorf("add ConfigurationState writer: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("layer2").
		WithOptions(controller.Options{MaxConcurrentReconciles: 1, SkipNameValidation: &s.opts.skipNameValidation}).
		Watches(&corev1.Service{}, all).
		Watches(&discoveryv1.EndpointSlice{}, all).
		Watches(&corev1.Node{}, all).
		Watches(&heraldv1beta1.IPAddressPool{}, all).
		Watches(&heraldv1beta1.L2Advertisement{}, all).
		Watches(&heraldv1beta1.BGPAdvertisement{}, all).
		Watches(&heraldv1beta1.BGPPeer{}, all).
		Watches(&heraldv1beta1.BFDProfile{}, all).
		Watches(&heraldv1beta1.Community{}, all).
		WatchesRawSource(source.Channel(membershipEvents, all)).
		Complete(reconcile.Func(s.reconcile))
}

func (s *L2Speaker) reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	in, err := s.inputs(ctx)
	if err != nil {
		return reconcile.Result{}, err
	}
	if in.Config == nil {
		return reconcile.Result{}, nil // no valid configuration yet: announce nothing new
	}
	s.mu.Lock()
	frozen := s.frozen
	s.mu.Unlock()
	if frozen {
		return reconcile.Result{}, nil
	}
	if wait := s.opts.SettleTime - time.Since(s.started); len(in.Live) <= 1 && s.opts.Membership != nil && wait > 0 {
		return reconcile.Result{RequeueAfter: wait}, nil
	}
	anns := announcer.L2(in)
	desired := announcer.ForSelf(s.opts.Node, anns)
	setErr := s.opts.Layer2.Set(desired)
	if setErr != nil {
		s.log.Error("layer 2 could not serve every address", "error", setErr.Error())
	}
	// Routes before status objects: with the API server unreachable, status writes fail, and
	// what is announced must still follow what the caches and memberlist say.
	if s.opts.BGP != nil {
		if err := s.syncBGP(ctx, in); err != nil {
			s.log.Error("BGP could not be brought in line", "error", err.Error())
			setErr = errors.Join(setErr, err)
		}
	}
	if err := s.syncStatus(ctx, anns); err != nil {
		return reconcile.Result{}, errors.Join(setErr, err)
	}
	if setErr != nil {
		// Logged above. What failed (a password Secret not there yet, which is not watched; an
		// interface gone) is tried again soon, not after a growing back-off.
		return reconcile.Result{RequeueAfter: sessionRefresh}, nil
	}
	return reconcile.Result{}, nil
}

// inputs reads the announcer's inputs from the caches.
func (s *L2Speaker) inputs(ctx context.Context) (announcer.Input, error) {
	in := announcer.Input{Self: s.opts.Node}
	if s.opts.Membership != nil {
		in.Live = s.opts.Membership.Live()
	}

	res, err := readResources(ctx, s.reader, s.opts.Namespace)
	if err != nil {
		return in, err
	}
	in.Config = s.keeper.load(res).cfg

	var nodes corev1.NodeList
	if err := s.reader.List(ctx, &nodes); err != nil {
		return in, err
	}
	selfIfs, err := s.opts.Interfaces()
	if err != nil {
		return in, fmt.Errorf("list this node's interfaces: %w", err)
	}
	var metas map[string][]byte
	if ms, ok := s.opts.Membership.(metaSource); ok {
		metas = ms.Meta()
	}
	for i := range nodes.Items {
		n := &nodes.Items[i]
		an := announcer.Node{Name: n.Name, Labels: labels.Set(n.Labels), Excluded: nodeExcluded(n), Interfaces: metaInterfaces(metas[n.Name])}
		if s.opts.Membership == nil && nodeReady(n) {
			in.Live = append(in.Live, n.Name)
		}
		if n.Name == s.opts.Node {
			an.Interfaces = selfIfs
		}
		in.Nodes = append(in.Nodes, an)
	}

	var epSlices discoveryv1.EndpointSliceList
	if err := s.reader.List(ctx, &epSlices); err != nil {
		return in, err
	}
	endpoints := endpointNodes(epSlices.Items)
	var svcs corev1.ServiceList
	if err := s.reader.List(ctx, &svcs); err != nil {
		return in, err
	}
	for i := range svcs.Items {
		svc := &svcs.Items[i]
		if !serves(svc, s.opts.LoadBalancerClass) {
			continue
		}
		addrs := ingressAddresses(svc)
		if len(addrs) == 0 {
			continue
		}
		in.Services = append(in.Services, announcer.Service{
			Key:           serviceKey(svc.Namespace, svc.Name),
			Labels:        labels.Set(svc.Labels),
			Addresses:     addrs,
			LocalTraffic:  svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal,
			EndpointNodes: endpoints[serviceKey(svc.Namespace, svc.Name)],
		})
	}
	return in, nil
}

// readResources lists every configuration object in the namespace.
func readResources(ctx context.Context, r client.Reader, ns string) (config.Resources, error) {
	var (
		res         config.Resources
		pools       heraldv1beta1.IPAddressPoolList
		l2          heraldv1beta1.L2AdvertisementList
		bgpAds      heraldv1beta1.BGPAdvertisementList
		peers       heraldv1beta1.BGPPeerList
		bfd         heraldv1beta1.BFDProfileList
		communities heraldv1beta1.CommunityList
	)
	for _, l := range []client.ObjectList{&pools, &l2, &bgpAds, &peers, &bfd, &communities} {
		if err := r.List(ctx, l, client.InNamespace(ns)); err != nil {
			return res, err
		}
	}
	res.Pools, res.L2Advertisements, res.BGPAdvertisements = pools.Items, l2.Items, bgpAds.Items
	res.BGPPeers, res.BFDProfiles, res.Communities = peers.Items, bfd.Items, communities.Items
	return res, nil
}

// nodeExcluded says whether a node must not announce: it carries the exclusion label or its
// network is unavailable.
func nodeExcluded(n *corev1.Node) bool {
	if _, ok := n.Labels[LabelExcludeFromLB]; ok {
		return true
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeNetworkUnavailable && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// endpointNodes maps Service keys to the nodes running a ready endpoint, or a serving one while
// it terminates (so that connections drain where they are).
func endpointNodes(epSlices []discoveryv1.EndpointSlice) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for i := range epSlices {
		es := &epSlices[i]
		name := es.Labels[discoveryv1.LabelServiceName]
		if name == "" {
			continue
		}
		key := serviceKey(es.Namespace, name)
		for _, ep := range es.Endpoints {
			if ep.NodeName == nil {
				continue
			}
			c := ep.Conditions
			ready := c.Ready == nil || *c.Ready
			serving := c.Serving != nil && *c.Serving && c.Terminating != nil && *c.Terminating
			if !ready && !serving {
				continue
			}
			if out[key] == nil {
				out[key] = map[string]bool{}
			}
			out[key][*ep.NodeName] = true
		}
	}
	return out
}

// syncStatus makes this node's ServiceL2Status objects list exactly the Services it announces,
// and records an event on each Service it starts announcing.
func (s *L2Speaker) syncStatus(ctx context.Context, anns []announcer.L2Announcement) error {
	type entry struct {
		addrs  []netip.Addr
		ifaces []string
	}
	mine := map[string]*entry{}
	owners := announcer.Announcers(anns)
	for _, a := range anns {
		if a.Owner != s.opts.Node {
			continue
		}
		for _, key := range a.Services {
			e := mine[key]
			if e == nil {
				e = &entry{}
				mine[key] = e
			}
			e.addrs = append(e.addrs, a.Address)
			e.ifaces = append(e.ifaces, a.Interfaces...)
		}
	}

	var all, existing heraldv1beta1.ServiceL2StatusList
	if err := s.reader.List(ctx, &all, client.InNamespace(s.opts.Namespace)); err != nil {
		return err
	}
	var stale []*heraldv1beta1.ServiceL2Status
	for i := range all.Items {
		st := &all.Items[i]
		if st.Spec.Node == s.opts.Node {
			existing.Items = append(existing.Items, *st)
		} else if key := serviceKey(st.Spec.ServiceNamespace, st.Spec.ServiceName); mine[key] != nil && !owners[key][st.Spec.Node] {
			// Another node's status for a Service this node now announces, and that node
			// announces none of its addresses any more: it died or handed over and could not
			// clean up. Every speaker computes the same owners, so the new owner removes it. (A
			// dual-stack Service may have one owner per family: each keeps its own status.)
			stale = append(stale, st)
		}
	}
	s.mu.Lock()
	if !s.restored {
		// After a restart, what this node announced before is in its status objects: no event
		// for announcing it again.
		for _, st := range existing.Items {
			key := serviceKey(st.Spec.ServiceNamespace, st.Spec.ServiceName)
			for _, a := range st.Status.Addresses {
				if addr, err := netip.ParseAddr(a); err == nil {
					s.owned[key] = append(s.owned[key], addr)
				}
			}
		}
		s.restored = true
	}
	var started []string
	for key, e := range mine {
		if !slices.Equal(s.owned[key], e.addrs) {
			started = append(started, key)
		}
	}
	s.owned = map[string][]netip.Addr{}
	for key, e := range mine {
		s.owned[key] = e.addrs
	}
	s.mu.Unlock()

	var errs []error
	for _, st := range stale {
		if err := s.client.Delete(ctx, st); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	seen := map[string]bool{}
	for i := range existing.Items {
		st := &existing.Items[i]
		key := serviceKey(st.Spec.ServiceNamespace, st.Spec.ServiceName)
		e := mine[key]
		if e == nil {
			if err := s.client.Delete(ctx, st); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
			continue
		}
		seen[key] = true
		errs = append(errs, s.writeL2Status(ctx, st, e.addrs, e.ifaces))
	}
	for key, e := range mine {
		if seen[key] {
			continue
		}
		ns, name, _ := strings.Cut(key, "/")
		st := &heraldv1beta1.ServiceL2Status{
			ObjectMeta: metav1.ObjectMeta{
				Name:      statusObjectName(s.opts.Node, ns, name),
				Namespace: s.opts.Namespace,
				Labels:    map[string]string{LabelNode: s.opts.Node, LabelServiceName: name, LabelServiceNamespace: ns},
			},
			Spec: heraldv1beta1.ServiceAnnouncementSpec{Node: s.opts.Node, ServiceName: name, ServiceNamespace: ns},
		}
		if err := s.client.Create(ctx, st); err != nil && !apierrors.IsAlreadyExists(err) {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, s.writeL2Status(ctx, st, e.addrs, e.ifaces))
	}

	for _, key := range started {
		ns, name, _ := strings.Cut(key, "/")
		svc := &corev1.Service{}
		if err := s.reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, svc); err != nil {
			continue
		}
		e := mine[key]
		s.recorder.Eventf(svc, corev1.EventTypeNormal, ReasonAnnounced, "node %s announces %s on %s",
			s.opts.Node, joinAddrs(e.addrs), strings.Join(slices.Compact(slices.Sorted(slices.Values(e.ifaces))), ", "))
	}
	return errors.Join(errs...)
}

func (s *L2Speaker) writeL2Status(ctx context.Context, st *heraldv1beta1.ServiceL2Status, addrs []netip.Addr, ifaces []string) error {
	want := heraldv1beta1.ServiceL2StatusStatus{Since: st.Status.Since}
	for _, a := range addrs {
		want.Addresses = append(want.Addresses, a.String())
	}
	want.Interfaces = slices.Compact(slices.Sorted(slices.Values(ifaces)))
	if want.Since == nil {
		now := metav1.Now()
		want.Since = &now
	}
	if slices.Equal(st.Status.Addresses, want.Addresses) && slices.Equal(st.Status.Interfaces, want.Interfaces) && st.Status.Since != nil {
		return nil
	}
	patched := st.DeepCopy()
	patched.Status = want
	if err := s.client.Status().Patch(ctx, patched, client.MergeFrom(st)); err != nil {
		return fmt.Errorf("write ServiceL2Status %s: %w", st.Name, err)
	}
	return nil
}

// statusObjectName is a stable, valid object name for a node's status about a Service.
func statusObjectName(node, ns, name string) string {
	return boundedName(node + "-" + ns + "-" + name)
}

// boundedName keeps a generated object name within the 253 characters Kubernetes allows,
// replacing the tail of a longer one with a hash of the whole.
func boundedName(n string) string {
	if len(n) <= 253 {
		return n
	}
	sum := sha256.Sum256([]byte(n))
	return n[:200] + "-" + hex.EncodeToString(sum[:8])
}

// systemInterfaces lists this host's up, non-loopback interfaces and their prefixes.
func systemInterfaces() ([]announcer.Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []announcer.Interface
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagLoopback != 0 {
			continue
		}
		ai := announcer.Interface{Name: ifi.Name}
		addrs, err := ifi.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				ai.Prefixes = append(ai.Prefixes, p)
			}
		}
		out = append(out, ai)
	}
	return out, nil
}
