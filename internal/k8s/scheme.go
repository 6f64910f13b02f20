// Package k8s is the only place that sees client-go and controller-runtime: it turns Kubernetes
// objects into the inputs of Herald's pure packages, runs the reconcilers, and writes status,
// events and the status objects back.
package k8s

import (
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// NewScheme returns a scheme that knows the built-in kinds and Herald's.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(heraldv1beta1.AddToScheme(s))
	return s
}
