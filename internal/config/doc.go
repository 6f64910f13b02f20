// Package config turns Herald's custom resources into one validated, immutable Config that the
// programs use: pools with parsed address ranges and compiled selectors, layer 2 and BGP
// advertisements, BGP peers, BFD profiles and community aliases.
//
// Parse checks every rule that spans objects or that the CRD schema cannot express, and reports
// each problem as a FieldError naming the object and the field, so the same text reaches the
// user from the validating webhook, from ConfigurationState and from events. References to
// objects not created yet are not problems: they are listed in Config.Pending.
//
// Review is the validating webhook's judgement on one create, update or delete: it runs Parse
// without and with the change and refuses only what the change itself brings in.
//
// It never talks to the API server: callers hand it the objects.
package config
