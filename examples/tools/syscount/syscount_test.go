package main

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/gobcc/gobcc/examples/tools/tooltest"
	"github.com/gobcc/gobcc/internal/testutil"
)

// workload makes a known number of system calls once released: 1000
// getppid and 500 openat of a missing file (ENOENT), then exits.
const workload = `
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    char buf[8];
    if (read(0, buf, sizeof buf) <= 0) return 1;
    for (int i = 0; i < 1000; i++) syscall(SYS_getppid);
    for (int i = 0; i < 500; i++) syscall(SYS_openat, AT_FDCWD, "/nonexistent/gobcc", O_RDONLY);
    return 0;
}
`

func TestSyscount(t *testing.T) {
	testutil.RequireRoot(t)
	tool := tooltest.BuildTool(t)
	wl := tooltest.StartWorkload(t, tooltest.BuildC(t, "syscalls", workload))
	pid := itoa(wl.PID())

	counts := tooltest.Start(t, tool, "-p", pid, "-T", "20")
	failed := tooltest.Start(t, tool, "-p", pid, "-x", "-L", "-e", "ENOENT")
	py, hasPy := tooltest.Python("syscount")
	var pyProc *tooltest.Proc
	if hasPy {
		pyProc = tooltest.Start(t, py, "-p", pid, "-T", "20")
		pyProc.WaitFor("Tracing syscalls")
	}
	counts.WaitFor("Tracing syscalls, printing top 20")
	failed.WaitFor("Tracing failed syscalls")
	if err := wl.Release(); err != nil {
		t.Fatalf("workload: %v", err)
	}
	counts.Interrupt()
	failed.Interrupt()
	out := counts.Wait()
	outFailed := failed.Wait()
	t.Logf("gobcc:\n%s\n%s", out, outFailed)

	row := regexp.MustCompile(`^[a-z_0-9]+ +\d+$`)
	got := tooltest.Counts(out, row)
	if got["getppid"] != 1000 || got["openat"] != 500 {
		t.Errorf("getppid %d, openat %d; want 1000 and 500:\n%s", got["getppid"], got["openat"], out)
	}
	if !regexp.MustCompile(`(?m)^SYSCALL +COUNT$`).MatchString(out) || !regexp.MustCompile(`(?m)^Detaching\.\.\.$`).MatchString(out) {
		t.Errorf("header or trailer missing:\n%s", out)
	}
	// -x -L -e ENOENT: only the failed openat calls, with their time.
	if !regexp.MustCompile(`(?m)^SYSCALL +COUNT +TIME \(us\)\nopenat +500 +\d+\.\d{3}\n\n`).MatchString(outFailed) {
		t.Errorf("-x -L -e ENOENT: want one row, openat 500, with a time:\n%s", outFailed)
	}

	if pyProc != nil {
		pyProc.Interrupt()
		pyOut := pyProc.Wait()
		t.Logf("BCC:\n%s", pyOut)
		want := tooltest.Counts(pyOut, row)
		// The same process traced over the same span: the same rows and
		// the same counts.
		if len(want) == 0 || len(got) != len(want) {
			t.Errorf("rows differ:\ngobcc:\n%sBCC:\n%s", tooltest.Describe(got), tooltest.Describe(want))
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: gobcc %d, BCC %d", k, got[k], v)
			}
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
