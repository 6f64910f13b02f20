package main

import (
	"context"
	"fmt"
	"net/netip"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// annotationAllocatedFromPool is what herald-controller (and the ceiling client) writes on
// every Service it gives an address.
const annotationAllocatedFromPool = "herald.io/ip-allocated-from-pool"

// assignment is what one Service holds after a run.
type assignment struct {
	addr            netip.Addr
	resourceVersion string
}

// checkAssignments lists the namespace's Services and checks what every run must leave behind:
// want Services, each with exactly one address, from block, with ipMode VIP and the pool
// annotation, no address held twice. It returns the assignments and the problems found (nil
// when there are none).
func checkAssignments(ctx context.Context, kube kubernetes.Interface, namespace, pool string, block netip.Prefix, want int) (map[string]assignment, []string, error) {
	list, err := kube.CoreV1().Services(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("list services in %s: %w", namespace, err)
	}
	var problems []string
	if len(list.Items) != want {
		problems = append(problems, fmt.Sprintf("%d Services, want %d", len(list.Items), want))
	}
	got := make(map[string]assignment, len(list.Items))
	holder := map[netip.Addr]string{}
	for i := range list.Items {
		svc := &list.Items[i]
		if p := checkService(svc, pool, block); p != "" {
			problems = append(problems, svc.Name+": "+p)
			continue
		}
		addr := netip.MustParseAddr(svc.Status.LoadBalancer.Ingress[0].IP)
		if other, dup := holder[addr]; dup {
			problems = append(problems, fmt.Sprintf("%s and %s both hold %s", svc.Name, other, addr))
		}
		holder[addr] = svc.Name
		got[svc.Name] = assignment{addr: addr, resourceVersion: svc.ResourceVersion}
	}
	sort.Strings(problems)
	return got, problems, nil
}

// checkService returns what is wrong with one Service's address, or "".
func checkService(svc *corev1.Service, pool string, block netip.Prefix) string {
	ing := svc.Status.LoadBalancer.Ingress
	if len(ing) != 1 {
		return fmt.Sprintf("%d addresses, want 1", len(ing))
	}
	addr, err := netip.ParseAddr(ing[0].IP)
	if err != nil {
		return fmt.Sprintf("address %q does not parse", ing[0].IP)
	}
	if !block.Contains(addr) {
		return fmt.Sprintf("address %s is outside the pool's %s", addr, block)
	}
	if ing[0].IPMode == nil || *ing[0].IPMode != corev1.LoadBalancerIPModeVIP {
		return "ipMode is not VIP"
	}
	if got := svc.Annotations[annotationAllocatedFromPool]; got != pool {
		return fmt.Sprintf("annotation %s is %q, want %q", annotationAllocatedFromPool, got, pool)
	}
	return ""
}
