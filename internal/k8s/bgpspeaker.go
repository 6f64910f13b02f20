package k8s

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/announcer"
	"github.com/heraldlb/herald/internal/bgp"
	"github.com/heraldlb/herald/internal/config"
)

// BGPSetter is what the speaker hands its BGP state to (internal/bgp.Speaker).
type BGPSetter interface {
	Set(ctx context.Context, d bgp.Desired) error
	Sessions() []bgp.SessionState
}

// sessionRefresh is how often session states are copied to BGPSessionState objects: sessions
// change without any Kubernetes event.
const sessionRefresh = 5 * time.Second

// syncBGP advertises this node's routes and writes the BGP status objects.
func (s *L2Speaker) syncBGP(ctx context.Context, in announcer.Input) error {
	plan := announcer.BGP(in)
	var self *announcer.Node
	for i := range in.Nodes {
		if in.Nodes[i].Name == s.opts.Node {
			self = &in.Nodes[i]
		}
	}
	d := bgp.Desired{Advertisements: plan.Advertisements}
	v4, v6 := nodeAddresses(self)
	var errs []error
	for _, p := range plan.Peers {
		peer, err := s.bgpPeer(ctx, p, v4, v6)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d.Peers = append(d.Peers, peer)
		if !d.RouterID.IsValid() && p.RouterID.IsValid() {
			d.RouterID = p.RouterID
		}
	}
	if !d.RouterID.IsValid() {
		d.RouterID = v4
	}
	if len(d.Peers) > 0 && !d.RouterID.IsValid() {
		return fmt.Errorf("node %s has no IPv4 address for the BGP router ID: set spec.routerID on its BGPPeers", s.opts.Node)
	}
	// Peers whose password cannot be read yet are left out; the others keep their sessions.
	kept := map[string]bool{}
	for _, p := range d.Peers {
		kept[p.Name] = true
	}
	for i := range d.Advertisements {
		d.Advertisements[i].Peers = slices.DeleteFunc(slices.Clone(d.Advertisements[i].Peers), func(n string) bool { return !kept[n] })
	}
	if err := s.opts.BGP.Set(ctx, d); err != nil {
		errs = append(errs, fmt.Errorf("apply BGP state: %w", err))
	}
	errs = append(errs, s.syncBGPStatus(ctx, plan, in))
	return errors.Join(errs...)
}

// bgpPeer turns a configured peer into a session of this node, reading its password Secret.
func (s *L2Speaker) bgpPeer(ctx context.Context, p *config.BGPPeer, v4, v6 netip.Addr) (bgp.Peer, error) {
	peer := bgp.Peer{
		Name: p.Name, Address: p.Address, Port: p.Port, MyASN: p.MyASN, PeerASN: p.PeerASN,
		SourceAddress: p.SourceAddress, HoldTime: p.HoldTime, KeepaliveTime: p.KeepaliveTime,
		Password: p.Password, EBGPMultiHop: p.EBGPMultiHop,
		GracefulRestart: p.RestartTime > 0, RestartTime: p.RestartTime,
	}
	switch p.DynamicASN {
	case heraldv1beta1.DynamicASNInternal:
		peer.PeerASN = p.MyASN
	case heraldv1beta1.DynamicASNExternal:
		peer.PeerASN = 0 // learned from the router's OPEN
	}
	if p.IPv4 {
		peer.Families |= bgp.FamilyIPv4
	}
	if p.IPv6 {
		peer.Families |= bgp.FamilyIPv6
	}
	if p.IPv4 && p.IPv6 {
		peer.CrossFamilyNextHop = v6
		if p.Address.Is6() {
			peer.CrossFamilyNextHop = v4
		}
	}
	if p.PasswordSecret != "" {
		pw, err := s.password(ctx, p.PasswordSecret)
		if err != nil {
			return peer, fmt.Errorf("BGPPeer %q: spec.passwordSecret: %w", p.Name, err)
		}
		peer.Password = pw
	}
	return peer, nil
}

// password reads the "password" key of a Secret in Herald's namespace. When the API server
// cannot be reached, it returns the value read last, so that an outage does not end sessions;
// a Secret that is gone, or lacks the key, is an error.
func (s *L2Speaker) password(ctx context.Context, name string) (string, error) {
	var sec corev1.Secret
	err := s.apiReader.Get(ctx, types.NamespacedName{Namespace: s.opts.Namespace, Name: name}, &sec)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.passwords == nil {
		s.passwords = map[string]string{}
	}
	switch {
	case apierrors.IsNotFound(err):
		delete(s.passwords, name)
		return "", fmt.Errorf("the Secret %q is not found", name)
	case err != nil:
		if pw, ok := s.passwords[name]; ok {
			return pw, nil
		}
		return "", fmt.Errorf("read Secret %q: %w", name, err)
	}
	pw, ok := sec.Data["password"]
	if !ok {
		delete(s.passwords, name)
		return "", fmt.Errorf("the Secret %q has no \"password\" key", name)
	}
	s.passwords[name] = string(pw)
	return string(pw), nil
}

// nodeAddresses picks this node's IPv4 and IPv6 addresses from its interfaces: global unicast
// addresses, the first of each family.
func nodeAddresses(n *announcer.Node) (v4, v6 netip.Addr) {
	if n == nil {
		return
	}
	for _, ifc := range n.Interfaces {
		for _, p := range ifc.Prefixes {
			a := p.Addr()
			if !a.IsGlobalUnicast() {
				continue
			}
			if a.Is4() && !v4.IsValid() {
				v4 = a
			}
			if a.Is6() && !v6.IsValid() {
				v6 = a
			}
		}
	}
	return v4, v6
}

// syncBGPStatus writes one ServiceBGPStatus per advertised Service and one BGPSessionState
// per peer of this node.
func (s *L2Speaker) syncBGPStatus(ctx context.Context, plan announcer.BGPPlan, in announcer.Input) error {
	var errs []error
	addrs := map[string][]netip.Addr{}
	for _, svc := range in.Services {
		addrs[svc.Key] = svc.Addresses
	}
	var existing heraldv1beta1.ServiceBGPStatusList
	if err := s.reader.List(ctx, &existing, client.InNamespace(s.opts.Namespace), client.MatchingLabels{LabelNode: s.opts.Node}); err != nil {
		return err
	}
	have := map[string]*heraldv1beta1.ServiceBGPStatus{}
	for i := range existing.Items {
		st := &existing.Items[i]
		key := serviceKey(st.Spec.ServiceNamespace, st.Spec.ServiceName)
		if _, ok := plan.Services[key]; !ok {
			if err := s.client.Delete(ctx, st); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
			continue
		}
		have[key] = st
	}
	for key, peers := range plan.Services {
		st := have[key]
		if st == nil {
			ns, name, _ := strings.Cut(key, "/")
			st = &heraldv1beta1.ServiceBGPStatus{
				ObjectMeta: metav1.ObjectMeta{Name: "bgp-" + statusObjectName(s.opts.Node, ns, name), Namespace: s.opts.Namespace,
					Labels: map[string]string{LabelNode: s.opts.Node, LabelServiceName: name, LabelServiceNamespace: ns}},
				Spec: heraldv1beta1.ServiceAnnouncementSpec{Node: s.opts.Node, ServiceName: name, ServiceNamespace: ns},
			}
			if err := s.client.Create(ctx, st); err != nil && !apierrors.IsAlreadyExists(err) {
				errs = append(errs, err)
				continue
			}
		}
		want := heraldv1beta1.ServiceBGPStatusStatus{Prefixes: plan.PrefixesOf(addrs[key]), Peers: peers}
		if !slices.Equal(st.Status.Prefixes, want.Prefixes) || !slices.Equal(st.Status.Peers, want.Peers) {
			patched := st.DeepCopy()
			patched.Status = want
			if err := s.client.Status().Patch(ctx, patched, client.MergeFrom(st)); err != nil {
				errs = append(errs, fmt.Errorf("write ServiceBGPStatus %s: %w", st.Name, err))
			}
		}
	}
	errs = append(errs, s.syncSessionStates(ctx))
	return errors.Join(errs...)
}

// syncSessionStates mirrors the sessions of this node into BGPSessionState objects.
func (s *L2Speaker) syncSessionStates(ctx context.Context) error {
	var existing heraldv1beta1.BGPSessionStateList
	if err := s.reader.List(ctx, &existing, client.InNamespace(s.opts.Namespace), client.MatchingLabels{LabelNode: s.opts.Node}); err != nil {
		return err
	}
	sessions := map[string]bgp.SessionState{}
	for _, ss := range s.opts.BGP.Sessions() {
		sessions[ss.Peer] = ss
	}
	var errs []error
	have := map[string]*heraldv1beta1.BGPSessionState{}
	for i := range existing.Items {
		st := &existing.Items[i]
		if _, ok := sessions[string(st.Spec.Peer)]; !ok {
			if err := s.client.Delete(ctx, st); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
			continue
		}
		have[string(st.Spec.Peer)] = st
	}
	for name, ss := range sessions {
		st := have[name]
		if st == nil {
			st = &heraldv1beta1.BGPSessionState{
				ObjectMeta: metav1.ObjectMeta{Name: statusObjectName(s.opts.Node, "bgp", name), Namespace: s.opts.Namespace,
					Labels: map[string]string{LabelNode: s.opts.Node}},
				Spec: heraldv1beta1.BGPSessionStateSpec{Node: s.opts.Node, Peer: heraldv1beta1.ObjectName(name), PeerAddress: heraldv1beta1.IPAddress(ss.Address.String())},
			}
			if err := s.client.Create(ctx, st); err != nil && !apierrors.IsAlreadyExists(err) {
				errs = append(errs, err)
				continue
			}
		}
		want := heraldv1beta1.BGPSessionStateStatus{
			SessionState: heraldv1beta1.SessionState(ss.State.String()), PrefixesSent: int64(ss.PrefixesSent),
			PrefixesReceived: int64(ss.PrefixesReceived), LastError: ss.LastError, LastErrorTime: st.Status.LastErrorTime,
		}
		if !ss.EstablishedSince.IsZero() {
			t := metav1.NewTime(ss.EstablishedSince.Truncate(time.Second))
			want.EstablishedSince = &t
		}
		if want.LastError != "" && want.LastError != st.Status.LastError {
			now := metav1.Now()
			want.LastErrorTime = &now
		}
		if sessionStatusEqual(st.Status, want) {
			continue
		}
		patched := st.DeepCopy()
		patched.Status = want
		if err := s.client.Status().Patch(ctx, patched, client.MergeFrom(st)); err != nil {
			errs = append(errs, fmt.Errorf("write BGPSessionState %s: %w", st.Name, err))
		}
	}
	return errors.Join(errs...)
}

func sessionStatusEqual(a, b heraldv1beta1.BGPSessionStateStatus) bool {
	timeEq := func(x, y *metav1.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(y)) }
	return a.SessionState == b.SessionState && a.PrefixesSent == b.PrefixesSent && a.PrefixesReceived == b.PrefixesReceived &&
		a.LastError == b.LastError && timeEq(a.EstablishedSince, b.EstablishedSince) && timeEq(a.LastErrorTime, b.LastErrorTime)
}
