// Package logging builds the one structured logger the Herald programs use: log/slog, bridged to
// logr for controller-runtime and to klog for client-go, so every line has one format.
//
// It does not own what is logged: libraries return errors, and the adapters that call them log.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
)

// Options selects the logger's level and format.
type Options struct {
	// Level is one of debug, info, warn, error.
	Level string
	// Format is json or text.
	Format string
}

// ParseLevel turns a level name into a slog.Level.
func ParseLevel(name string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(name))); err != nil {
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", name)
	}
	return l, nil
}

// New returns a logger writing to w, and installs it as the logger of controller-runtime and
// klog. The component name is attached to every record.
func New(w io.Writer, component string, opts Options) (*slog.Logger, error) {
	level, err := ParseLevel(opts.Level)
	if err != nil {
		return nil, err
	}
	ho := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch opts.Format {
	case "json", "":
		h = slog.NewJSONHandler(w, ho)
	case "text":
		h = slog.NewTextHandler(w, ho)
	default:
		return nil, fmt.Errorf("log format %q: want json or text", opts.Format)
	}
	logger := slog.New(h).With("component", component)
	lr := logr.FromSlogHandler(logger.Handler())
	ctrl.SetLogger(lr)
	klog.SetLogger(lr)
	return logger, nil
}
