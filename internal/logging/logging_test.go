package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNewWritesJSONWithComponentAndFiltersByLevel(t *testing.T) {
	var buf bytes.Buffer
	logger, err := New(&buf, "controller", Options{Level: "warn", Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("hidden")
	logger.Warn("shown", "pool", "blue")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d lines, want only the warning:\n%s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["msg"] != "shown" || rec["component"] != "controller" || rec["pool"] != "blue" {
		t.Errorf("record = %v", rec)
	}
}

func TestNewRejectsUnknownLevelAndFormat(t *testing.T) {
	for _, opts := range []Options{{Level: "loud", Format: "json"}, {Level: "info", Format: "xml"}} {
		if _, err := New(&bytes.Buffer{}, "speaker", opts); err == nil {
			t.Errorf("New(%+v) accepted", opts)
		} else if !strings.Contains(err.Error(), "want") {
			t.Errorf("New(%+v) error %q does not say what is accepted", opts, err)
		}
	}
}
