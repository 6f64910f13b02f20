package membership

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLogBridgeMakesStructuredRecordsAtMemberlistsLevel(t *testing.T) {
	var buf bytes.Buffer
	std := newStdLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	std.Printf("[DEBUG] memberlist: Failed UDP ping: %s (timeout reached)", "node-b")
	std.Printf("[INFO] memberlist: Suspect node-b has failed, no acks received")
	std.Printf("[WARN] memberlist: Refuting a suspect message (from: node-c)")
	std.Printf("[ERR] memberlist: failed to receive: no installed keys could decrypt the message from=192.0.2.7:7946")
	std.Printf("[ERR] Failed to shutdown transport: closed")
	std.Printf("1 error occurred:\n\t* failed to join 192.0.2.1:7946\n\n")
	std.Printf("[CUSTOM] something")

	type record struct{ Level, Msg, Detail string }
	var got []record
	for line := range strings.Lines(buf.String()) {
		var r record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("not one JSON record per memberlist line: %q: %v", line, err)
		}
		got = append(got, r)
	}
	want := []record{
		{"DEBUG", "memberlist", "Failed UDP ping: node-b (timeout reached)"},
		{"INFO", "memberlist", "Suspect node-b has failed, no acks received"},
		{"WARN", "memberlist", "Refuting a suspect message (from: node-c)"},
		{"ERROR", "memberlist", "failed to receive: no installed keys could decrypt the message from=192.0.2.7:7946"},
		{"ERROR", "memberlist", "Failed to shutdown transport: closed"},
		{"INFO", "memberlist", "1 error occurred:\n\t* failed to join 192.0.2.1:7946"},
		{"INFO", "memberlist", "[CUSTOM] something"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

func TestLogBridgeSkipsDisabledLevels(t *testing.T) {
	var buf bytes.Buffer
	std := newStdLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	std.Printf("[DEBUG] memberlist: Stream connection from=192.0.2.1:40000")
	if buf.Len() != 0 {
		t.Errorf("a debug line reached an info logger: %s", buf.String())
	}
}
