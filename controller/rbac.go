package main

// The permissions herald-controller needs; `make manifests` turns these markers into
// config/rbac/controller. Herald's own kinds are read only in the install namespace.
//
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete,namespace=herald-system
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=services/status,verbs=get;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=herald.io,resources=ipaddresspools;l2advertisements;bgpadvertisements;bgppeers;bfdprofiles;communities;servicel2statuses;servicebgpstatuses;bgpsessionstates;configurationstates,verbs=get;list;watch,namespace=herald-system
// +kubebuilder:rbac:groups=herald.io,resources=ipaddresspools/status,verbs=get;patch,namespace=herald-system
// +kubebuilder:rbac:groups=herald.io,resources=configurationstates,verbs=create,namespace=herald-system
// +kubebuilder:rbac:groups=herald.io,resources=configurationstates/status,verbs=get;update;patch,namespace=herald-system
// The validating webhook also needs its certificate Secret and the caBundle of its
// ValidatingWebhookConfiguration: the Helm chart grants those by name (charts/herald/templates/
// rbac.yaml) and creates the Secret, so that the controller reads no other Secret.
