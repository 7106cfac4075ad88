package bcc

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/attach"
	"github.com/gobcc/gobcc/internal/testutil"
	"github.com/gobcc/gobcc/internal/tracefs"
)

// gobccProbeEvents lists this process's events in tracefs uprobe_events.
func gobccProbeEvents(t *testing.T) []string {
	t.Helper()
	dir, err := tracefs.Dir()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(dir + "/uprobe_events")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, attach.ProbeEventsGroup+"/p"+strconv.Itoa(os.Getpid())+"_") {
			out = append(out, line)
		}
	}
	return out
}

// The tracefs uprobe_events opener, forced where the uprobe PMU exists:
// probes fire as through the PMU, with a process filter too, and Link.Close
// and BPF.Close remove the tracefs events.
func TestUprobeThroughUprobeEvents(t *testing.T) {
	testutil.RequireRoot(t)
	if !tracefs.ProbeEventsSupported("uprobe_events") {
		testutil.RequireKernel(t, "no uprobe_events in tracefs")
		return
	}
	attach.ForceProbeEvents.Store(true)
	t.Cleanup(func() { attach.ForceProbeEvents.Store(false) })
	bins := buildUprobeTargets(t)
	b, err := New(Options{Text: uprobeCountProg})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ch := testutil.StartChild(t, bins.pie, "4")
	entry, err := b.AttachUprobe(bins.pie, "gobcc_target", "on_entry", UprobeOptions{PID: ch.PID()})
	if err != nil {
		t.Fatal(err)
	}
	ret, err := b.AttachUretprobe(bins.pie, "gobcc_target", "on_return")
	if err != nil {
		t.Fatal(err)
	}
	if got := gobccProbeEvents(t); len(got) != 2 {
		t.Fatalf("uprobe_events lists %d gobcc events, want 2: %q", len(got), got)
	}
	if b.NumOpenUprobes() != 2 || entry.FD() < 0 {
		t.Errorf("NumOpenUprobes = %d, FD = %d", b.NumOpenUprobes(), entry.FD())
	}
	ch.Run(t)
	// gobcc_target(i) for i in 0..3: arguments sum to 6, results to 10.
	if e, r, args, rets := tableUint(t, b, "hits", uint32(0)), tableUint(t, b, "hits", uint32(1)),
		tableUint(t, b, "hits", uint32(2)), tableUint(t, b, "hits", uint32(3)); e != 4 || r != 4 || args != 6 || rets != 10 {
		t.Errorf("entries %d, returns %d, args %d, results %d; want 4, 4, 6, 10", e, r, args, rets)
	}
	// The entry probe follows only its process.
	other := testutil.StartChild(t, bins.pie, "4")
	other.Run(t)
	if e, r := tableUint(t, b, "hits", uint32(0)), tableUint(t, b, "hits", uint32(1)); e != 4 || r != 8 {
		t.Errorf("after another process: entries %d, returns %d; want 4, 8", e, r)
	}
	checkLinkCloses(t, entry, nil)
	if got := gobccProbeEvents(t); len(got) != 1 || !strings.HasPrefix(got[0], "r:") {
		t.Errorf("after Link.Close uprobe_events lists %q, want the uretprobe only", got)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := gobccProbeEvents(t); len(got) != 0 {
		t.Errorf("after Close uprobe_events still lists %q", got)
	}
	if ret.Attached() {
		t.Error("uretprobe Link attached after Close")
	}
}
