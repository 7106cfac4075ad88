package main

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/examples/tools/tooltest"
	"github.com/gobcc/gobcc/internal/testutil"
)

// workload, once released, forks three children that exec /bin/true with
// known arguments, and a fourth whose exec fails (ENOENT) before it exits
// with code 7.
const workload = `
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    char buf[8], arg[32];
    if (read(0, buf, sizeof buf) <= 0) return 1;
    for (int i = 1; i <= 4; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            snprintf(arg, sizeof arg, "gobcc-exec-%d", i);
            char *argv[] = {i == 4 ? "/nonexistent/gobcc-missing" : "/bin/true", arg, "two words", NULL};
            execv(argv[0], argv);
            _exit(7);
        }
        int status;
        waitpid(pid, &status, 0);
    }
    return 0;
}
`

func TestExecsnoop(t *testing.T) {
	testutil.RequireRoot(t)
	tool := tooltest.BuildTool(t)
	wl := tooltest.StartWorkload(t, tooltest.BuildC(t, "forker", workload))
	ppid := strconv.Itoa(wl.PID())

	all := tooltest.Start(t, tool, "-x", "-P", ppid)
	onlyOK := tooltest.Start(t, tool, "-P", ppid, "-l", "exec-[23]")
	all.WaitFor("PCOMM")
	onlyOK.WaitFor("PCOMM")
	if err := wl.Release(); err != nil {
		t.Fatalf("workload: %v", err)
	}
	all.WaitFor("gobcc-exec-4")
	onlyOK.WaitFor("gobcc-exec-3")
	all.Interrupt()
	onlyOK.Interrupt()
	out, outOK := all.Wait(), onlyOK.Wait()
	t.Logf("gobcc -x:\n%s\ngobcc -l:\n%s", out, outOK)

	row := regexp.MustCompile(`^(\S+) +(\d+) +` + ppid + ` +(-?\d+) (.*)$`)
	rows := func(out string) []string {
		var r []string
		for _, l := range strings.Split(out, "\n") {
			if m := row.FindStringSubmatch(l); m != nil {
				r = append(r, fmt.Sprintf("%s %s %s", m[1], m[3], m[4]))
			}
		}
		sort.Strings(r)
		return r
	}
	want := []string{
		"forker -2 /nonexistent/gobcc-missing gobcc-exec-4 two words",
		"true 0 /bin/true gobcc-exec-1 two words",
		"true 0 /bin/true gobcc-exec-2 two words",
		"true 0 /bin/true gobcc-exec-3 two words",
	}
	if got := rows(out); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("-x -P: rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := rows(outOK); strings.Join(got, "\n") != strings.Join(want[2:], "\n") {
		t.Errorf("-l exec-[23]: rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want[2:], "\n"))
	}
	if !strings.HasPrefix(out, fmt.Sprintf("%-16s %-7s %-7s %3s %s\n", "PCOMM", "PID", "PPID", "RET", "ARGS")) {
		t.Errorf("header: %q", strings.SplitN(out, "\n", 2)[0])
	}
	// BCC's execsnoop attaches kprobes, which this kernel lacks: there is no
	// original to compare with here.
}
