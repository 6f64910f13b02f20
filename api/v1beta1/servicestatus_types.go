package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ServiceAnnouncementSpec identifies the node and Service an announcement status is about. It is
// set when the object is created and never changes.
//
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable: it names the node and Service the status is about"
type ServiceAnnouncementSpec struct {
	// Node is the name of the node that announces.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Node string `json:"node"`

	// ServiceName is the name of the announced Service.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	ServiceName string `json:"serviceName"`

	// ServiceNamespace is the namespace of the announced Service.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	ServiceNamespace string `json:"serviceNamespace"`
}

// ServiceL2StatusStatus says what a node announces with ARP/NDP for one Service.
type ServiceL2StatusStatus struct {
	// Addresses are the Service addresses the node answers for.
	//
	// +optional
	// +listType=atomic
	Addresses []string `json:"addresses,omitempty"`

	// Interfaces are the interfaces the node answers on.
	//
	// +optional
	// +listType=atomic
	Interfaces []string `json:"interfaces,omitempty"`

	// Since is when the node became the announcer.
	//
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
}

// ServiceL2Status says which node answers ARP/NDP for a Service, on which interfaces. Written by
// herald-speaker on the elected node.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=herald
// +kubebuilder:printcolumn:name="Service",type=string,JSONPath=`.spec.serviceName`
// +kubebuilder:printcolumn:name="Service Namespace",type=string,JSONPath=`.spec.serviceNamespace`
// +kubebuilder:printcolumn:name="Node",type=string,JSONPath=`.spec.node`
// +kubebuilder:printcolumn:name="Addresses",type=string,JSONPath=`.status.addresses`
// +kubebuilder:printcolumn:name="Interfaces",type=string,JSONPath=`.status.interfaces`
type ServiceL2Status struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec names the node and the Service.
	Spec ServiceAnnouncementSpec `json:"spec"`

	// Status is what the node announces.
	//
	// +optional
	Status ServiceL2StatusStatus `json:"status,omitempty"`
}

// ServiceL2StatusList is a list of ServiceL2Status.
//
// +kubebuilder:object:root=true
type ServiceL2StatusList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ServiceL2Status `json:"items"`
}

// ServiceBGPStatusStatus says what a node advertises over BGP for one Service.
type ServiceBGPStatusStatus struct {
	// Prefixes are the routes advertised for the Service.
	//
	// +optional
	// +listType=atomic
	Prefixes []string `json:"prefixes,omitempty"`

	// Peers are the names of the BGPPeers the routes are advertised to.
	//
	// +optional
	// +listType=atomic
	Peers []string `json:"peers,omitempty"`
}

// ServiceBGPStatus says which BGP peers a node advertises a Service to. Written by
// herald-speaker on every advertising node.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=herald
// +kubebuilder:printcolumn:name="Service",type=string,JSONPath=`.spec.serviceName`
// +kubebuilder:printcolumn:name="Service Namespace",type=string,JSONPath=`.spec.serviceNamespace`
// +kubebuilder:printcolumn:name="Node",type=string,JSONPath=`.spec.node`
// +kubebuilder:printcolumn:name="Peers",type=string,JSONPath=`.status.peers`
type ServiceBGPStatus struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec names the node and the Service.
	Spec ServiceAnnouncementSpec `json:"spec"`

	// Status is what the node advertises.
	//
	// +optional
	Status ServiceBGPStatusStatus `json:"status,omitempty"`
}

// ServiceBGPStatusList is a list of ServiceBGPStatus.
//
// +kubebuilder:object:root=true
type ServiceBGPStatusList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ServiceBGPStatus `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ServiceL2Status{}, &ServiceL2StatusList{}, &ServiceBGPStatus{}, &ServiceBGPStatusList{})
}
