package k8s

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

var nameSeq atomic.Int64

// createNamespace makes a namespace with a unique name starting with prefix.
func createNamespace(t *testing.T, prefix string, labels map[string]string) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d", prefix, nameSeq.Add(1))
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := sharedClient.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return name
}

// testManager makes a manager for the install namespace, without metrics or health endpoints.
func testManager(t *testing.T, namespace string) manager.Manager {
	t.Helper()
	mgr, err := NewManager(sharedEnv.Config, ManagerOptions{Namespace: namespace, MetricsAddr: "0", HealthAddr: "0", ShutdownTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return mgr
}

// startManager runs mgr until the test ends or stop is called.
func startManager(t *testing.T, mgr manager.Manager, what string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s manager stopped with %v", what, err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// runController runs an address controller in-process until the test ends or stop is called.
func runController(t *testing.T, opts AddressControllerOptions) (stop func()) {
	t.Helper()
	mgr := testManager(t, opts.Namespace)
	opts.skipNameValidation = true
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if err := NewAddressController(mgr, opts).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	return startManager(t, mgr, "controller")
}

// fixture is one test's world: an install namespace for pools, a Service namespace, and a
// load balancer class of its own so that tests do not see each other's Services.
type fixture struct {
	t       *testing.T
	install string
	ns      string
	class   string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, install: createNamespace(t, "herald", nil), ns: createNamespace(t, "apps", nil)}
	f.class = "herald.io/test-" + f.ns
	// The test API server has one /24 of IPv4 cluster IPs for every test: give them back.
	// Registered first, this runs last, after the test's controllers have stopped.
	t.Cleanup(func() {
		var list corev1.ServiceList
		if err := sharedClient.List(context.Background(), &list, client.InNamespace(f.ns)); err != nil {
			t.Errorf("list Services to delete: %v", err)
			return
		}
		for i := range list.Items {
			if err := sharedClient.Delete(context.Background(), &list.Items[i]); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("delete Service %s: %v", list.Items[i].Name, err)
			}
		}
	})
	return f
}

func (f *fixture) options() AddressControllerOptions {
	return AddressControllerOptions{Namespace: f.install, LoadBalancerClass: f.class, Workers: 4}
}

func (f *fixture) pool(name string, mutate func(*heraldv1beta1.IPAddressPool), addrs ...string) *heraldv1beta1.IPAddressPool {
	f.t.Helper()
	p := &heraldv1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.install}}
	for _, a := range addrs {
		p.Spec.Addresses = append(p.Spec.Addresses, heraldv1beta1.AddressRange(a))
	}
	if mutate != nil {
		mutate(p)
	}
	if err := sharedClient.Create(context.Background(), p); err != nil {
		f.t.Fatal(err)
	}
	return p
}

type svcOption func(*corev1.Service)

func withAnnotation(k, v string) svcOption {
	return func(s *corev1.Service) {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[k] = v
	}
}

func withPorts(ports ...int32) svcOption {
	return func(s *corev1.Service) {
		s.Spec.Ports = nil
		for _, p := range ports {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: fmt.Sprintf("p%d", p), Port: p, TargetPort: intstr.FromInt32(p), Protocol: corev1.ProtocolTCP})
		}
	}
}

func dualStack(policy corev1.IPFamilyPolicy, families ...corev1.IPFamily) svcOption {
	return func(s *corev1.Service) {
		s.Spec.IPFamilyPolicy = &policy
		s.Spec.IPFamilies = families
	}
}

func (f *fixture) service(name string, opts ...svcOption) *corev1.Service {
	f.t.Helper()
	svc := f.newService(name, opts...)
	if err := sharedClient.Create(context.Background(), svc); err != nil {
		f.t.Fatal(err)
	}
	return svc
}

// newService returns, without creating it, a LoadBalancer Service of the fixture's class.
func (f *fixture) newService(name string, opts ...svcOption) *corev1.Service {
	class := f.class
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns},
		Spec: corev1.ServiceSpec{
			Type:              corev1.ServiceTypeLoadBalancer,
			LoadBalancerClass: &class,
			Selector:          map[string]string{"app": name},
		},
	}
	withPorts(80)(svc)
	for _, o := range opts {
		o(svc)
	}
	return svc
}

func (f *fixture) get(name string) *corev1.Service {
	f.t.Helper()
	svc := &corev1.Service{}
	if err := sharedClient.Get(context.Background(), types.NamespacedName{Namespace: f.ns, Name: name}, svc); err != nil {
		f.t.Fatal(err)
	}
	return svc
}

// eventually polls cond until it returns "" or the deadline passes; the last message explains
// the failure.
func eventually(t *testing.T, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		if last = cond(); last == "" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: not reached in 30s: %s", what, last)
}

// addresses waits until the Service's status lists the wanted number of addresses and returns
// them.
func (f *fixture) addresses(name string, n int) []netip.Addr {
	f.t.Helper()
	var got []netip.Addr
	eventually(f.t, "service "+name+" gets addresses", func() string {
		svc := f.get(name)
		got = ingressAddresses(svc)
		if len(got) != n {
			return fmt.Sprintf("status has %v, want %d addresses; events: %s", got, n, f.events(name))
		}
		return ""
	})
	return got
}

// events lists "Reason: message" of the events on a Service.
func (f *fixture) events(name string) string {
	var list corev1.EventList
	if err := sharedClient.List(context.Background(), &list, client.InNamespace(f.ns)); err != nil {
		return err.Error()
	}
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Name == name && e.InvolvedObject.Kind == "Service" {
			out = append(out, e.Reason+": "+e.Message)
		}
	}
	slices.Sort(out)
	return strings.Join(out, " | ")
}

// waitEvent waits for an event on the Service whose "Reason: message" contains want.
func (f *fixture) waitEvent(name, want string) {
	f.t.Helper()
	eventually(f.t, "event "+want+" on "+name, func() string {
		if ev := f.events(name); !strings.Contains(ev, want) {
			return "events: " + ev
		}
		return ""
	})
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
