package main

// The permissions herald-speaker needs; `make manifests` turns these markers into
// config/rbac/speaker. It reads Services but never changes them, and writes only its own
// status objects in the install namespace.
//
// +kubebuilder:rbac:groups="",resources=services;nodes,verbs=get;list;watch
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=herald.io,resources=ipaddresspools;l2advertisements;bgpadvertisements;bgppeers;bfdprofiles;communities;configurationstates,verbs=get;list;watch,namespace=herald-system
// +kubebuilder:rbac:groups=herald.io,resources=servicel2statuses;servicebgpstatuses;bgpsessionstates,verbs=get;list;watch;create;update;patch;delete,namespace=herald-system
// +kubebuilder:rbac:groups=herald.io,resources=servicel2statuses/status;servicebgpstatuses/status;bgpsessionstates/status,verbs=get;update;patch,namespace=herald-system
// +kubebuilder:rbac:groups=herald.io,resources=configurationstates,verbs=create,namespace=herald-system
// +kubebuilder:rbac:groups=herald.io,resources=configurationstates/status,verbs=get;update;patch,namespace=herald-system
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get,namespace=herald-system
