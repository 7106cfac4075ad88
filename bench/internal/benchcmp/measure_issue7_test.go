package benchcmp

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// The rows issue 7 adds beyond those of issue 2.
func TestIssue7RowsRegistered(t *testing.T) {
	for name, group := range map[string]string{
		"events/perf": "events", "events/ring": "events",
		"sym": "symbols", "sym/cache-memory": "symbols",
		"trace/fields": "trace",
	} {
		m, err := Lookup(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if m.Group != group || m.QuickArgs == nil && name != "sym/cache-memory" {
			t.Errorf("%s: group %q, quick args %v", name, m.Group, m.QuickArgs)
		}
	}
}

// runTwice runs a measurement once to warm up what stays for the process's
// life (the Go runtime's poller, libbcc), then again, and checks that the
// second run left no file descriptor open.
func runTwice(t *testing.T, name string, f func(Params) (float64, error), args map[string]string) float64 {
	t.Helper()
	p := NewParams(true, args)
	if _, err := f(p); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	before := openFDs(t)
	v, err := f(p)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("%s: %d file descriptors open after, %d before", name, after, before)
	}
	if !(v > 0) {
		t.Errorf("%s: sample %v, want > 0", name, v)
	}
	return v
}

func TestTraceRowCleansUp(t *testing.T) {
	requireRoot(t)
	runTwice(t, "trace/fields", measureTraceFields, map[string]string{"n": "500"})
	dir, err := tracefsDir()
	if err != nil {
		t.Fatal(err)
	}
	instance := filepath.Join(dir, "instances", "gobcc_bench_"+strconv.Itoa(os.Getpid()))
	if _, err := os.Stat(instance); !os.IsNotExist(err) {
		t.Errorf("tracefs instance %s left behind: %v", instance, err)
	}
}

// TestEventsRowInProcess runs the climb in the test binary, which serves as
// its own producer through eventbench's init.
func TestEventsRowInProcess(t *testing.T) {
	requireRoot(t)
	for _, tr := range []struct{ transport, size string }{{"perf", "8"}, {"ring", "65536"}} {
		v := runTwice(t, "events/"+tr.transport, measureEvents, map[string]string{
			"transport": tr.transport, "size": tr.size, "start": "2000", "trials": "2", "dur_ms": "200"})
		// The producer's schedule is met at 2000/s; the best lossless
		// trial cannot be below 90% of it.
		if v < 1800 {
			t.Errorf("events/%s: best zero-loss rate %v, want at least 1800", tr.transport, v)
		}
	}
}

func TestSymRowKillsItsTarget(t *testing.T) {
	requireRoot(t)
	runTwice(t, "sym", measureSym, map[string]string{"what": "rate", "n": "1000"})
	cmd, _, _, err := startSymTarget()
	if err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	cmd.Process.Kill()
	cmd.Wait()
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("sleep %d still exists after Kill and Wait", pid)
	}
	addrs := SymAddresses(1000, 4010, 300)
	if len(addrs) != 300 || addrs[0] != 1010 || addrs[299] != 4000 {
		t.Errorf("SymAddresses: %d, first %d, last %d", len(addrs), addrs[0], addrs[len(addrs)-1])
	}
}
