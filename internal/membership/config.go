package membership

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// DefaultPort is the conventional memberlist port, for TCP and UDP.
const DefaultPort = 7946

// Defaults for the zero values of Config, tuned for detection well within one second on a LAN;
// the package documentation explains the trade-off.
const (
	DefaultProbeInterval    = 100 * time.Millisecond
	DefaultProbeTimeout     = 50 * time.Millisecond
	DefaultSuspicionMult    = 2
	DefaultIndirectChecks   = 3
	DefaultGossipInterval   = 50 * time.Millisecond
	DefaultPushPullInterval = 15 * time.Second
	DefaultTCPTimeout       = 3 * time.Second
	DefaultRejoinInterval   = 10 * time.Second
	DefaultLeaveTimeout     = 2 * time.Second
)

// ErrInvalidConfig is wrapped by the errors New returns for a Config it cannot use.
var ErrInvalidConfig = errors.New("invalid membership config")

// Config configures a Member. Zero durations and counts take the defaults above.
type Config struct {
	// NodeName is this speaker's Kubernetes node name, unique in the cluster. Required.
	NodeName string
	// BindAddr is the IP address to listen on; empty means all addresses.
	BindAddr string
	// BindPort is the TCP and UDP port to listen on. The speaker uses DefaultPort; 0 lets the
	// kernel pick one (for tests: Addr tells which).
	BindPort int
	// AdvertiseAddr is the IP address peers reach this member at; empty means the bind address,
	// or the first private address when binding to all.
	AdvertiseAddr string
	// Peers are the host:port addresses to join; a host name may resolve to several addresses,
	// each of which is joined. This node's own address may be among them.
	Peers []string
	// SecretKey, if set, encrypts and authenticates all gossip with AES-GCM: 16, 24 or 32 bytes for
	// AES-128, -192 or -256. Members with a different key, or none, cannot join.
	SecretKey []byte
	// Meta is this member's metadata, gossiped to the others with its liveness (at most 512
	// bytes): the speaker publishes its interface names in it.
	Meta []byte

	// ProbeInterval is the time between probes of one random peer.
	ProbeInterval time.Duration
	// ProbeTimeout is how long a direct probe waits for an ack before asking other members to
	// probe indirectly; it must be less than ProbeInterval and above the network's 99th
	// percentile round trip.
	ProbeTimeout time.Duration
	// SuspicionMult times ProbeInterval (times log10 of the cluster size, at least 1) is how long a
	// suspect member has to refute before it is declared dead.
	SuspicionMult int
	// IndirectChecks is how many other members probe a peer that missed a direct probe.
	IndirectChecks int
	// GossipInterval is the time between gossip rounds that spread news, such as a death.
	GossipInterval time.Duration
	// PushPullInterval is the time between full state exchanges with a random peer.
	PushPullInterval time.Duration
	// TCPTimeout bounds connecting to a peer and each full state exchange, joins included.
	TCPTimeout time.Duration
	// RejoinInterval is how often configured peers that are not live are joined again, and the
	// longest backoff between failed join attempts.
	RejoinInterval time.Duration
	// LeaveTimeout bounds the graceful leave when the context given to Start ends.
	LeaveTimeout time.Duration

	// Logger receives the Member's records and memberlist's, which are bridged to it. Nil
	// discards them.
	Logger *slog.Logger
}

// LogValue shows the Config in logs without the secret key.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("nodeName", c.NodeName),
		slog.String("bindAddr", c.BindAddr),
		slog.Int("bindPort", c.BindPort),
		slog.String("advertiseAddr", c.AdvertiseAddr),
		slog.Any("peers", c.Peers),
		slog.Bool("encrypted", len(c.SecretKey) > 0),
		slog.Duration("probeInterval", c.ProbeInterval),
		slog.Duration("probeTimeout", c.ProbeTimeout),
		slog.Int("suspicionMult", c.SuspicionMult),
		slog.Duration("gossipInterval", c.GossipInterval),
	)
}

// withDefaults returns a copy of c with defaults filled in and its slices copied, so that the
// caller changing them later has no effect.
func (c Config) withDefaults() Config {
	setDefault(&c.ProbeInterval, DefaultProbeInterval)
	setDefault(&c.ProbeTimeout, DefaultProbeTimeout)
	setDefault(&c.SuspicionMult, DefaultSuspicionMult)
	setDefault(&c.IndirectChecks, DefaultIndirectChecks)
	setDefault(&c.GossipInterval, DefaultGossipInterval)
	setDefault(&c.PushPullInterval, DefaultPushPullInterval)
	setDefault(&c.TCPTimeout, DefaultTCPTimeout)
	setDefault(&c.RejoinInterval, DefaultRejoinInterval)
	setDefault(&c.LeaveTimeout, DefaultLeaveTimeout)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Peers = append([]string(nil), c.Peers...)
	c.SecretKey = append([]byte(nil), c.SecretKey...)
	return c
}

func setDefault[T time.Duration | int](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// validate reports the first problem of a Config with defaults filled in.
func (c Config) validate() error {
	if c.NodeName == "" {
		return invalid("nodeName", "must not be empty")
	}
	for _, a := range []struct{ field, addr string }{{"bindAddr", c.BindAddr}, {"advertiseAddr", c.AdvertiseAddr}} {
		if a.addr == "" {
			continue
		}
		if _, err := netip.ParseAddr(a.addr); err != nil {
			return invalid(a.field, fmt.Sprintf("%q is not an IP address", a.addr))
		}
	}
	if bind, err := netip.ParseAddr(c.BindAddr); err == nil && bind.Is6() && bind.IsUnspecified() && c.AdvertiseAddr == "" {
		// memberlist picks a private address to advertise only when bound to 0.0.0.0; bound to
		// :: it would advertise :: itself.
		return invalid("advertiseAddr", "must be set when bindAddr is ::")
	}
	if adv, err := netip.ParseAddr(c.AdvertiseAddr); err == nil && adv.IsUnspecified() {
		return invalid("advertiseAddr", fmt.Sprintf("%s is not an address peers can reach", adv))
	}
	if c.BindPort < 0 || c.BindPort > 65535 {
		return invalid("bindPort", fmt.Sprintf("%d is not a port", c.BindPort))
	}
	for i, p := range c.Peers {
		host, port, err := net.SplitHostPort(p)
		if err != nil || host == "" {
			return invalid(fmt.Sprintf("peers[%d]", i), fmt.Sprintf("%q is not host:port", p))
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return invalid(fmt.Sprintf("peers[%d]", i), fmt.Sprintf("%q has no valid port", p))
		}
	}
	if l := len(c.SecretKey); l != 0 && l != 16 && l != 24 && l != 32 {
		// The key itself is never part of a message.
		return invalid("secretKey", fmt.Sprintf("is %d bytes, want 16, 24 or 32", l))
	}
	for _, d := range []struct {
		field string
		d     time.Duration
	}{
		{"probeInterval", c.ProbeInterval}, {"probeTimeout", c.ProbeTimeout}, {"gossipInterval", c.GossipInterval},
		{"pushPullInterval", c.PushPullInterval}, {"tcpTimeout", c.TCPTimeout}, {"rejoinInterval", c.RejoinInterval},
		{"leaveTimeout", c.LeaveTimeout},
	} {
		if d.d < 0 {
			return invalid(d.field, fmt.Sprintf("%s is negative", d.d))
		}
	}
	if c.ProbeTimeout >= c.ProbeInterval {
		return invalid("probeTimeout", fmt.Sprintf("%s must be less than probeInterval %s", c.ProbeTimeout, c.ProbeInterval))
	}
	if c.SuspicionMult < 1 {
		return invalid("suspicionMult", fmt.Sprintf("%d must be at least 1", c.SuspicionMult))
	}
	if c.IndirectChecks < 0 {
		return invalid("indirectChecks", fmt.Sprintf("%d is negative", c.IndirectChecks))
	}
	return nil
}

func invalid(field, problem string) error {
	return fmt.Errorf("%w: %s %s", ErrInvalidConfig, field, problem)
}
