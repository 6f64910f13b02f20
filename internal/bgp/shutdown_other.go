//go:build !linux

package bgp

import (
	"errors"
	"net/netip"
)

// shutdownSession is Linux-only; elsewhere a graceful Close sends GoBGP's NOTIFICATION.
func shutdownSession(remote netip.AddrPort) error {
	return errors.New("graceful session shutdown is only supported on Linux")
}
