package membership

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStaticLiveIsSortedAndDeduplicated(t *testing.T) {
	s := NewStatic("c", "a", "", "c", "b")
	if diff := cmp.Diff([]string{"a", "b", "c"}, s.Live()); diff != "" {
		t.Errorf("Live (-want +got):\n%s", diff)
	}
	live := s.Live()
	live[0] = "changed"
	if s.Live()[0] != "a" {
		t.Error("changing the returned slice changed the live set")
	}
	if len(s.Changed()) != 0 {
		t.Error("NewStatic signalled Changed")
	}
}

func TestStaticSetSignalsOnlyChangesAndCoalesces(t *testing.T) {
	s := NewStatic("a")
	s.Set("a", "a")
	if len(s.Changed()) != 0 {
		t.Error("Set with the same nodes signalled Changed")
	}
	s.Set("a", "b")
	s.Set("b", "c")
	s.Set("c", "d")
	if n := len(s.Changed()); n != 1 {
		t.Errorf("three changes left %d signals, want 1", n)
	}
	<-s.Changed()
	if diff := cmp.Diff([]string{"c", "d"}, s.Live()); diff != "" {
		t.Errorf("Live after Set (-want +got):\n%s", diff)
	}
	s.Set()
	if len(s.Changed()) != 1 || len(s.Live()) != 0 {
		t.Errorf("Set() to empty: %d signals, live %v; want 1 signal and none live", len(s.Changed()), s.Live())
	}
}
