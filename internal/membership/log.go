package membership

import (
	"context"
	"log"
	"log/slog"
	"strings"
)

// newStdLogger returns a *log.Logger, the kind memberlist writes to, whose every line becomes
// one record of l.
func newStdLogger(l *slog.Logger) *log.Logger {
	return log.New(logBridge{l}, "", 0)
}

// logBridge turns memberlist's lines, "[LEVEL] memberlist: text", into slog records at that
// level with a constant message and the text under "detail". memberlist logs addresses and node
// names, never key material.
type logBridge struct{ log *slog.Logger }

func (b logBridge) Write(p []byte) (int, error) {
	level, detail := parseLine(string(p))
	if b.log.Enabled(context.Background(), level) {
		b.log.Log(context.Background(), level, "memberlist", "detail", detail)
	}
	return len(p), nil
}

// lineLevels maps memberlist's level tags to slog levels.
var lineLevels = map[string]slog.Level{
	"TRACE": slog.LevelDebug,
	"DEBUG": slog.LevelDebug,
	"INFO":  slog.LevelInfo,
	"WARN":  slog.LevelWarn,
	"ERR":   slog.LevelError,
	"ERROR": slog.LevelError,
}

// parseLine splits a memberlist line into its level and text. A line without a known tag is Info.
func parseLine(line string) (slog.Level, string) {
	line = strings.TrimSpace(line)
	level := slog.LevelInfo
	if rest, ok := strings.CutPrefix(line, "["); ok {
		if tag, text, ok := strings.Cut(rest, "]"); ok {
			if l, known := lineLevels[tag]; known {
				level, line = l, strings.TrimSpace(text)
			}
		}
	}
	line = strings.TrimPrefix(line, "memberlist: ")
	return level, line
}
