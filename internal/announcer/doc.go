// Package announcer computes what each node should announce: from the validated Config, the
// Services with their addresses and endpoints, the nodes, and the live speakers, it derives for
// every Service address the node that answers ARP/NDP for it (layer 2) and, for this node, the
// interfaces to answer on.
//
// It is pure: no I/O, no clock, no Kubernetes client. Every speaker runs it on the same inputs
// and gets the same answer, which is how speakers agree on owners without talking. The speaker's
// reconciler gathers the inputs and hands the result for this node to internal/layer2.
package announcer
