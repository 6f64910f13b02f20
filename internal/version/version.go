// Package version holds the build identity of the Herald programs, set at link time with
// -ldflags "-X github.com/heraldlb/herald/internal/version.Version=...".
package version

// Version is the release the binary was built from; "dev" for a local build.
var Version = "dev"

// Commit is the source revision the binary was built from, when known.
var Commit = "unknown"
