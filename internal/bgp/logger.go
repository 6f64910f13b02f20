package bgp

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
)

// gobgpLogger adapts GoBGP's logger to slog and remembers the last error GoBGP reported, which
// is how a failed connection (a wrong MD5 password: the SYNs are dropped) or a received
// NOTIFICATION reaches SessionState.LastError. One logger serves one BgpServer, so one peer.
type gobgpLogger struct {
	log *slog.Logger

	mu      sync.Mutex
	lastErr string
}

var _ gobgplog.Logger = (*gobgpLogger)(nil)

func (l *gobgpLogger) setLogger(log *slog.Logger) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log = log
	l.lastErr = ""
}

func (l *gobgpLogger) lastError() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastErr
}

// errorKeys are the fields GoBGP puts errors and session-down reasons in.
var errorKeys = []string{"Error", "Err", "error", "Reason"}

func (l *gobgpLogger) record(level slog.Level, msg string, fields gobgplog.Fields) {
	var errText string
	for _, k := range errorKeys {
		if v, ok := fields[k]; ok && v != nil {
			errText = fmt.Sprint(v)
			break
		}
	}
	l.mu.Lock()
	log := l.log
	switch {
	case fields["Topic"] == "Table":
		// Notes on the routing table (a withdrawal of a route never received, say) are not
		// about the session.
	case errText != "":
		l.lastErr = msg + ": " + errText
	case level >= slog.LevelWarn:
		l.lastErr = msg
	}
	l.mu.Unlock()
	if log == nil || !log.Enabled(context.Background(), level) {
		return
	}
	attrs := make([]slog.Attr, 0, len(fields))
	for k, v := range fields {
		attrs = append(attrs, slog.Any(k, v))
	}
	log.LogAttrs(context.Background(), level, msg, attrs...)
}

func (l *gobgpLogger) Panic(msg string, fields gobgplog.Fields) {
	l.record(slog.LevelError, msg, fields)
	panic(msg)
}

func (l *gobgpLogger) Fatal(msg string, fields gobgplog.Fields) {
	// GoBGP calls Fatal for conditions it cannot continue from; a library must not exit the
	// process, so report it as an error.
	l.record(slog.LevelError, msg, fields)
}

func (l *gobgpLogger) Error(msg string, fields gobgplog.Fields) {
	l.record(slog.LevelError, msg, fields)
}

func (l *gobgpLogger) Warn(msg string, fields gobgplog.Fields) {
	l.record(slog.LevelWarn, msg, fields)
}

func (l *gobgpLogger) Info(msg string, fields gobgplog.Fields) {
	l.record(slog.LevelInfo, msg, fields)
}

func (l *gobgpLogger) Debug(msg string, fields gobgplog.Fields) {
	l.record(slog.LevelDebug, msg, fields)
}

// SetLevel is ignored: the slog handler decides what is written.
func (l *gobgpLogger) SetLevel(gobgplog.LogLevel) {}

// GetLevel is Debug so that GoBGP reports failed connection attempts, which it logs at debug
// level only; record drops what the slog handler does not want.
func (l *gobgpLogger) GetLevel() gobgplog.LogLevel { return gobgplog.DebugLevel }
