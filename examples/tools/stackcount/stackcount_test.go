package main

import (
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/examples/tools/tooltest"
	"github.com/gobcc/gobcc/internal/testutil"
)

// workload makes 200 getppid system calls from gobcc_caller_fn once
// released, says "done", and waits for the end of its input: the tools
// resolve its user stacks while it lives.
const workload = `
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
__attribute__((noinline)) void gobcc_caller_fn(void) {
    for (int i = 0; i < 200; i++) syscall(SYS_getppid);
}
int main(void) {
    char buf[8];
    if (read(0, buf, sizeof buf) <= 0) return 1;
    gobcc_caller_fn();
    printf("done\n");
    fflush(stdout);
    while (read(0, buf, sizeof buf) > 0) {}
    return 0;
}
`

// stacks parses stackcount's default output into "frame;frame;... count"
// strings, sorted, and the total count.
func stacks(out string) ([]string, int64) {
	var r []string
	var total int64
	for _, block := range strings.Split(out, "\n\n") {
		var frames []string
		for _, l := range strings.Split(block, "\n") {
			switch {
			case strings.HasPrefix(l, "    "):
				if n, err := strconv.ParseInt(strings.TrimSpace(l), 10, 64); err == nil {
					r = append(r, strings.Join(frames, ";")+" "+strconv.FormatInt(n, 10))
					total += n
				}
			case strings.HasPrefix(l, "  "):
				frames = append(frames, strings.TrimSpace(l))
			}
		}
	}
	sort.Strings(r)
	return r, total
}

func TestStackcount(t *testing.T) {
	testutil.RequireRoot(t)
	tool := tooltest.BuildTool(t)
	wl := tooltest.StartWorkload(t, tooltest.BuildC(t, "caller", workload, "-O0"))
	pid := strconv.Itoa(wl.PID())

	args := []string{"-p", pid, "t:syscalls:sys_enter_getppid"}
	gobcc := tooltest.Start(t, tool, args...)
	folded := tooltest.Start(t, tool, "-P", "-f", "-U", "t:syscalls:sys_enter_getppid")
	py, hasPy := tooltest.Python("stackcount")
	var pyProc *tooltest.Proc
	if hasPy {
		pyProc = tooltest.Start(t, py, args...)
		pyProc.WaitFor(`Tracing 1 functions`)
	}
	gobcc.WaitFor(`Tracing 1 functions for "t:syscalls:sys_enter_getppid"... Hit Ctrl-C to end.`)
	folded.WaitForStderr("Tracing 1 functions")
	wl.Step(t)
	gobcc.Interrupt()
	folded.Interrupt()
	out, outFolded := gobcc.Wait(), folded.Wait()
	t.Logf("gobcc:\n%s\ngobcc -P -f -U:\n%s", out, outFolded)

	got, total := stacks(out)
	if total != 200 {
		t.Errorf("stacks add up to %d, want 200:\n%s", total, out)
	}
	joined := strings.Join(got, "\n")
	for _, frame := range []string{"do_syscall_64", "main"} {
		if !strings.Contains(joined, frame) {
			t.Errorf("no frame %s in the stacks:\n%s", frame, out)
		}
	}
	var foldedTotal int64
	for _, l := range strings.Split(outFolded, "\n") {
		if strings.HasPrefix(l, "caller;") && strings.Contains(l, ";main;") {
			n, _ := strconv.ParseInt(l[strings.LastIndexByte(l, ' ')+1:], 10, 64)
			foldedTotal += n
		}
	}
	if foldedTotal != 200 {
		t.Errorf("-P -f -U: caller's stacks through main add up to %d, want 200", foldedTotal)
	}

	if pyProc != nil {
		pyProc.Interrupt()
		pyOut := pyProc.Wait()
		t.Logf("BCC:\n%s", pyOut)
		// The same events of the same process: the same stacks, counts
		// and all.
		if want, _ := stacks(pyOut); strings.Join(want, "\n") != joined {
			t.Errorf("gobcc and BCC differ:\n%s\n--\n%s", joined, strings.Join(want, "\n"))
		}
	}
}
