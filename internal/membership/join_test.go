package membership

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMissingPeersLeavesOutSelfAndLiveMembers(t *testing.T) {
	m, err := New(Config{
		NodeName: "self",
		Peers: []string{
			"192.0.2.1:7946",     // this member
			"192.0.2.2:7946",     // live
			"192.0.2.3:7946",     // not live
			"192.0.2.3:7946",     // listed twice
			"192.0.2.2:7947",     // live address, other port
			"[2001:db8::4]:7946", // not live
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	m.addr = netip.MustParseAddrPort("192.0.2.1:7946")
	m.events.addrs["self"] = m.addr
	m.events.addrs["b"] = netip.MustParseAddrPort("192.0.2.2:7946")

	missing, errs := m.missingPeers(t.Context())
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := []string{"192.0.2.2:7947", "192.0.2.3:7946", "[2001:db8::4]:7946"}
	if diff := cmp.Diff(want, missing); diff != "" {
		t.Errorf("missing peers (-want +got):\n%s", diff)
	}
}

func TestJoinErrorIsOneLineWithTheLikelyCause(t *testing.T) {
	const addr = "192.0.2.1:7946"
	tests := []struct {
		name, err, want string
	}{
		{
			"other key",
			"1 error occurred:\n\t* failed to join 192.0.2.1:7946: no installed keys could decrypt the message\n\n",
			"join peer 192.0.2.1:7946: no installed keys could decrypt the message (speakers must all have the same memberlist secret key, or all have none)",
		},
		{
			"no key here, key there",
			"1 error occurred:\n\t* failed to join 192.0.2.1:7946: remote state is encrypted and encryption is not configured\n\n",
			"join peer 192.0.2.1:7946: remote state is encrypted and encryption is not configured (speakers must all have the same memberlist secret key, or all have none)",
		},
		{
			"peer not started",
			"1 error occurred:\n\t* failed to join 192.0.2.1:7946: dial tcp 192.0.2.1:7946: connect: connection refused\n\n",
			"join peer 192.0.2.1:7946: dial tcp 192.0.2.1:7946: connect: connection refused (nothing listens there; the peer may not have started yet)",
		},
		{
			"hung up",
			"1 error occurred:\n\t* failed to join 192.0.2.1:7946: EOF\n\n",
			"join peer 192.0.2.1:7946: EOF (the peer hung up; a different memberlist secret key is one cause)",
		},
		{
			"timeout",
			"1 error occurred:\n\t* failed to join 192.0.2.1:7946: dial tcp 192.0.2.1:7946: i/o timeout\n\n",
			"join peer 192.0.2.1:7946: dial tcp 192.0.2.1:7946: i/o timeout",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := joinError(addr, errors.New(tt.err)).Error(); got != tt.want {
				t.Errorf("joinError =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
