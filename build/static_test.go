// Package build_test checks what the Dockerfiles in build/ rely on: with CGO_ENABLED=0 both
// programs link statically, so they run on a distroless base that has no C library.
package build_test

import (
	"debug/elf"
	"os/exec"
	"testing"

	"github.com/heraldlb/herald/internal/testenv"
)

// dynamicParts lists what makes an ELF binary depend on a dynamic loader or shared libraries.
func dynamicParts(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			out = append(out, p.Type.String())
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		return nil, err
	}
	for _, l := range libs {
		out = append(out, "needs "+l)
	}
	return out, nil
}

func TestProgramsBuildStatic(t *testing.T) {
	// The check must tell a dynamic binary when it sees one: the system shell is one.
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	if parts, err := dynamicParts(sh); err != nil || len(parts) == 0 {
		t.Fatalf("%s looks static (%v, %v): the check cannot tell", sh, parts, err)
	}

	programs := &testenv.Builder{Dir: t.TempDir(), Env: []string{"CGO_ENABLED=0", "GOOS=linux"}}
	for _, pkg := range []string{"controller", "speaker"} {
		t.Run(pkg, func(t *testing.T) {
			parts, err := dynamicParts(programs.Build(t, pkg))
			if err != nil {
				t.Fatal(err)
			}
			if len(parts) > 0 {
				t.Errorf("herald-%s is not static: %v", pkg, parts)
			}
		})
	}
}
