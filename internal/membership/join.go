package membership

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
)

// firstJoinRetry is the wait after the first failed join; it doubles up to RejoinInterval.
const firstJoinRetry = 200 * time.Millisecond

// joinPeers joins every configured peer that is not live, until ctx ends or the member leaves:
// at once, then with backoff after failures, then every RejoinInterval. Peers are resolved
// again each time, so a DNS name follows the speakers it points at.
func (m *Member) joinPeers(ctx context.Context, list *memberlist.Memberlist) {
	if len(m.cfg.Peers) == 0 {
		return
	}
	retry := firstJoinRetry
	failing := false
	for m.getPhase() == running {
		missing, errs := m.missingPeers(ctx)
		joined := 0
		for _, addr := range missing {
			if ctx.Err() != nil {
				return
			}
			if _, err := list.Join([]string{addr}); err != nil {
				errs = append(errs, joinError(addr, err))
				continue
			}
			joined++
		}
		wait := m.cfg.RejoinInterval
		switch {
		case len(errs) > 0:
			level := slog.LevelWarn
			if failing {
				// Said once; a peer that stays away is not news at every retry.
				level = slog.LevelDebug
			}
			m.log.Log(ctx, level, "joining peers failed; retrying in the background",
				"node", m.cfg.NodeName, "joined", joined, "live", m.events.names(), "error", errors.Join(errs...))
			failing = true
			wait, retry = retry, min(2*retry, m.cfg.RejoinInterval)
		default:
			if joined > 0 {
				m.log.Info("joined peers", "node", m.cfg.NodeName, "joined", joined, "live", m.events.names())
			}
			failing, retry = false, firstJoinRetry
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// missingPeers resolves the configured peers and returns, as ip:port, those that are neither this
// member nor a live member. Peers that do not resolve are reported as errors.
func (m *Member) missingPeers(ctx context.Context) ([]string, []error) {
	live := m.events.liveAddrs()
	self := m.Addr()
	var (
		missing []string
		errs    []error
	)
	for _, p := range m.cfg.Peers {
		host, portText, _ := net.SplitHostPort(p) // validated by New
		port, _ := strconv.ParseUint(portText, 10, 16)
		addrs, err := resolve(ctx, host)
		if err != nil {
			errs = append(errs, fmt.Errorf("resolve peer %s: %w", p, err))
			continue
		}
		for _, a := range addrs {
			ap := netip.AddrPortFrom(a.Unmap(), uint16(port))
			if ap != self && !live[ap] {
				missing = append(missing, ap.String())
			}
		}
	}
	slices.Sort(missing)
	return slices.Compact(missing), errs
}

// resolve returns the addresses of host, an IP address or a DNS name.
func resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// multiErrorPrefix is how go-multierror starts the errors memberlist's Join returns.
var multiErrorPrefix = regexp.MustCompile(`^\d+ errors? occurred: \* `)

// joinError makes memberlist's join error one line and adds the likely cause. When the peers
// have another secret key, or none, memberlist already says "no installed keys could decrypt"
// or "encryption is not configured"; the hint names the setting to fix.
func joinError(addr string, err error) error {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	msg = multiErrorPrefix.ReplaceAllString(msg, "")
	msg = strings.TrimPrefix(msg, "failed to join "+addr+": ")
	var hint string
	switch {
	case strings.Contains(msg, "crypt"):
		hint = "speakers must all have the same memberlist secret key, or all have none"
	case strings.Contains(msg, "connection refused"):
		hint = "nothing listens there; the peer may not have started yet"
	case strings.Contains(msg, "EOF"), strings.Contains(msg, "connection reset"):
		hint = "the peer hung up; a different memberlist secret key is one cause"
	default:
		return fmt.Errorf("join peer %s: %s", addr, msg)
	}
	return fmt.Errorf("join peer %s: %s (%s)", addr, msg, hint)
}
