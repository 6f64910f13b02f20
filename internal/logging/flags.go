package logging

import (
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/heraldlb/herald/internal/version"
)

// ParseCommandLine adds the flags every Herald program has (-log-level, -log-format,
// -version) to the command line, parses it, and returns the program's logger. It exits after
// printing the version for -version, and with status 2 for bad flags or logger options.
func ParseCommandLine(program, description, component string) *slog.Logger {
	var opts Options
	var showVersion bool
	flag.StringVar(&opts.Level, "log-level", "info", "log level: debug, info, warn or error")
	flag.StringVar(&opts.Format, "log-format", "json", "log format: json or text")
	flag.BoolVar(&showVersion, "version", false, "print the version and exit")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: %s [flags]\n\n%s\n\nFlags:\n", program, description)
		flag.PrintDefaults()
	}
	flag.Parse()
	if showVersion {
		fmt.Println(version.Version, version.Commit)
		os.Exit(0)
	}
	logger, err := New(os.Stderr, component, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", program, err)
		os.Exit(2)
	}
	return logger
}
