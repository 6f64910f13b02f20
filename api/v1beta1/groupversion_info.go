// Package v1beta1 holds the Herald configuration and status API, group herald.io, version v1beta1.
//
// Configuration kinds (written by users): IPAddressPool, L2Advertisement, BGPAdvertisement,
// BGPPeer, BFDProfile and Community. Status kinds (written by the Herald programs, read by users):
// ServiceL2Status, ServiceBGPStatus, BGPSessionState and ConfigurationState. Every kind is
// namespaced and is read only from the namespace Herald is installed in.
//
// Rules that concern one object are part of the CRD schema (OpenAPI and CEL) and are enforced by
// the API server; rules that span objects live in internal/config and the validating webhook.
//
// +kubebuilder:object:generate=true
// +groupName=herald.io
package v1beta1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "herald.io", Version: "v1beta1"}

	// SchemeBuilder registers the kinds of this package with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the kinds of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
