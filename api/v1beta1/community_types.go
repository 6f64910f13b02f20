package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CommunitySpec defines named aliases for BGP community values, so BGPAdvertisements can say
// "no-transit" instead of "64512:100".
type CommunitySpec struct {
	// Communities are the aliases. Names are unique within the object and, across objects, must
	// not be defined twice with different values.
	//
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=256
	// +listType=map
	// +listMapKey=name
	Communities []CommunityAlias `json:"communities"`
}

// CommunityAlias is one named community value.
type CommunityAlias struct {
	// Name is the alias used in BGPAdvertisement.spec.communities.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$`
	Name string `json:"name"`

	// Value is a standard community "AA:NN" or a large community "large:A:B:C".
	//
	// +kubebuilder:validation:XValidation:rule="self.contains(':')",message="value must be a community 'AA:NN' or 'large:A:B:C', not another alias"
	Value CommunityValue `json:"value"`
}

// Community is a set of named BGP community aliases.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=herald
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Community struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec holds the aliases.
	Spec CommunitySpec `json:"spec"`
}

// CommunityList is a list of Community.
//
// +kubebuilder:object:root=true
type CommunityList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Community `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Community{}, &CommunityList{})
}
