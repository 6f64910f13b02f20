package k8s

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/announcer"
	"github.com/heraldlb/herald/internal/bgp"
	"github.com/heraldlb/herald/internal/membership"
)

// fakeBGP records the desired BGP state and reports every peer Established.
type fakeBGP struct {
	mu   sync.Mutex
	last bgp.Desired
}

func (f *fakeBGP) Set(_ context.Context, d bgp.Desired) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = d
	return nil
}

func (f *fakeBGP) Sessions() []bgp.SessionState {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []bgp.SessionState
	for _, p := range f.last.Peers {
		out = append(out, bgp.SessionState{Peer: p.Name, Address: p.Address, State: bgp.StateEstablished,
			EstablishedSince: time.Unix(1700000000, 0), PrefixesSent: uint64(len(f.last.Advertisements))})
	}
	return out
}

func (f *fakeBGP) routes() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, a := range f.last.Advertisements {
		out = append(out, fmt.Sprintf("%s->%v", a.Prefix, a.Peers))
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func (f *fakeBGP) peers() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, p := range f.last.Peers {
		out = append(out, fmt.Sprintf("%s@%s pw=%q router-id=%s", p.Name, p.Address, p.Password, f.last.RouterID))
	}
	return strings.Join(out, ",")
}

func TestSpeakerAdvertisesOverBGPAndWritesStatus(t *testing.T) {
	f := newFixture(t)
	n1 := f.ns + "-n1"
	createNode(t, n1, nil)
	f.pool("blue", nil, "192.0.2.0/28")
	ctx := context.Background()
	asn := int64(64513)
	for _, obj := range []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tor-password", Namespace: f.install}, Data: map[string][]byte{"password": []byte("s3cret")}},
		&heraldv1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "tor", Namespace: f.install}, Spec: heraldv1beta1.BGPPeerSpec{
			MyASN: 64512, PeerASN: &asn, PeerAddress: "203.0.113.1", PasswordSecret: &corev1.SecretReference{Name: "tor-password"}}},
		&heraldv1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "all", Namespace: f.install}},
	} {
		if err := sharedClient.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	f.announcedService("web", "192.0.2.5", n1)

	mgr, err := NewManager(sharedEnv.Config, ManagerOptions{Namespace: f.install, MetricsAddr: "0", HealthAddr: "0", ShutdownTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	fb := &fakeBGP{}
	sp := NewL2Speaker(mgr, L2SpeakerOptions{
		Node: n1, Namespace: f.install, LoadBalancerClass: f.class, Membership: membership.NewStatic(n1, "peer-node"), Layer2: &fakeL2{}, BGP: fb,
		Interfaces: func() ([]announcer.Interface, error) {
			return []announcer.Interface{{Name: "eth0", Prefixes: []netip.Prefix{netip.MustParsePrefix("203.0.113.7/24")}}}, nil
		},
		skipNameValidation: true,
	})
	if err := sp.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	}()

	eventually(t, "the route and the session", func() string {
		if r, p := fb.routes(), fb.peers(); r != "192.0.2.5/32->[tor]" || p != `tor@203.0.113.1 pw="s3cret" router-id=203.0.113.7` {
			return fmt.Sprintf("routes %q, peers %q", r, p)
		}
		return ""
	})
	eventually(t, "status objects", func() string {
		var svcs heraldv1beta1.ServiceBGPStatusList
		var sess heraldv1beta1.BGPSessionStateList
		if err := sharedClient.List(ctx, &svcs, client.InNamespace(f.install)); err != nil {
			return err.Error()
		}
		if err := sharedClient.List(ctx, &sess, client.InNamespace(f.install)); err != nil {
			return err.Error()
		}
		if len(svcs.Items) != 1 || fmt.Sprint(svcs.Items[0].Status.Prefixes, svcs.Items[0].Status.Peers) != "[192.0.2.5/32] [tor]" {
			return fmt.Sprintf("ServiceBGPStatus %+v", svcs.Items)
		}
		if len(sess.Items) != 1 || sess.Items[0].Status.SessionState != heraldv1beta1.SessionStateEstablished || sess.Items[0].Status.PrefixesSent != 1 {
			return fmt.Sprintf("BGPSessionState %+v", sess.Items)
		}
		return ""
	})

	// The endpoint goes away: the route is withdrawn, the session stays.
	if err := sharedClient.DeleteAllOf(ctx, &discoveryv1.EndpointSlice{}, client.InNamespace(f.ns)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "withdrawal", func() string {
		var svcs heraldv1beta1.ServiceBGPStatusList
		if err := sharedClient.List(ctx, &svcs, client.InNamespace(f.install)); err != nil {
			return err.Error()
		}
		if r := fb.routes(); r != "" || len(svcs.Items) != 0 || fb.peers() == "" {
			return fmt.Sprintf("routes %q, statuses %d, peers %q", r, len(svcs.Items), fb.peers())
		}
		return ""
	})
}
