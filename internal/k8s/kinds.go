package k8s

import (
	"sigs.k8s.io/controller-runtime/pkg/client"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// heraldKinds returns one empty object of every Herald kind.
func heraldKinds() []client.Object {
	return []client.Object{
		&heraldv1beta1.IPAddressPool{},
		&heraldv1beta1.L2Advertisement{},
		&heraldv1beta1.BGPAdvertisement{},
		&heraldv1beta1.BGPPeer{},
		&heraldv1beta1.BFDProfile{},
		&heraldv1beta1.Community{},
		&heraldv1beta1.ServiceL2Status{},
		&heraldv1beta1.ServiceBGPStatus{},
		&heraldv1beta1.BGPSessionState{},
		&heraldv1beta1.ConfigurationState{},
	}
}
