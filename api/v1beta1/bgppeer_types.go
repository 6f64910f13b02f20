package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DynamicASNMode says how a peer's AS number is learnt when it is not given.
//
// +kubebuilder:validation:Enum=internal;external
type DynamicASNMode string

const (
	// DynamicASNInternal accepts a peer in the node's own AS (iBGP).
	DynamicASNInternal DynamicASNMode = "internal"
	// DynamicASNExternal accepts a peer in any other AS (eBGP).
	DynamicASNExternal DynamicASNMode = "external"
)

// AddressFamily is a BGP address family carried by a session.
//
// +kubebuilder:validation:Enum=IPv4;IPv6
type AddressFamily string

const (
	// AddressFamilyIPv4 is IPv4 unicast.
	AddressFamilyIPv4 AddressFamily = "IPv4"
	// AddressFamilyIPv6 is IPv6 unicast.
	AddressFamilyIPv6 AddressFamily = "IPv6"
)

// BGPPeerSpec is a BGP session that selected nodes keep with a router.
//
// +kubebuilder:validation:XValidation:rule="has(self.peerASN) != has(self.dynamicASN)",message="exactly one of peerASN and dynamicASN must be set"
// +kubebuilder:validation:XValidation:rule="!has(self.password) || !has(self.passwordSecret)",message="password and passwordSecret are mutually exclusive: set one of them"
// +kubebuilder:validation:XValidation:rule="!has(self.sourceAddress) || !isIP(self.sourceAddress) || !isIP(self.peerAddress) || ip(self.sourceAddress).family() == ip(self.peerAddress).family()",message="sourceAddress must be of the same IP family as peerAddress"
// +kubebuilder:validation:XValidation:rule="!has(self.keepaliveTime) || !has(self.holdTime) || duration(self.holdTime) == duration('0s') || duration(self.keepaliveTime) < duration(self.holdTime)",message="keepaliveTime must be shorter than holdTime"
// +kubebuilder:validation:XValidation:rule="!has(self.ebgpMultiHop) || !self.ebgpMultiHop || (has(self.peerASN) ? self.peerASN != self.myASN : has(self.dynamicASN) && self.dynamicASN == 'external')",message="ebgpMultiHop applies only to eBGP sessions (peerASN different from myASN)"
type BGPPeerSpec struct {
	// MyASN is the AS number the node speaks as (4-byte ASNs allowed).
	//
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	MyASN int64 `json:"myASN"`

	// PeerASN is the AS number of the router. Set exactly one of peerASN and dynamicASN.
	//
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	PeerASN *int64 `json:"peerASN,omitempty"`

	// DynamicASN accepts the router's AS number from its OPEN message: "internal" for the node's
	// own AS, "external" for any other. Set exactly one of peerASN and dynamicASN.
	//
	// +optional
	DynamicASN DynamicASNMode `json:"dynamicASN,omitempty"`

	// PeerAddress is the router's IPv4 or IPv6 address.
	PeerAddress IPAddress `json:"peerAddress"`

	// SourceAddress is the local address the session is opened from. Default: the address of
	// the interface the route to peerAddress leaves by.
	//
	// +optional
	SourceAddress IPAddress `json:"sourceAddress,omitempty"`

	// PeerPort is the router's TCP port; 179 by default.
	//
	// +optional
	// +kubebuilder:default=179
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	PeerPort int32 `json:"peerPort,omitempty"`

	// HoldTime is the BGP hold time proposed to the router: 0s (no keepalives) or at least 3s.
	// Default 90s.
	//
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) == duration('0s') || (duration(self) >= duration('3s') && duration(self) <= duration('65535s'))",message="holdTime must be 0s or between 3s and 65535s (RFC 4271)"
	HoldTime *metav1.Duration `json:"holdTime,omitempty"`

	// KeepaliveTime is the interval between keepalives; default one third of holdTime. It must
	// be shorter than holdTime.
	//
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s')",message="keepaliveTime must be at least 1s"
	KeepaliveTime *metav1.Duration `json:"keepaliveTime,omitempty"`

	// RouterID is the BGP identifier, an IPv4 address. Default: the node's IPv4 address, so it
	// stays the same across restarts.
	//
	// +optional
	// +kubebuilder:validation:MaxLength=15
	// +kubebuilder:validation:XValidation:rule="isIP(self) && ip(self).family() == 4",message="routerID must be an IPv4 address such as 192.0.2.1"
	RouterID string `json:"routerID,omitempty"`

	// NodeSelectors choose the nodes that keep this session; a node must match one of them.
	// Empty means every node running a speaker.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	NodeSelectors []metav1.LabelSelector `json:"nodeSelectors,omitempty"`

	// Password is the TCP MD5 (RFC 2385) password of the session, in clear text. Prefer
	// passwordSecret.
	//
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=80
	Password string `json:"password,omitempty"`

	// PasswordSecret names a Secret of type kubernetes.io/basic-auth, in Herald's namespace,
	// whose "password" key holds the TCP MD5 password.
	//
	// +optional
	PasswordSecret *corev1.SecretReference `json:"passwordSecret,omitempty"`

	// EBGPMultiHop allows the eBGP router to be more than one hop away (the session's TTL is
	// raised). Only for eBGP.
	//
	// +optional
	EBGPMultiHop bool `json:"ebgpMultiHop,omitempty"`

	// GracefulRestart, when set, negotiates BGP graceful restart (RFC 4724): while a speaker
	// restarts, the router keeps its routes for up to restartTime.
	//
	// +optional
	GracefulRestart *GracefulRestart `json:"gracefulRestart,omitempty"`

	// BFDProfile names the BFDProfile whose timers run BFD on this session. Empty: no BFD.
	//
	// +optional
	BFDProfile ObjectName `json:"bfdProfile,omitempty"`

	// AddressFamilies are the families of the routes sent over this one session (MP-BGP).
	// Default: only the family of peerAddress. List both to carry IPv4 and IPv6 routes over one
	// session.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=2
	// +listType=set
	AddressFamilies []AddressFamily `json:"addressFamilies,omitempty"`
}

// GracefulRestart holds the graceful restart settings of a session.
type GracefulRestart struct {
	// RestartTime is how long the router keeps the routes of a restarting speaker; 120s by
	// default, at most 4095s.
	//
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('4095s')",message="restartTime must be between 1s and 4095s (RFC 4724)"
	RestartTime *metav1.Duration `json:"restartTime,omitempty"`
}

// BGPPeer is a router that nodes keep a BGP session with.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=bgppeer,categories=herald
// +kubebuilder:printcolumn:name="Address",type=string,JSONPath=`.spec.peerAddress`
// +kubebuilder:printcolumn:name="My ASN",type=integer,JSONPath=`.spec.myASN`
// +kubebuilder:printcolumn:name="Peer ASN",type=integer,JSONPath=`.spec.peerASN`
// +kubebuilder:printcolumn:name="BFD Profile",type=string,JSONPath=`.spec.bfdProfile`
// +kubebuilder:printcolumn:name="Multi Hop",type=boolean,JSONPath=`.spec.ebgpMultiHop`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BGPPeer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the session's settings.
	Spec BGPPeerSpec `json:"spec"`
}

// BGPPeerList is a list of BGPPeer.
//
// +kubebuilder:object:root=true
type BGPPeerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BGPPeer `json:"items"`
}

func init() {
	SchemeBuilder.Register(&BGPPeer{}, &BGPPeerList{})
}
