package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BGPAdvertisementSpec says which Service addresses are advertised to which BGP peers, and with
// which path attributes. Every eligible node advertises itself as next hop, so routers spread
// traffic over the nodes with ECMP.
type BGPAdvertisementSpec struct {
	// IPAddressPools names the pools whose addresses are advertised. With neither this nor
	// ipAddressPoolSelectors, every pool is advertised.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +listType=set
	IPAddressPools []ObjectName `json:"ipAddressPools,omitempty"`

	// IPAddressPoolSelectors select, by label, pools whose addresses are advertised, in addition
	// to those named in ipAddressPools.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	IPAddressPoolSelectors []metav1.LabelSelector `json:"ipAddressPoolSelectors,omitempty"`

	// AggregationLength is the prefix length of the IPv4 routes advertised: 32 (the default)
	// advertises each Service address alone; a shorter length advertises the covering prefix
	// once for all Service addresses in it. It must not be shorter than a selected pool's CIDR.
	//
	// +optional
	// +kubebuilder:default=32
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=32
	AggregationLength *int32 `json:"aggregationLength,omitempty"`

	// AggregationLengthV6 is the prefix length of the IPv6 routes advertised; 128 by default.
	//
	// +optional
	// +kubebuilder:default=128
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=128
	AggregationLengthV6 *int32 `json:"aggregationLengthV6,omitempty"`

	// LocalPref is the LOCAL_PREF attribute sent with the routes. It applies to iBGP sessions
	// only (peers in the node's own AS); eBGP peers never receive it.
	//
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=4294967295
	LocalPref *int64 `json:"localPref,omitempty"`

	// Communities are attached to the routes: standard "AA:NN", large "large:A:B:C", or the
	// names of aliases defined in Community objects. When several BGPAdvertisements cover one
	// route, the communities of all of them are sent.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	Communities []CommunityValue `json:"communities,omitempty"`

	// Peers names the BGPPeers that receive the routes. Empty means every peer of the node.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +listType=set
	Peers []ObjectName `json:"peers,omitempty"`

	// NodeSelectors limit the nodes that advertise; a node must match one of them. Empty means
	// every node running a speaker.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	NodeSelectors []metav1.LabelSelector `json:"nodeSelectors,omitempty"`

	// ServiceSelectors limit the advertisement to Services matching one of them, by label.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	ServiceSelectors []metav1.LabelSelector `json:"serviceSelectors,omitempty"`
}

// BGPAdvertisement advertises pool addresses to BGP peers.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=bgpadv,categories=herald
// +kubebuilder:printcolumn:name="Pools",type=string,JSONPath=`.spec.ipAddressPools`
// +kubebuilder:printcolumn:name="Peers",type=string,JSONPath=`.spec.peers`
// +kubebuilder:printcolumn:name="Aggregation",type=integer,JSONPath=`.spec.aggregationLength`,priority=1
// +kubebuilder:printcolumn:name="Communities",type=string,JSONPath=`.spec.communities`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BGPAdvertisement struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec says what is advertised, to whom, with which attributes.
	//
	// +optional
	Spec BGPAdvertisementSpec `json:"spec,omitempty"`
}

// BGPAdvertisementList is a list of BGPAdvertisement.
//
// +kubebuilder:object:root=true
type BGPAdvertisementList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BGPAdvertisement `json:"items"`
}

func init() {
	SchemeBuilder.Register(&BGPAdvertisement{}, &BGPAdvertisementList{})
}
