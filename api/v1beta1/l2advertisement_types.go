package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// L2AdvertisementSpec says which Service addresses are announced with ARP (IPv4) and NDP (IPv6),
// from which nodes and on which interfaces. For each address one node, elected among the live
// eligible speakers, answers.
type L2AdvertisementSpec struct {
	// IPAddressPools names the pools whose addresses are announced. With neither this nor
	// ipAddressPoolSelectors, every pool is announced.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +listType=set
	IPAddressPools []ObjectName `json:"ipAddressPools,omitempty"`

	// IPAddressPoolSelectors select, by label, pools whose addresses are announced, in addition
	// to those named in ipAddressPools.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	IPAddressPoolSelectors []metav1.LabelSelector `json:"ipAddressPoolSelectors,omitempty"`

	// NodeSelectors limit the nodes that may announce; a node must match one of them. Empty means
	// every node running a speaker.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	NodeSelectors []metav1.LabelSelector `json:"nodeSelectors,omitempty"`

	// PreferredNodeSelectors steer the election toward some of the eligible nodes: a node's
	// preference is the sum of the weights of the selectors it matches, and the nodes with the
	// highest preference are the only candidates while any of them is alive.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	PreferredNodeSelectors []WeightedNodeSelector `json:"preferredNodeSelectors,omitempty"`

	// Interfaces limit the interfaces on which the elected node answers ARP/NDP and sends
	// gratuitous announcements. Empty means every interface that has an address in the same
	// subnet as the Service address, or else every up interface. A node that has none of the
	// listed interfaces is not elected.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=set
	Interfaces []InterfaceName `json:"interfaces,omitempty"`

	// ServiceSelectors limit the announcement to Services matching one of them, by label.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	ServiceSelectors []metav1.LabelSelector `json:"serviceSelectors,omitempty"`
}

// WeightedNodeSelector is a node selector with a weight that raises the preference of the nodes
// it matches.
type WeightedNodeSelector struct {
	// Weight is added to the preference of every node the selector matches.
	//
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	Weight int32 `json:"weight"`

	// Selector selects nodes by label.
	Selector metav1.LabelSelector `json:"selector"`
}

// L2Advertisement announces pool addresses on the local network with ARP and NDP.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=l2adv,categories=herald
// +kubebuilder:printcolumn:name="Pools",type=string,JSONPath=`.spec.ipAddressPools`
// +kubebuilder:printcolumn:name="Interfaces",type=string,JSONPath=`.spec.interfaces`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type L2Advertisement struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec says what is announced, from where.
	//
	// +optional
	Spec L2AdvertisementSpec `json:"spec,omitempty"`
}

// L2AdvertisementList is a list of L2Advertisement.
//
// +kubebuilder:object:root=true
type L2AdvertisementList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []L2Advertisement `json:"items"`
}

func init() {
	SchemeBuilder.Register(&L2Advertisement{}, &L2AdvertisementList{})
}
