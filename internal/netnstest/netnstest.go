// Package netnstest holds what the privileged tests share: the root check that skips them for an
// unprivileged user, and running commands whose failure fails the test. Tests only.
package netnstest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// RequirePrivileges skips the test when not root, and fails it when a tool that `make test`
// installs is missing; packages names the Debian packages to say so.
func RequirePrivileges(t testing.TB, packages string, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("privileged test: needs root to create network namespaces and raw sockets")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: `make test` installs it (Debian packages %s)", tool, packages)
		}
	}
}

// Run runs a command and returns its combined output, failing the test when it fails.
func Run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
