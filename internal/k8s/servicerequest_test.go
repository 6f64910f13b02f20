package k8s

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/allocator"
	"github.com/heraldlb/herald/internal/config"
)

func TestServes(t *testing.T) {
	class := func(s string) *string { return &s }
	for _, tc := range []struct {
		name   string
		typ    corev1.ServiceType
		svcCls *string
		served string
		want   bool
	}{
		{"load balancer without class, default controller", corev1.ServiceTypeLoadBalancer, nil, "", true},
		{"load balancer of another class", corev1.ServiceTypeLoadBalancer, class("x"), "", false},
		{"load balancer of the selected class", corev1.ServiceTypeLoadBalancer, class("x"), "x", true},
		{"no class when a class is selected", corev1.ServiceTypeLoadBalancer, nil, "x", false},
		{"cluster IP", corev1.ServiceTypeClusterIP, nil, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := &corev1.Service{Spec: corev1.ServiceSpec{Type: tc.typ, LoadBalancerClass: tc.svcCls}}
			if got := serves(svc, tc.served); got != tc.want {
				t.Errorf("serves = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestServiceRequest(t *testing.T) {
	cfg, err := config.Parse(config.Resources{Pools: []heraldv1beta1.IPAddressPool{
		{ObjectMeta: metav1.ObjectMeta{Name: "open"}, Spec: heraldv1beta1.IPAddressPoolSpec{Addresses: []heraldv1beta1.AddressRange{"192.0.2.0/28"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "web-only"}, Spec: heraldv1beta1.IPAddressPoolSpec{
			Addresses:         []heraldv1beta1.AddressRange{"203.0.113.0/28"},
			ServiceAllocation: &heraldv1beta1.ServiceAllocation{Namespaces: []string{"web"}},
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	require := corev1.IPFamilyPolicyRequireDualStack
	base := func(mut func(*corev1.Service)) *corev1.Service {
		s := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart"},
			Spec: corev1.ServiceSpec{
				Type:       corev1.ServiceTypeLoadBalancer,
				IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
				Ports:      []corev1.ServicePort{{Port: 443, Protocol: corev1.ProtocolTCP}},
				Selector:   map[string]string{"app": "cart"},
			},
		}
		if mut != nil {
			mut(s)
		}
		return s
	}
	for _, tc := range []struct {
		name    string
		svc     *corev1.Service
		want    allocator.Request
		wantErr string
	}{
		{
			name: "plain service may use unrestricted pools only",
			svc:  base(nil),
			want: allocator.Request{Key: "shop/cart", Families: []allocator.Family{allocator.IPv4}, EligiblePools: []string{"open"},
				Ports: []allocator.Port{{Protocol: "TCP", Port: 443}}},
		},
		{
			name: "annotations, dual stack and local traffic policy",
			svc: base(func(s *corev1.Service) {
				s.Namespace = "web"
				s.Annotations = map[string]string{AnnotationAddressPool: "web-only", AnnotationAllowSharedIP: " k1 ", AnnotationLoadBalancerIPs: "203.0.113.5, 2001:db8::5"}
				s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol, corev1.IPv4Protocol}
				s.Spec.IPFamilyPolicy = &require
				s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			}),
			want: allocator.Request{Key: "web/cart", Families: []allocator.Family{allocator.IPv6, allocator.IPv4}, FamilyPolicy: allocator.RequireDualStack,
				Pool: "web-only", SharingKey: "k1", Addresses: []netip.Addr{netip.MustParseAddr("203.0.113.5"), netip.MustParseAddr("2001:db8::5")},
				EligiblePools: []string{"open", "web-only"}, Ports: []allocator.Port{{Protocol: "TCP", Port: 443}}, LocalTrafficSelector: "selector:app=cart"},
		},
		{
			name: "deprecated spec.loadBalancerIP",
			svc:  base(func(s *corev1.Service) { s.Spec.LoadBalancerIP = "192.0.2.3" }),
			want: allocator.Request{Key: "shop/cart", Families: []allocator.Family{allocator.IPv4}, EligiblePools: []string{"open"},
				Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.3")}, Ports: []allocator.Port{{Protocol: "TCP", Port: 443}}},
		},
		{
			name:    "address that does not parse",
			svc:     base(func(s *corev1.Service) { s.Annotations = map[string]string{AnnotationLoadBalancerIPs: "192.0.2.300"} }),
			wantErr: `annotation herald.io/loadBalancerIPs: "192.0.2.300" is not an IP address`,
		},
		{
			name: "two addresses of one family",
			svc: base(func(s *corev1.Service) {
				s.Annotations = map[string]string{AnnotationLoadBalancerIPs: "192.0.2.3,192.0.2.4"}
			}),
			wantErr: "at most one IPv4 and one IPv6 address",
		},
		{
			name: "annotation and spec both set",
			svc: base(func(s *corev1.Service) {
				s.Annotations = map[string]string{AnnotationLoadBalancerIPs: "192.0.2.3"}
				s.Spec.LoadBalancerIP = "192.0.2.4"
			}),
			wantErr: "both annotation herald.io/loadBalancerIPs and spec.loadBalancerIP are set",
		},
		{
			name:    "spec.loadBalancerIP that does not parse",
			svc:     base(func(s *corev1.Service) { s.Spec.LoadBalancerIP = "fe80::1%eth0" }),
			wantErr: `spec.loadBalancerIP: "fe80::1%eth0" is not an IP address`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := serviceRequest(tc.svc, cfg, labels.Set{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
				t.Errorf("request (-want +got):\n%s", d)
			}
		})
	}
}

func TestIngressRoundTrip(t *testing.T) {
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")}
	in := desiredIngress(addrs)
	svc := &corev1.Service{Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: in}}}
	if got := ingressAddresses(svc); !cmp.Equal(got, addrs, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })) {
		t.Errorf("ingressAddresses = %v, want %v", got, addrs)
	}
	if !ingressEqual(in, desiredIngress(addrs)) {
		t.Error("equal ingress lists compare unequal")
	}
	noMode := []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}, {IP: "2001:db8::1"}}
	if ingressEqual(in, noMode) {
		t.Error("a list without ipMode compares equal to one with it: the API server would be written twice")
	}
}
