package e2etest

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/heraldlb/herald/e2etest/lab"
)

// The failover tests kill the speaker of the node that owns a Service address and measure, from
// the signal, how long the client takes to see the new owner: its neighbour entry for the
// address (polled every neighPoll) and an HTTP answer from another node. HERALD_FAILOVER_RUNS
// sets the runs per signal (default 2); HERALD_WRITE_FIGURES=1 writes docs/failover.md.

const (
	neighPoll     = 5 * time.Millisecond
	arpingEvery   = 5 * time.Millisecond
	failoverLimit = 30 * time.Second
)

type failoverRun struct {
	// Neigh is when the client's entry first pointed elsewhere; NeighFinal when it last turned
	// away from the old owner, NeighFlaps the polls that saw it back on the old owner between.
	Neigh, NeighFinal, HTTP time.Duration
	NeighFlaps              int
	// ARPGap is the longest time between two ARP answers the client got around the failover.
	ARPGap time.Duration
	// ARPProbes were sent around the failover; ARPMissed of them after the signal got no answer
	// (-1 after SIGKILL, where some must go unanswered).
	ARPProbes, ARPMissed int
}

var (
	figuresMu sync.Mutex
	figures   = map[string][]failoverRun{}
)

func failoverRuns(t *testing.T) int {
	s := os.Getenv("HERALD_FAILOVER_RUNS")
	if s == "" {
		return 2
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("HERALD_FAILOVER_RUNS=%q: want a positive number", s)
	}
	return n
}

func TestFailoverOnSIGKILLOfTheOwnersSpeaker(t *testing.T) {
	testFailover(t, "failover-kill", syscall.SIGKILL)
}

// On SIGTERM the speaker hands over: the client must keep getting ARP answers throughout.
func TestHandOverOnSIGTERMOfTheOwnersSpeaker(t *testing.T) {
	testFailover(t, "failover-term", syscall.SIGTERM)
}

func testFailover(t *testing.T, name string, sig syscall.Signal) {
	l := requireLab(t)
	svc := createService(t, name, corev1.IPv4Protocol)
	addr := lab.IngressAddrs(svc)[0]
	n := failoverRuns(t)
	var runs []failoverRun
	for i := range n {
		r := failoverOnce(t, l, svc, addr, sig)
		t.Logf("run %d/%d (%s): neighbour entry %s (final %s, %d polls back on the old owner), HTTP from the new owner %s, longest gap between ARP answers %s (%d probes)",
			i+1, n, sig, r.Neigh.Round(time.Millisecond), r.NeighFinal.Round(time.Millisecond), r.NeighFlaps,
			r.HTTP.Round(time.Millisecond), r.ARPGap.Round(time.Millisecond), r.ARPProbes)
		runs = append(runs, r)
	}
	figuresMu.Lock()
	figures[sig.String()] = runs
	figuresMu.Unlock()
}

func failoverOnce(t *testing.T, l *lab.Lab, svc *corev1.Service, addr netip.Addr, sig syscall.Signal) failoverRun {
	t.Helper()
	ctx := context.Background()
	// Steady state: every speaker up, one owner, and the client talking to it.
	if err := l.WaitSpeakersReady(ctx); err != nil {
		t.Fatal(err)
	}
	old := owner(t, svc, addr)
	eventually(t, 30*time.Second, 50*time.Millisecond, "the client to reach "+old.Name+" at "+addr.String(), func() bool {
		return curl(addr, time.Second) == old.Name && neighMAC(addr) == old.MAC
	})

	arp := startArping(t, addr)
	eventually(t, 10*time.Second, arpingEvery, "arping to get answers", func() bool { return arp.count() > 0 })

	httpDone := make(chan time.Time, 1)
	stopHTTP := make(chan struct{})
	defer close(stopHTTP)
	t0 := time.Now()
	wait, err := l.Signal("speaker-"+old.Name, sig)
	if err != nil {
		t.Fatal(err)
	}
	// The supervisor's part: start the speaker again when this run ends, however it ends.
	defer func() {
		if err := wait(15 * time.Second); err != nil {
			t.Error(err)
		}
		if err := l.Restart("speaker-" + old.Name); err != nil {
			t.Error(err)
		}
	}()
	go func() {
		for {
			select {
			case <-stopHTTP:
				return
			default:
			}
			if body := curl(addr, 500*time.Millisecond); body != "" && body != old.Name {
				httpDone <- time.Now()
				return
			}
		}
	}()

	var r failoverRun
	var newMAC string
	deadline := t0.Add(failoverLimit)
	for {
		mac := neighMAC(addr)
		if mac != "" && mac != old.MAC {
			if _, ok := l.NodeByMAC(mac); !ok {
				t.Fatalf("the client's entry for %s points at %s, which is no node's", addr, mac)
			}
			r.Neigh, newMAC = time.Since(t0), mac
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the client's neighbour entry for %s still points at %s (%s) %s after %s", addr, mac, old.Name, failoverLimit, sig)
		}
		time.Sleep(neighPoll)
	}
	select {
	case at := <-httpDone:
		r.HTTP = at.Sub(t0)
	case <-time.After(time.Until(deadline)):
		t.Fatalf("no HTTP answer from another node than %s within %s of %s", old.Name, failoverLimit, sig)
	}
	// Keep watching until a second after the old speaker is gone: a hole in the ARP answers, or
	// the client's entry going back to the old owner, would show now.
	gone := make(chan error, 1)
	go func() { gone <- wait(15 * time.Second) }()
	var goneAt time.Time
	r.NeighFinal = r.Neigh
	for goneAt.IsZero() || time.Since(goneAt) < time.Second {
		select {
		case err := <-gone:
			if err != nil {
				t.Fatal(err)
			}
			goneAt = time.Now()
		default:
		}
		if neighMAC(addr) == old.MAC {
			r.NeighFinal, r.NeighFlaps = 0, r.NeighFlaps+1
		} else if r.NeighFinal == 0 {
			r.NeighFinal = time.Since(t0)
		}
		time.Sleep(neighPoll)
	}
	if r.NeighFinal == 0 {
		t.Fatalf("the client's entry for %s points at the old owner %s a second after its speaker stopped", addr, old.Name)
	}
	answered, missed := arp.stop()
	r.ARPGap = longestGap(t0, answered)
	r.ARPProbes = len(answered) + len(missed)
	newOwner, _ := l.NodeByMAC(newMAC)
	for _, m := range missed {
		if m.After(t0) {
			r.ARPMissed++
		}
	}
	if sig != syscall.SIGTERM {
		r.ARPMissed = -1 // expected, and not a figure: see writeFigures
	} else if r.ARPMissed > 0 {
		t.Errorf("during the hand-over from %s to %s, %d of %d ARP probes got no answer; longest time without one %s",
			old.Name, newOwner.Name, r.ARPMissed, r.ARPProbes, r.ARPGap.Round(time.Millisecond))
	}
	if nodes, err := l.Announcers(ctx, svc, addr); err == nil && slices.Contains(nodes, old.Name) {
		// The dead speaker cannot clean its status up; only a restart does. Note it only.
		t.Logf("ServiceL2Status still names %s after its speaker died: %v", old.Name, nodes)
	}
	return r
}

// arping probes an address from the client with one `arping -c 1` after another (iputils
// arping takes whole seconds for its interval and timeout), recording when a probe was answered
// and when one got no answer within its second.
type arping struct {
	mu       sync.Mutex
	answered []time.Time
	missed   []time.Time
	quit     chan struct{}
	done     chan struct{}
}

func startArping(t *testing.T, addr netip.Addr) *arping {
	t.Helper()
	a := &arping{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		for {
			select {
			case <-a.quit:
				return
			default:
			}
			start := time.Now()
			ok := arpingOnce(addr, 1) != ""
			a.mu.Lock()
			if ok {
				a.answered = append(a.answered, time.Now())
			} else {
				a.missed = append(a.missed, start)
			}
			a.mu.Unlock()
			time.Sleep(arpingEvery)
		}
	}()
	t.Cleanup(func() { a.stop() })
	return a
}

func (a *arping) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.answered)
}

// stop ends the probes and returns when they were answered and when not.
func (a *arping) stop() (answered, missed []time.Time) {
	select {
	case <-a.quit:
	default:
		close(a.quit)
	}
	<-a.done
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.answered), slices.Clone(a.missed)
}

// longestGap is the longest time without an answer from the last answer before t0 on.
func longestGap(t0 time.Time, at []time.Time) time.Duration {
	var gap time.Duration
	prev := time.Time{}
	for _, ts := range at {
		if ts.Before(t0) {
			prev = ts
			continue
		}
		if !prev.IsZero() && ts.Sub(prev) > gap {
			gap = ts.Sub(prev)
		}
		prev = ts
	}
	return gap
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p*float64(len(s)-1) + 0.5)
	return s[i]
}

// writeFigures writes docs/failover.md from the runs of this test binary, when
// HERALD_WRITE_FIGURES=1 and both failover tests ran.
func writeFigures() error {
	if os.Getenv("HERALD_WRITE_FIGURES") != "1" {
		return nil
	}
	kill, term := figures[syscall.SIGKILL.String()], figures[syscall.SIGTERM.String()]
	wrote := false
	if len(kill) > 0 && len(term) > 0 {
		if err := writeL2Figures(kill, term); err != nil {
			return err
		}
		wrote = true
	}
	if len(bgpFigures) > 0 {
		if err := writeBGPFigures(); err != nil {
			return err
		}
		wrote = true
	}
	if len(chaosFigures) > 0 && chaosFull() {
		if err := writeChaosFigures(); err != nil {
			return err
		}
		wrote = true
	}
	if !wrote {
		// A benchmark run (make bench-speaker) writes its own section.
		fmt.Println("e2etest: HERALD_WRITE_FIGURES=1, but no failover, BGP or full chaos figures to write")
	}
	return nil
}

func writeL2Figures(kill, term []failoverRun) error {
	var b strings.Builder
	b.WriteString(`# Layer 2 failover in the lab

Written by ` + "`make e2e-figures`" + ` (the failover tests of e2etest/ with HERALD_FAILOVER_RUNS=10
HERALD_WRITE_FIGURES=1); do not edit by hand.

Three node namespaces on one bridge run the real herald-speaker (memberlist defaults: probe
interval 100ms, timeout 50ms, suspicion multiplier 2; 5 gratuitous ARPs 250ms apart; hand-over
delay 500ms). A client on the same segment keeps a neighbour entry for an IPv4 Service address.
The speaker of the owner is killed; times run from the signal to:

- **neighbour entry**: the client's entry for the address points at another node's MAC (` + "`ip neigh`" + `
  polled every 5ms); **final**: the last time it turned away from the old owner, watched until a
  second after the old speaker exited. On SIGTERM the old speaker keeps answering for the
  hand-over delay, so an ARP request the client sends then (the probes below are such requests)
  may get the old MAC last and turn the entry back until the new owner's next gratuitous ARP:
  the runs where a poll saw that are counted;
- **HTTP**: curl from the client is answered by another node (the old node's kernel still serves
  while the client sends there: only the speaker died);
- **ARP gap**: the longest time between two answered ` + "`arping -c 1`" + ` probes, run one after
  another (each takes a few milliseconds when answered, one second when not), from the last
  answer before the signal on. On SIGTERM no probe may go unanswered. On SIGKILL probes go
  unanswered until another node takes over, and each waits a whole second, so the gap says
  nothing there: it is not given. With the neighbour and HTTP polls running beside it, one
  answered probe takes tens of milliseconds on a small machine, so a gap of a few hundred
  milliseconds without an unanswered probe is the probe loop's own pace, not silence.

`)
	fmt.Fprintf(&b, "Measured %s on %s, %d runs per signal.\n\n", time.Now().UTC().Format("2006-01-02"), hostDesc(), len(kill))
	b.WriteString("| signal | runs | neighbour entry p50 | max | final p50 | max | runs back on the old owner | HTTP p50 | max | ARP gap p50 | max | unanswered ARP probes |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, row := range []struct {
		name string
		runs []failoverRun
	}{{"SIGKILL (failure)", kill}, {"SIGTERM (hand-over)", term}} {
		var neigh, final, http, gap []time.Duration
		missed, probes, flapped := 0, 0, 0
		for _, r := range row.runs {
			neigh, final, http, gap = append(neigh, r.Neigh), append(final, r.NeighFinal), append(http, r.HTTP), append(gap, r.ARPGap)
			missed, probes = missed+r.ARPMissed, probes+r.ARPProbes
			if r.NeighFlaps > 0 {
				flapped++
			}
		}
		ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
		gapP50, gapMax, unanswered := ms(percentile(gap, 0.5)), ms(slices.Max(gap)), fmt.Sprintf("%d of %d", missed, probes)
		if row.runs[0].ARPMissed < 0 {
			gapP50, gapMax, unanswered = "—", "—", "expected"
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %d | %s | %s | %s | %s | %s |\n", row.name, len(row.runs),
			ms(percentile(neigh, 0.5)), ms(slices.Max(neigh)), ms(percentile(final, 0.5)), ms(slices.Max(final)), flapped,
			ms(percentile(http, 0.5)), ms(slices.Max(http)), gapP50, gapMax, unanswered)
	}
	path := filepath.Join(theLab.Root, "docs", "failover.md")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	fmt.Printf("e2etest: wrote %s\n", path)
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func hostDesc() string {
	out, err := exec.Command("uname", "-sr").Output()
	if err != nil {
		return "this machine"
	}
	return fmt.Sprintf("%s, %d CPUs", strings.TrimSpace(string(out)), numCPU())
}
