package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BGPSessionStateSpec identifies the node and peer a session state is about. It is set when the
// object is created and never changes.
//
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable: it names the node and peer the state is about"
type BGPSessionStateSpec struct {
	// Node is the name of the node that keeps the session.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Node string `json:"node"`

	// Peer is the name of the BGPPeer.
	Peer ObjectName `json:"peer"`

	// PeerAddress is the router's address.
	PeerAddress IPAddress `json:"peerAddress"`
}

// SessionState is a BGP finite state machine state (RFC 4271 section 8).
//
// +kubebuilder:validation:Enum=Unknown;Idle;Connect;Active;OpenSent;OpenConfirm;Established
type SessionState string

// The BGP session states.
const (
	SessionStateUnknown     SessionState = "Unknown"
	SessionStateIdle        SessionState = "Idle"
	SessionStateConnect     SessionState = "Connect"
	SessionStateActive      SessionState = "Active"
	SessionStateOpenSent    SessionState = "OpenSent"
	SessionStateOpenConfirm SessionState = "OpenConfirm"
	SessionStateEstablished SessionState = "Established"
)

// BGPSessionStateStatus is the current state of one session.
type BGPSessionStateStatus struct {
	// SessionState is the BGP state of the session.
	//
	// +optional
	SessionState SessionState `json:"sessionState,omitempty"`

	// BFDState is the BFD state of the session ("Up", "Down", "Init", "AdminDown"), empty
	// without BFD.
	//
	// +optional
	BFDState string `json:"bfdState,omitempty"`

	// EstablishedSince is when the session last reached Established; empty while it is not.
	//
	// +optional
	EstablishedSince *metav1.Time `json:"establishedSince,omitempty"`

	// PrefixesSent is the number of prefixes advertised to the peer.
	//
	// +optional
	PrefixesSent int64 `json:"prefixesSent"`

	// PrefixesReceived is the number of prefixes the peer sent (they are never installed).
	//
	// +optional
	PrefixesReceived int64 `json:"prefixesReceived"`

	// LastError is the most recent error of the session, such as a NOTIFICATION received or a
	// connection failure.
	//
	// +optional
	LastError string `json:"lastError,omitempty"`

	// LastErrorTime is when lastError happened.
	//
	// +optional
	LastErrorTime *metav1.Time `json:"lastErrorTime,omitempty"`
}

// BGPSessionState is the state of the BGP session between one node and one peer. Written by
// herald-speaker.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=bgpsession,categories=herald
// +kubebuilder:printcolumn:name="Node",type=string,JSONPath=`.spec.node`
// +kubebuilder:printcolumn:name="Peer",type=string,JSONPath=`.spec.peer`
// +kubebuilder:printcolumn:name="Peer Address",type=string,JSONPath=`.spec.peerAddress`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.sessionState`
// +kubebuilder:printcolumn:name="BFD",type=string,JSONPath=`.status.bfdState`,priority=1
// +kubebuilder:printcolumn:name="Sent",type=integer,JSONPath=`.status.prefixesSent`
// +kubebuilder:printcolumn:name="Since",type=date,JSONPath=`.status.establishedSince`
type BGPSessionState struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec names the node and the peer.
	Spec BGPSessionStateSpec `json:"spec"`

	// Status is the session's current state.
	//
	// +optional
	Status BGPSessionStateStatus `json:"status,omitempty"`
}

// BGPSessionStateList is a list of BGPSessionState.
//
// +kubebuilder:object:root=true
type BGPSessionStateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BGPSessionState `json:"items"`
}

func init() {
	SchemeBuilder.Register(&BGPSessionState{}, &BGPSessionStateList{})
}
