package k8s

// The Service annotations Herald reads and writes.
const (
	// AnnotationAddressPool names the pool a Service wants its addresses from.
	AnnotationAddressPool = "herald.io/address-pool"
	// AnnotationLoadBalancerIPs lists the exact addresses a Service wants, comma-separated, at
	// most one per family.
	AnnotationLoadBalancerIPs = "herald.io/loadBalancerIPs"
	// AnnotationAllowSharedIP lets Services with the same value share an address when their
	// ports do not collide.
	AnnotationAllowSharedIP = "herald.io/allow-shared-ip"
	// AnnotationAllocatedFromPool is written by herald-controller: the pool the Service's
	// addresses came from.
	AnnotationAllocatedFromPool = "herald.io/ip-allocated-from-pool"
)
