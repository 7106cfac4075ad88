package main

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/examples/tools/tooltest"
	"github.com/gobcc/gobcc/internal/testutil"
)

// workload spins on the CPU in spin_here, called from main, once released,
// until the test kills it.
const workload = `
#include <unistd.h>
__attribute__((noinline)) void spin_here(volatile unsigned long *x) {
    for (;;) (*x)++;
}
int main(void) {
    char buf[8];
    volatile unsigned long x = 0;
    if (read(0, buf, sizeof buf) <= 0) return 1;
    spin_here(&x);
    return 0;
}
`

// folded parses folded output ("a;b;c N") into stacks and counts, busiest
// first, adding up the rows of a stack (BCC can print one stack in several
// rows).
func folded(out string) (stacks []string, counts []int64) {
	type row struct {
		stack string
		n     int64
	}
	var rows []row
	sums := map[string]int64{}
	for _, l := range strings.Split(out, "\n") {
		i := strings.LastIndexByte(l, ' ')
		if i < 0 {
			continue
		}
		n, err := strconv.ParseInt(l[i+1:], 10, 64)
		if err != nil {
			continue
		}
		sums[l[:i]] += n
	}
	for stack, n := range sums {
		rows = append(rows, row{stack, n})
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].n > rows[j].n })
	for _, r := range rows {
		stacks, counts = append(stacks, r.stack), append(counts, r.n)
	}
	return stacks, counts
}

func TestProfile(t *testing.T) {
	testutil.RequireRoot(t)
	tool := tooltest.BuildTool(t)
	wl := tooltest.StartWorkload(t, tooltest.BuildC(t, "spinner", workload, "-O0"))
	pid := strconv.Itoa(wl.PID())
	wl.Open()

	// 99 Hz for 2 seconds: at most 198 samples of the spinning process.
	user := tooltest.Start(t, tool, "-f", "-U", "-p", pid, "-F", "99", "2")
	both := tooltest.Start(t, tool, "-p", pid, "-F", "99", "2")
	py, hasPy := tooltest.Python("profile")
	var pyProc *tooltest.Proc
	if hasPy {
		pyProc = tooltest.Start(t, py, "-f", "-U", "-p", pid, "-F", "99", "2")
	}
	out, outBoth := user.Wait(), both.Wait()
	t.Logf("gobcc -f -U:\n%s\ngobcc:\n%s", out, outBoth)

	stacks, counts := folded(out)
	if len(stacks) == 0 {
		t.Fatalf("no stacks:\n%s", out)
	}
	if !regexp.MustCompile(`^spinner;.*main;spin_here$`).MatchString(stacks[0]) {
		t.Errorf("busiest stack %q, want spinner;...;main;spin_here", stacks[0])
	}
	var total int64
	for _, n := range counts {
		total += n
	}
	if total > 2*99*11/10 {
		t.Errorf("%d samples in 2 s at 99 Hz", total)
	}
	if !strings.HasPrefix(outBoth, "Sampling at 99 Hertz of PID ["+pid+"] by user + kernel stack for 2 secs.\n") {
		t.Errorf("header: %q", strings.SplitN(outBoth, "\n", 2)[0])
	}
	if !regexp.MustCompile(`(?m)^    spin_here\n    main\n(?:    .*\n)*    -                spinner \(` + pid + `\)\n        \d+$`).MatchString(outBoth) {
		t.Errorf("no spin_here stack of spinner (%s):\n%s", pid, outBoth)
	}

	if pyProc != nil {
		pyOut := pyProc.Wait()
		t.Logf("BCC:\n%s", pyOut)
		pyStacks, pyCounts := folded(pyOut)
		if len(pyStacks) == 0 || pyStacks[0] != stacks[0] {
			t.Errorf("busiest stacks differ: gobcc %q, BCC %q", stacks[0], pyStacks)
		} else if pyCounts[0] > 3*counts[0] || counts[0] > 3*pyCounts[0] {
			// Two windows of 2 s each on a shared machine: the spinner's
			// share of the CPU varies, so only a factor of 3 is asked.
			t.Errorf("busiest stack: gobcc %d samples, BCC %d", counts[0], pyCounts[0])
		}
	}
}
