package k8s

import (
	"encoding/json"
	"fmt"
	"path"

	"github.com/heraldlb/herald/internal/announcer"
)

// nodeMeta is what a speaker tells the others about its node through the membership: the
// interfaces it has, so that nobody elects it for an L2Advertisement naming interfaces it lacks.
type nodeMeta struct {
	Interfaces []string `json:"interfaces"`
}

// maxMeta is memberlist's limit on node metadata.
const maxMeta = 512

// SpeakerMeta encodes the names of this node's interfaces, as listed by list, for the
// membership, dropping names that do not fit.
func SpeakerMeta(list func() ([]announcer.Interface, error)) ([]byte, error) {
	ifs, err := list()
	if err != nil {
		return nil, err
	}
	var m nodeMeta
	for _, ifc := range ifs {
		m.Interfaces = append(m.Interfaces, ifc.Name)
		if b, _ := json.Marshal(m); len(b) > maxMeta {
			m.Interfaces = m.Interfaces[:len(m.Interfaces)-1]
			break
		}
	}
	return json.Marshal(m)
}

// metaInterfaces decodes another node's interfaces; nil when it published none.
func metaInterfaces(b []byte) []announcer.Interface {
	var m nodeMeta
	if len(b) == 0 || json.Unmarshal(b, &m) != nil || m.Interfaces == nil {
		return nil
	}
	out := make([]announcer.Interface, 0, len(m.Interfaces))
	for _, name := range m.Interfaces {
		out = append(out, announcer.Interface{Name: name})
	}
	return out
}

// metaSource is a membership that carries node metadata (internal/membership.Member).
type metaSource interface {
	Meta() map[string][]byte
}

// SystemInterfacesExcept lists this host's up, non-loopback interfaces like the speaker does by
// default, leaving out those whose name matches one of the shell patterns (path.Match syntax,
// such as "cni*" or "kube-ipvs0"): the speaker neither answers on them nor tells the other
// speakers it has them. A malformed pattern is an error at once, not a silent non-match.
func SystemInterfacesExcept(patterns []string) (func() ([]announcer.Interface, error), error) {
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("interface pattern %q: %w", p, err)
		}
	}
	return func() ([]announcer.Interface, error) {
		ifs, err := systemInterfaces()
		if err != nil {
			return nil, err
		}
		return withoutInterfaces(ifs, patterns), nil
	}, nil
}

// withoutInterfaces drops the interfaces whose name matches a pattern; the patterns are valid.
func withoutInterfaces(ifs []announcer.Interface, patterns []string) []announcer.Interface {
	out := ifs[:0:0]
	for _, ifc := range ifs {
		excluded := false
		for _, p := range patterns {
			if ok, _ := path.Match(p, ifc.Name); ok {
				excluded = true
				break
			}
		}
		if !excluded {
			out = append(out, ifc)
		}
	}
	return out
}
