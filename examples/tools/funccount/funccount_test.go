package main

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/gobcc/gobcc/examples/tools/tooltest"
	"github.com/gobcc/gobcc/internal/testutil"
)

// workload, once released, calls gobcc_target_fn 500 times and
// gobcc_other_fn 300 times, and makes 1000 getppid system calls.
const workload = `
#include <sys/syscall.h>
#include <unistd.h>
volatile int sink;
__attribute__((noinline)) void gobcc_target_fn(int i) { sink += i; }
__attribute__((noinline)) void gobcc_other_fn(int i) { sink -= i; }
__attribute__((noinline)) void gobcc_never_fn(int i) { sink *= i; }
int main(int argc, char **argv) {
    char buf[8];
    if (read(0, buf, sizeof buf) <= 0) return 1;
    for (int i = 0; i < 500; i++) gobcc_target_fn(i);
    for (int i = 0; i < 300; i++) gobcc_other_fn(i);
    for (int i = 0; i < 1000; i++) syscall(SYS_getppid);
    if (argc > 5) gobcc_never_fn(1);
    return 0;
}
`

func TestFunccount(t *testing.T) {
	testutil.RequireRoot(t)
	tool := tooltest.BuildTool(t)
	bin := tooltest.BuildC(t, "caller", workload)
	wl := tooltest.StartWorkload(t, bin)
	pid := strconv.Itoa(wl.PID())

	uprobes := func(pid string) []string { return []string{"-p", pid, bin + ":gobcc_*_fn"} }
	tracepoints := []string{"-p", pid, "t:syscalls:sys_enter_getpp*"}
	up := tooltest.Start(t, tool, uprobes(pid)...)
	tp := tooltest.Start(t, tool, tracepoints...)
	py, hasPy := tooltest.Python("funccount")
	up.WaitFor(`Tracing 3 functions for "` + bin + `:gobcc_*_fn"... Hit Ctrl-C to end.`)
	tp.WaitFor(`Tracing 1 functions for "t:syscalls:sys_enter_getpp*"`)
	if err := wl.Release(); err != nil {
		t.Fatalf("workload: %v", err)
	}
	up.Interrupt()
	tp.Interrupt()
	outUp, outTp := up.Wait(), tp.Wait()
	t.Logf("gobcc uprobes:\n%s\ngobcc tracepoints:\n%s", outUp, outTp)

	// Sorted by count, ascending; functions never called are left out.
	if !regexp.MustCompile(`(?m)^FUNC +COUNT\ngobcc_other_fn +300\ngobcc_target_fn +500\nDetaching\.\.\.$`).MatchString(outUp) {
		t.Errorf("uprobe counts: want gobcc_other_fn 300 and gobcc_target_fn 500:\n%s", outUp)
	}
	if !regexp.MustCompile(`(?m)^FUNC +COUNT\nsyscalls:sys_enter_getppid +1000\nDetaching\.\.\.$`).MatchString(outTp) {
		t.Errorf("tracepoint counts: want syscalls:sys_enter_getppid 1000:\n%s", outTp)
	}
	if !hasPy {
		return
	}

	// BCC 0.26 passes garbage as the uprobe's ref_ctr_offset (bcc#5236),
	// and the kernel refuses a second uprobe on one address with another
	// ref_ctr_offset: BCC's run on the uprobes comes after gobcc's, on a
	// second run of the workload.
	wl2 := tooltest.StartWorkload(t, bin)
	pyUp := tooltest.Start(t, py, uprobes(strconv.Itoa(wl2.PID()))...)
	pyUp.WaitFor("Tracing 3 functions")
	if err := wl2.Release(); err != nil {
		t.Fatalf("workload: %v", err)
	}
	pyUp.Interrupt()
	pyOutUp := pyUp.Wait()

	row := regexp.MustCompile(`^\S+ +\d+$`)
	// BCC 0.26's funccount fails on tracepoints as it prints them ('str'
	// object has no attribute 'decode'): only its uprobe counts compare.
	for _, c := range [][2]string{{outUp, pyOutUp}} {
		t.Logf("BCC:\n%s", c[1])
		got, want := tooltest.Counts(c[0], row), tooltest.Counts(c[1], row)
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
