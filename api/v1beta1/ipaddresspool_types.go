package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IPAddressPoolSpec is the set of addresses Herald may give to LoadBalancer Services, and the rules
// for which Services may get them.
type IPAddressPoolSpec struct {
	// Addresses are the blocks of addresses in the pool: CIDRs ("192.0.2.0/24", "2001:db8::/64"),
	// ranges "first-last" of one family ("192.0.2.10-192.0.2.20") or single addresses. IPv4 and
	// IPv6 blocks may be mixed in one pool; a pool that has both can serve dual-stack Services.
	// Blocks must not overlap each other or any other pool. At most 32 blocks: split a larger
	// set over several pools of equal priority.
	//
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +listType=set
	Addresses []AddressRange `json:"addresses"`

	// AutoAssign says whether Herald may pick addresses from this pool for Services that do not
	// ask for the pool by name (annotation herald.io/address-pool) or for one of its addresses.
	// Defaults to true.
	//
	// +optional
	// +kubebuilder:default=true
	AutoAssign *bool `json:"autoAssign,omitempty"`

	// AvoidBuggyIPs, when true, keeps IPv4 addresses ending in .0 and .255 out of use, for clients
	// and middleboxes that mistake them for network or broadcast addresses.
	//
	// +optional
	AvoidBuggyIPs bool `json:"avoidBuggyIPs,omitempty"`

	// ServiceAllocation restricts the pool to some Services and orders it against other pools.
	// Without it, any Service may use the pool and it has the lowest precedence.
	//
	// +optional
	ServiceAllocation *ServiceAllocation `json:"serviceAllocation,omitempty"`
}

// ServiceAllocation restricts which Services may take addresses from a pool, and in which order
// pools are tried.
type ServiceAllocation struct {
	// Priority orders the pools a Service may use: a lower number is tried first; pools of equal
	// priority are tried in order of their names. Pools without serviceAllocation come last.
	//
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000000
	Priority int32 `json:"priority,omitempty"`

	// Namespaces lists the namespaces whose Services may use the pool. Combined with
	// namespaceSelectors: a Service's namespace must be listed or match one selector.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +listType=set
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespaces []string `json:"namespaces,omitempty"`

	// NamespaceSelectors select, by label, the namespaces whose Services may use the pool.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	NamespaceSelectors []metav1.LabelSelector `json:"namespaceSelectors,omitempty"`

	// ServiceSelectors select, by label, the Services that may use the pool. When set, a Service
	// must match one of them in addition to any namespace restriction.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	ServiceSelectors []metav1.LabelSelector `json:"serviceSelectors,omitempty"`
}

// IPAddressPoolStatus is how much of the pool is in use. Counts are exact for any pool size:
// available counts are decimal strings because an IPv6 pool can hold more than 2^64 addresses.
type IPAddressPoolStatus struct {
	// AssignedIPv4 is the number of IPv4 addresses of the pool held by Services (a shared address
	// counts once).
	//
	// +optional
	AssignedIPv4 int64 `json:"assignedIPv4"`

	// AssignedIPv6 is the number of IPv6 addresses of the pool held by Services.
	//
	// +optional
	AssignedIPv6 int64 `json:"assignedIPv6"`

	// AvailableIPv4 is the number of IPv4 addresses still free, in decimal.
	//
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9]+$`
	AvailableIPv4 string `json:"availableIPv4,omitempty"`

	// AvailableIPv6 is the number of IPv6 addresses still free, in decimal.
	//
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9]+$`
	AvailableIPv6 string `json:"availableIPv6,omitempty"`

	// Conditions describe the pool's state. Type "Valid" says whether the pool is accepted
	// together with all other configuration.
	//
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// IPAddressPool is a set of addresses Herald assigns to LoadBalancer Services.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ippool,categories=herald
// +kubebuilder:printcolumn:name="Addresses",type=string,JSONPath=`.spec.addresses`
// +kubebuilder:printcolumn:name="Auto Assign",type=boolean,JSONPath=`.spec.autoAssign`
// +kubebuilder:printcolumn:name="IPv4 In Use",type=integer,JSONPath=`.status.assignedIPv4`
// +kubebuilder:printcolumn:name="IPv4 Available",type=string,JSONPath=`.status.availableIPv4`
// +kubebuilder:printcolumn:name="IPv6 In Use",type=integer,JSONPath=`.status.assignedIPv6`
// +kubebuilder:printcolumn:name="IPv6 Available",type=string,JSONPath=`.status.availableIPv6`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type IPAddressPool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the pool's addresses and allocation rules.
	Spec IPAddressPoolSpec `json:"spec"`

	// Status is maintained by herald-controller.
	//
	// +optional
	Status IPAddressPoolStatus `json:"status,omitempty"`
}

// IPAddressPoolList is a list of IPAddressPool.
//
// +kubebuilder:object:root=true
type IPAddressPoolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []IPAddressPool `json:"items"`
}

func init() {
	SchemeBuilder.Register(&IPAddressPool{}, &IPAddressPoolList{})
}
