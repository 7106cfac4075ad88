package main

import (
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/gobcc/gobcc/examples/tools/tooltest"
	"github.com/gobcc/gobcc/internal/testutil"
)

// workload stands in for a Python interpreter: its probes are CPython's
// (python:function__entry and function__return, with the file name, the
// function name and the line), and its name contains "python", which is
// how ucalls detects the language. Once released it "calls" fn_a 100
// times and fn_b 40 times, says "done", and waits for the end of its
// input. The strings live in 128-byte arrays: ucalls reads 80 bytes from
// each pointer (bpf_probe_read_user, as BCC), which fails as a whole when
// they run past the end of a mapping, as a short literal at the end of
// .rodata can.
const workload = `
#include <stdio.h>
#include <unistd.h>
#include <sys/sdt.h>
static char file[128] = "script.py", fn_a[128] = "fn_a", fn_b[128] = "fn_b";
static void call(const char *fn, int line) {
    DTRACE_PROBE3(python, function__entry, file, fn, line);
    DTRACE_PROBE3(python, function__return, file, fn, line);
}
int main(void) {
    char buf[8];
    if (read(0, buf, sizeof buf) <= 0) return 1;
    for (int i = 0; i < 100; i++) call(fn_a, 10);
    for (int i = 0; i < 40; i++) call(fn_b, 20);
    printf("done\n");
    fflush(stdout);
    while (read(0, buf, sizeof buf) > 0) {}
    return 0;
}
`

func TestUcalls(t *testing.T) {
	testutil.RequireRoot(t)
	if _, err := os.Stat("/usr/include/x86_64-linux-gnu/sys/sdt.h"); err != nil {
		if _, err := os.Stat("/usr/include/sys/sdt.h"); err != nil {
			t.Skip("no <sys/sdt.h> (systemtap-sdt-dev)")
		}
	}
	tool := tooltest.BuildTool(t)
	bin := tooltest.BuildC(t, "fakepython", workload)
	wl := tooltest.StartWorkload(t, bin)
	pid := strconv.Itoa(wl.PID())

	counts := tooltest.Start(t, tool, pid)
	lat := tooltest.Start(t, tool, "-L", "-S", "-l", "python", pid)
	counts.WaitFor("Tracing calls in process " + pid + " (language: python)... Ctrl-C to quit.")
	lat.WaitFor("Tracing calls in process " + pid + " (language: python)")
	wl.Step(t)
	counts.Interrupt()
	lat.Interrupt()
	out, outLat := counts.Wait(), lat.Wait()
	t.Logf("gobcc:\n%s\ngobcc -L -S:\n%s", out, outLat)

	if !regexp.MustCompile(`(?m)^METHOD +# CALLS\nscript\.py\.fn_b +40\nscript\.py\.fn_a +100\n`).MatchString(out) {
		t.Errorf("want script.py.fn_b 40 and script.py.fn_a 100, by count:\n%s", out)
	}
	for _, re := range []string{
		`(?m)^METHOD +# CALLS TIME \(us\)$`,
		`(?m)^script\.py\.fn_a +100 +\d+\.\d\d$`,
		`(?m)^script\.py\.fn_b +40 +\d+\.\d\d$`,
		`(?m)^write +1 +\d+\.\d\d$`, // "done"
		`(?m)^Attached kernel tracepoints for syscall tracing\.$`,
		`(?m)^Detaching kernel probes, please wait\.\.\.$`,
	} {
		if !regexp.MustCompile(re).MatchString(outLat) {
			t.Errorf("-L -S: no line matching %s:\n%s", re, outLat)
		}
	}

	py, hasPy := tooltest.Python("ucalls")
	if !hasPy {
		if _, err := os.Stat("/usr/sbin/ucalls"); err != nil {
			return
		}
		py = "/usr/sbin/ucalls"
	}
	// BCC 0.26 gives uprobes a garbage ref_ctr_offset (bcc#5236), and the
	// kernel refuses a second uprobe at one address that disagrees: BCC's
	// run comes after gobcc's, on a second run of the workload.
	wl2 := tooltest.StartWorkload(t, bin)
	pyProc := tooltest.Start(t, py, strconv.Itoa(wl2.PID()))
	pyProc.WaitFor("Tracing calls in process")
	wl2.Step(t)
	pyProc.Interrupt()
	pyOut := pyProc.Wait()
	t.Logf("BCC:\n%s", pyOut)
	row := regexp.MustCompile(`^script\.py\.\S+ +\d+$`)
	got, want := tooltest.Counts(out, row), tooltest.Counts(pyOut, row)
	if len(want) != 2 || len(got) != len(want) {
		t.Errorf("rows differ:\ngobcc:\n%sBCC:\n%s", tooltest.Describe(got), tooltest.Describe(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: gobcc %d, BCC %d", k, got[k], v)
		}
	}
}
