package bcc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gobcc/gobcc/internal/testutil"
)

// slowProgram generates n functions of arithmetic chains: clang's BPF back
// end needs time superlinear in n (2 s for 100, 25 s for 400 on a 2-core
// VM), so n = 1500 compiles for minutes.
func slowProgram(n int) string {
	var b strings.Builder
	b.WriteString("BPF_ARRAY(slow, u64, 64);\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "int slow_fn_%d(void *ctx) {\n  int k = %d & 63; u64 *v = slow.lookup(&k); if (!v) return 0;\n  u64 x = *v;\n", i, i)
		for j := 0; j < 40; j++ {
			fmt.Fprintf(&b, "  x = x * %d + (x >> %d) ^ %d;\n", j+3, j%13+1, i*j)
		}
		b.WriteString("  *v = x; return 0;\n}\n")
	}
	return b.String()
}

// childProcesses lists the pids whose parent is this process.
func childProcesses(tb testing.TB) []int {
	tb.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		tb.Fatal(err)
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// The fields after the parenthesised comm: state ppid ...
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(self) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// cpuTicks is the user plus system time a process has used, in clock ticks.
func cpuTicks(pid int) int {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.Atoi(fields[11])
	stime, _ := strconv.Atoi(fields[12])
	return utime + stime
}

func TestNewContextCancelKillsCompileHelper(t *testing.T) {
	testutil.RequireRoot(t)
	if pids := childProcesses(t); len(pids) > 0 {
		t.Fatalf("child processes before the test: %v", pids)
	}
	fdsBefore := openFDs(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type outcome struct {
		b   *BPF
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		b, err := NewContext(ctx, Options{Text: slowProgram(1500), NoAutoAttach: true})
		done <- outcome{b, err}
	}()

	// Cancel once the helper is compiling: it exists and has used CPU.
	const hangGuard = 2 * time.Minute // the compile alone would take longer
	giveUp := time.Now().Add(hangGuard)
	helper := 0
	for helper == 0 || cpuTicks(helper) < 10 {
		if time.Now().After(giveUp) {
			t.Fatalf("no compile helper seen working (children %v)", childProcesses(t))
		}
		select {
		case o := <-done:
			t.Fatalf("NewContext returned before it was cancelled: %v", o.err)
		case <-time.After(10 * time.Millisecond):
		}
		if pids := childProcesses(t); len(pids) == 1 {
			helper = pids[0]
		}
	}
	cancel()

	var o outcome
	select {
	case o = <-done:
	case <-time.After(hangGuard):
		t.Fatal("NewContext did not return after cancel: the compile (minutes long) was not interrupted")
	}
	if o.b != nil {
		o.b.Close()
		t.Fatal("NewContext returned a BPF after cancel")
	}
	if !errors.Is(o.err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", o.err)
	}
	// Reaped, not a zombie: the pid is gone from /proc.
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", helper)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("helper %d still exists after NewContext returned (stat: %v)", helper, err)
	}
	if pids := childProcesses(t); len(pids) > 0 {
		t.Errorf("child processes left: %v", pids)
	}
	if n := openFDs(t); n != fdsBefore {
		t.Errorf("%d descriptors open before, %d after", fdsBefore, n)
	}
}

func TestNewContextDeadlineBeforeCompile(t *testing.T) {
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel()
	b, err := NewContext(ctx, Options{Text: "int f(void *ctx) { return 0; }"})
	if b != nil {
		b.Close()
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want context.DeadlineExceeded", err)
	}
	if pids := childProcesses(t); len(pids) > 0 {
		t.Errorf("child processes left: %v", pids)
	}
}
