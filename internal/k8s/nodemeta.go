package k8s

import (
	"encoding/json"

	"github.com/heraldlb/herald/internal/announcer"
)

// nodeMeta is what a speaker tells the others about its node through the membership: the
// interfaces it has, so that nobody elects it for an L2Advertisement naming interfaces it lacks.
type nodeMeta struct {
	Interfaces []string `json:"interfaces"`
}

// maxMeta is memberlist's limit on node metadata.
const maxMeta = 512

// SpeakerMeta encodes this node's interface names for the membership, dropping names that do
// not fit.
func SpeakerMeta() ([]byte, error) {
	ifs, err := systemInterfaces()
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
