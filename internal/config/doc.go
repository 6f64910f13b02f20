// Package config turns Herald's custom resources into one validated, immutable Config that the
// programs use: pools with parsed address ranges and compiled selectors, and (as the speaker
// grows) advertisements, peers and BFD profiles.
//
// Parse checks every rule that spans objects or that the CRD schema cannot express, and reports
// each problem as a FieldError naming the object and the field, so the same text reaches the
// user from the validating webhook, from ConfigurationState and from events. It never talks to
// the API server: callers hand it the objects.
package config
