package k8s

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Leaver is the membership's graceful leave (internal/membership.Member).
type Leaver interface {
	Start(ctx context.Context) error
	Leave(timeout time.Duration) error
	Close() error
}

// Closer stops BGP (internal/bgp.Speaker).
type Closer interface {
	Close() error
}

// Layer2Handover is layer 2 at shutdown (internal/layer2.Speaker): it yields each address as
// soon as another node announces it, then closes.
type Layer2Handover interface {
	Yield()
	Close() error
}

// SpeakerLifecycle runs the membership while the speaker runs and, when it stops, hands its
// addresses over before it goes quiet: it freezes what layer 2 serves, leaves the membership so
// the other speakers elect new owners and announce, keeps answering each address until its new
// owner announces it (at most Delay), and only then closes layer 2. Clients never see a moment
// with no owner, and cannot learn the leaving node again once the new owner has announced.
type SpeakerLifecycle struct {
	Member  Leaver // nil when memberlist is disabled
	Speaker *L2Speaker
	Layer2  Layer2Handover
	// BGP, when set, is closed last: with graceful restart the routers keep the routes while
	// the speaker restarts.
	BGP Closer
	// Delay is how long the leaving speaker keeps answering after it left; it should cover the
	// others noticing the leave and sending their gratuitous announcements.
	Delay        time.Duration
	LeaveTimeout time.Duration
	Logger       *slog.Logger
}

// Start runs until ctx ends, then hands over. It is a manager.Runnable.
func (l *SpeakerLifecycle) Start(ctx context.Context) error {
	if l.Member != nil {
		// The membership outlives ctx: it must leave after layer 2 is frozen, not before.
		if err := l.Member.Start(context.Background()); err != nil {
			return err
		}
	}
	<-ctx.Done()
	l.Speaker.Freeze()
	l.Layer2.Yield()
	if l.Member != nil {
		if err := l.Member.Leave(l.LeaveTimeout); err != nil {
			l.Logger.Warn("leaving the membership failed; the others will notice the silence", "error", err.Error())
		}
		t := time.NewTimer(l.Delay)
		<-t.C
		_ = l.Member.Close()
	}
	l.Logger.Info("handed over; stopping layer 2")
	err := l.Layer2.Close()
	if l.BGP != nil {
		err = errors.Join(err, l.BGP.Close())
	}
	return err
}
