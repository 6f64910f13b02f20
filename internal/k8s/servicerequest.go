package k8s

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/heraldlb/herald/internal/allocator"
	"github.com/heraldlb/herald/internal/config"
)

// serves says whether herald-controller assigns addresses to svc: a LoadBalancer Service of
// the class Herald serves ("" means Services without a class).
func serves(svc *corev1.Service, class string) bool {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return false
	}
	if svc.Spec.LoadBalancerClass == nil {
		return class == ""
	}
	return *svc.Spec.LoadBalancerClass == class
}

// serviceKey is the allocator key of a Service.
func serviceKey(namespace, name string) string { return namespace + "/" + name }

// serviceRequest translates a Service into what it asks of the allocator. nsLabels are the
// labels of the Service's namespace, for pools that select namespaces. The error names the
// annotation or field at fault.
func serviceRequest(svc *corev1.Service, cfg *config.Config, nsLabels labels.Set) (allocator.Request, error) {
	req := allocator.Request{
		Key:        serviceKey(svc.Namespace, svc.Name),
		Pool:       strings.TrimSpace(svc.Annotations[AnnotationAddressPool]),
		SharingKey: strings.TrimSpace(svc.Annotations[AnnotationAllowSharedIP]),
	}
	for _, f := range svc.Spec.IPFamilies {
		switch f {
		case corev1.IPv4Protocol:
			req.Families = append(req.Families, allocator.IPv4)
		case corev1.IPv6Protocol:
			req.Families = append(req.Families, allocator.IPv6)
		}
	}
	if len(req.Families) == 0 {
		// The API server fills ipFamilies for every Service with a cluster IP; without it, take
		// the family of a requested address, else IPv4.
		req.Families = []allocator.Family{allocator.IPv4}
	}
	if p := svc.Spec.IPFamilyPolicy; p != nil {
		switch *p {
		case corev1.IPFamilyPolicyPreferDualStack:
			req.FamilyPolicy = allocator.PreferDualStack
		case corev1.IPFamilyPolicyRequireDualStack:
			req.FamilyPolicy = allocator.RequireDualStack
		}
	}

	addrs, err := requestedAddresses(svc)
	if err != nil {
		return req, err
	}
	req.Addresses = addrs
	if len(svc.Spec.IPFamilies) == 0 && len(addrs) > 0 && addrs[0].Is6() {
		req.Families = []allocator.Family{allocator.IPv6}
	}

	for _, p := range svc.Spec.Ports {
		req.Ports = append(req.Ports, allocator.Port{Protocol: string(p.Protocol), Port: p.Port})
	}
	if svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal {
		// Prefixed so that an empty selector is still a non-empty, comparable value.
		req.LocalTrafficSelector = "selector:" + labels.Set(svc.Spec.Selector).String()
	}
	if cfg != nil {
		for _, p := range cfg.Pools {
			if p.Allows(svc.Namespace, nsLabels, labels.Set(svc.Labels)) {
				req.EligiblePools = append(req.EligiblePools, p.Name)
			}
		}
	}
	sort.Strings(req.EligiblePools)
	return req, nil
}

// requestedAddresses reads the exact addresses a Service asks for, from the annotation or the
// deprecated spec.loadBalancerIP.
func requestedAddresses(svc *corev1.Service) ([]netip.Addr, error) {
	ann, hasAnn := svc.Annotations[AnnotationLoadBalancerIPs]
	spec := strings.TrimSpace(svc.Spec.LoadBalancerIP)
	var out []netip.Addr
	if hasAnn && strings.TrimSpace(ann) != "" {
		for _, s := range strings.Split(ann, ",") {
			s = strings.TrimSpace(s)
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("annotation %s: %q is not an IP address", AnnotationLoadBalancerIPs, s)
			}
			out = append(out, a.Unmap())
		}
		if len(out) > 2 || (len(out) == 2 && out[0].Is4() == out[1].Is4()) {
			return nil, fmt.Errorf("annotation %s: %q must list at most one IPv4 and one IPv6 address", AnnotationLoadBalancerIPs, ann)
		}
		if spec != "" {
			return nil, fmt.Errorf("both annotation %s and spec.loadBalancerIP are set: use the annotation alone", AnnotationLoadBalancerIPs)
		}
		return out, nil
	}
	if spec != "" {
		a, err := netip.ParseAddr(spec)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("spec.loadBalancerIP: %q is not an IP address", spec)
		}
		out = append(out, a.Unmap())
	}
	return out, nil
}

// desiredIngress is the status.loadBalancer.ingress for the addresses, written in full (ipMode
// included) so that what the API server keeps equals what was written and no second write
// follows.
func desiredIngress(addrs []netip.Addr) []corev1.LoadBalancerIngress {
	if len(addrs) == 0 {
		return nil
	}
	out := make([]corev1.LoadBalancerIngress, len(addrs))
	for i, a := range addrs {
		mode := corev1.LoadBalancerIPModeVIP
		out[i] = corev1.LoadBalancerIngress{IP: a.String(), IPMode: &mode}
	}
	return out
}

// ingressAddresses reads the addresses of a Service's status, ignoring entries that are not IPs.
func ingressAddresses(svc *corev1.Service) []netip.Addr {
	var out []netip.Addr
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(in.IP); err == nil {
			out = append(out, a.Unmap())
		}
	}
	return out
}

// ingressEqual compares two ingress lists by what Herald writes: IP and ipMode.
func ingressEqual(a, b []corev1.LoadBalancerIngress) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].IP != b[i].IP || a[i].Hostname != b[i].Hostname || len(a[i].Ports) != len(b[i].Ports) {
			return false
		}
		if (a[i].IPMode == nil) != (b[i].IPMode == nil) || (a[i].IPMode != nil && *a[i].IPMode != *b[i].IPMode) {
			return false
		}
	}
	return true
}
