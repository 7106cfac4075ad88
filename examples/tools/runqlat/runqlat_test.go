package main

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/gobcc/gobcc/examples/tools/tooltest"
	"github.com/gobcc/gobcc/internal/testutil"
)

// workload sleeps 300 times for 1 ms once released: each sleep ends with a
// wake-up and a run queue wait, so a tool tracing the process counts about
// 300 latencies (a few more when the process is preempted).
const workload = `
#include <time.h>
#include <unistd.h>
int main(void) {
    char buf[8];
    if (read(0, buf, sizeof buf) <= 0) return 1;
    struct timespec ts = {0, 1000000};
    for (int i = 0; i < 300; i++) nanosleep(&ts, NULL);
    return 0;
}
`

const sleeps = 300

func TestRunqlat(t *testing.T) {
	testutil.RequireRoot(t)
	tool := tooltest.BuildTool(t)
	wl := tooltest.StartWorkload(t, tooltest.BuildC(t, "sleeper", workload))
	pid := strconv.Itoa(wl.PID())

	plain := tooltest.Start(t, tool, "-p", pid)
	perPID := tooltest.Start(t, tool, "-p", pid, "-P")
	// BCC's runqlat reads the PID from the task_struct, whose layout in
	// this machine's headers is not the running kernel's: its -p matches
	// nothing here. Both tools are compared machine-wide instead.
	everything := tooltest.Start(t, tool)
	py, hasPy := tooltest.Python("runqlat")
	var pyProc *tooltest.Proc
	if hasPy {
		pyProc = tooltest.Start(t, py)
		pyProc.WaitFor("Tracing run queue latency")
	}
	everything.WaitFor("Tracing run queue latency")
	plain.WaitFor("Tracing run queue latency... Hit Ctrl-C to end.")
	perPID.WaitFor("Tracing run queue latency")
	if err := wl.Release(); err != nil {
		t.Fatalf("workload: %v", err)
	}
	plain.Interrupt()
	perPID.Interrupt()
	everything.Interrupt()
	if pyProc != nil {
		pyProc.Interrupt()
	}
	out, outPID, outAll := plain.Wait(), perPID.Wait(), everything.Wait()
	t.Logf("gobcc -p:\n%s\ngobcc -p -P:\n%s", out, outPID)

	// Every sleep is one wake-up; preemptions add a few. A few go
	// uncounted: a timer that fires before the sleeper has switched out
	// wakes it where it runs (a wake-up with no switch-in to end it; 11 of
	// 300 on a loaded machine). A tenth either way is allowed.
	inRange := func(n int64) bool { return n >= sleeps-sleeps/10 && n <= sleeps+sleeps/10 }
	if n := tooltest.HistTotal(out); !inRange(n) {
		t.Errorf("gobcc counted %d latencies, want %d to %d", n, sleeps-sleeps/10, sleeps+sleeps/10)
	}
	if !regexp.MustCompile(`(?m)^     usecs               : count     distribution$`).MatchString(out) {
		t.Errorf("no usecs histogram header:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^pid = ` + pid + `\n     usecs               : count     distribution$`).MatchString(outPID) {
		t.Errorf("-P: no section for pid %s:\n%s", pid, outPID)
	}
	if n := tooltest.HistTotal(outPID); !inRange(n) {
		t.Errorf("-P counted %d latencies, want %d to %d", n, sleeps-sleeps/10, sleeps+sleeps/10)
	}

	if pyProc != nil {
		pyOut := pyProc.Wait()
		t.Logf("gobcc:\n%s\nBCC:\n%s", outAll, pyOut)
		// Machine-wide latencies until the same moment, from different starts:
		// how many depends on what else the machine runs, so the totals
		// are only logged. Each must include the workload's sleeps.
		got, want := tooltest.HistTotal(outAll), tooltest.HistTotal(pyOut)
		t.Logf("machine-wide: gobcc counted %d latencies, BCC %d", got, want)
		if got < sleeps || want < sleeps {
			t.Errorf("machine-wide: gobcc counted %d latencies, BCC %d; want at least %d each", got, want, sleeps)
		}
	}
}
