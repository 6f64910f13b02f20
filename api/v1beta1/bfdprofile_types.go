package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BFDProfileSpec holds the timers of Bidirectional Forwarding Detection (RFC 5880) on the BGP
// sessions that name the profile. Intervals are in milliseconds.
type BFDProfileSpec struct {
	// ReceiveInterval is the minimum interval, in milliseconds, at which this side can receive
	// control packets. Default 300.
	//
	// +optional
	// +kubebuilder:default=300
	// +kubebuilder:validation:Minimum=10
	// +kubebuilder:validation:Maximum=60000
	ReceiveInterval *int32 `json:"receiveInterval,omitempty"`

	// TransmitInterval is the minimum interval, in milliseconds, at which this side sends
	// control packets. Default 300.
	//
	// +optional
	// +kubebuilder:default=300
	// +kubebuilder:validation:Minimum=10
	// +kubebuilder:validation:Maximum=60000
	TransmitInterval *int32 `json:"transmitInterval,omitempty"`

	// DetectMultiplier is how many control packets may be lost before the session is declared
	// down. Default 3.
	//
	// +optional
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=2
	// +kubebuilder:validation:Maximum=255
	DetectMultiplier *int32 `json:"detectMultiplier,omitempty"`

	// EchoMode enables the BFD echo function.
	//
	// +optional
	EchoMode bool `json:"echoMode,omitempty"`

	// EchoInterval is the minimum interval, in milliseconds, between echo packets. Default 50.
	//
	// +optional
	// +kubebuilder:default=50
	// +kubebuilder:validation:Minimum=10
	// +kubebuilder:validation:Maximum=60000
	EchoInterval *int32 `json:"echoInterval,omitempty"`

	// PassiveMode makes this side wait for the router's first control packet.
	//
	// +optional
	PassiveMode bool `json:"passiveMode,omitempty"`

	// MinimumTTL is the lowest TTL accepted on incoming packets (multi-hop sessions). Default 254.
	//
	// +optional
	// +kubebuilder:default=254
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=254
	MinimumTTL *int32 `json:"minimumTTL,omitempty"`
}

// BFDProfile is a named set of BFD timers for BGP sessions.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=bfdprofile,categories=herald
// +kubebuilder:printcolumn:name="Receive (ms)",type=integer,JSONPath=`.spec.receiveInterval`
// +kubebuilder:printcolumn:name="Transmit (ms)",type=integer,JSONPath=`.spec.transmitInterval`
// +kubebuilder:printcolumn:name="Multiplier",type=integer,JSONPath=`.spec.detectMultiplier`
// +kubebuilder:printcolumn:name="Echo",type=boolean,JSONPath=`.spec.echoMode`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BFDProfile struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the profile's timers.
	//
	// +optional
	Spec BFDProfileSpec `json:"spec,omitempty"`
}

// BFDProfileList is a list of BFDProfile.
//
// +kubebuilder:object:root=true
type BFDProfileList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BFDProfile `json:"items"`
}

func init() {
	SchemeBuilder.Register(&BFDProfile{}, &BFDProfileList{})
}
