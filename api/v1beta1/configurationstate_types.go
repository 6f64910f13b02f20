package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Component is a Herald program that loads configuration.
//
// +kubebuilder:validation:Enum=controller;speaker
type Component string

const (
	// ComponentController is herald-controller.
	ComponentController Component = "controller"
	// ComponentSpeaker is herald-speaker.
	ComponentSpeaker Component = "speaker"
)

// ConfigurationStateSpec identifies the program instance a configuration state is about. It is
// set when the object is created and never changes.
//
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable: it names the component and node the state is about"
// +kubebuilder:validation:XValidation:rule="self.component != 'speaker' || size(self.node) > 0",message="node is required for the speaker component"
type ConfigurationStateSpec struct {
	// Component is the program: "controller" or "speaker".
	Component Component `json:"component"`

	// Node is the node the speaker runs on; empty for the controller.
	//
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Node string `json:"node,omitempty"`
}

// ConfigurationResult is the outcome of loading the configuration.
//
// +kubebuilder:validation:Enum=Valid;Invalid;Pending
type ConfigurationResult string

const (
	// ConfigurationValid means the current configuration is loaded and in use.
	ConfigurationValid ConfigurationResult = "Valid"
	// ConfigurationInvalid means the current configuration was rejected; the program keeps
	// using the last valid one.
	ConfigurationInvalid ConfigurationResult = "Invalid"
	// ConfigurationPending means the program has not loaded any configuration yet.
	ConfigurationPending ConfigurationResult = "Pending"
)

// ConfigurationStateStatus is the outcome of the program's last configuration load.
type ConfigurationStateStatus struct {
	// Result is Valid, Invalid (the last valid configuration stays in use) or Pending.
	//
	// +optional
	Result ConfigurationResult `json:"result,omitempty"`

	// Summary explains an Invalid result; it names the object and field at fault, such as
	// `IPAddressPool "blue": spec.addresses[1]: 192.0.2.0/24 overlaps IPAddressPool "red"`.
	//
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Summary string `json:"summary,omitempty"`

	// Pending lists references to objects that do not exist yet, such as a BGPAdvertisement
	// naming a pool not created yet. They are not errors.
	//
	// +optional
	// +listType=atomic
	Pending []string `json:"pending,omitempty"`

	// LastValidTime is when a valid configuration was last loaded.
	//
	// +optional
	LastValidTime *metav1.Time `json:"lastValidTime,omitempty"`

	// Conditions are the standard conditions; type "Valid".
	//
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ConfigurationState reports whether a Herald program accepted the configuration, and why not.
// One exists for the controller and one per speaker node.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=configstate,categories=herald
// +kubebuilder:printcolumn:name="Component",type=string,JSONPath=`.spec.component`
// +kubebuilder:printcolumn:name="Node",type=string,JSONPath=`.spec.node`
// +kubebuilder:printcolumn:name="Result",type=string,JSONPath=`.status.result`
// +kubebuilder:printcolumn:name="Summary",type=string,JSONPath=`.status.summary`
type ConfigurationState struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec names the program instance.
	Spec ConfigurationStateSpec `json:"spec"`

	// Status is the outcome of the last configuration load.
	//
	// +optional
	Status ConfigurationStateStatus `json:"status,omitempty"`
}

// ConfigurationStateList is a list of ConfigurationState.
//
// +kubebuilder:object:root=true
type ConfigurationStateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ConfigurationState `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ConfigurationState{}, &ConfigurationStateList{})
}
