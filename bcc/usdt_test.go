package bcc

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/bcc/usdt"
	"github.com/gobcc/gobcc/internal/testutil"
)

// usdtTargetSrc is the target of the USDT tests (see the file).
var usdtTargetSrc = func() string {
	b, err := os.ReadFile("../testdata/usdt_target.c")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

const usdtProg = `
BPF_ARRAY(stats, u64, 4);
static void add(int k, u64 n) {
	u64 *v = stats.lookup(&k);
	if (v) __sync_fetch_and_add(v, n);
}
int on_tick(struct pt_regs *ctx) {
	long a = 0, b = 0;
	bpf_usdt_readarg(1, ctx, &a);
	bpf_usdt_readarg(2, ctx, &b);
	add(0, 1); add(1, a); add(2, b);
	return 0;
}
int on_plain(struct pt_regs *ctx) {
	long a = 0;
	bpf_usdt_readarg(1, ctx, &a);
	add(3, a);
	return 0;
}
`

func TestUSDT(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	semBin := gcc(t, dir, "usdt_target", usdtTargetSrc)
	plainBin := gcc(t, dir, "usdt_target_nosem", usdtTargetSrc, "-DNO_SEMAPHORES")
	const n = 100
	const sum, sum3 = n * (n + 1) / 2, 3 * n * (n + 1) / 2
	// libbcc enables probes with semaphores only in a process context, as
	// BCC does; a binary context gets the binary without semaphores.
	for _, mode := range []string{"pid", "path"} {
		t.Run(mode, func(t *testing.T) {
			bin, idle := semBin, "sem=0 fired=0"
			if mode == "path" {
				bin, idle = plainBin, fmt.Sprintf("sem=1 fired=%d", n)
			}
			ch := testutil.StartChild(t, bin, fmt.Sprint(n))
			if line := ch.Run(t); line != idle {
				t.Fatalf("before tracing: %q", line)
			}
			perfBefore := perfFDs(t)
			u := usdt.ForPath(bin)
			if mode == "pid" {
				u = usdt.ForPID(ch.PID())
			}
			if err := u.EnableProbe("gobcc:tick", "on_tick"); err != nil {
				t.Fatal(err)
			}
			if err := u.EnableProbe("plain", "on_plain"); err != nil {
				t.Fatal(err)
			}
			b, err := New(Options{Text: usdtProg, USDTContexts: []*usdt.Context{u}})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if got := b.NumOpenUprobes(); got != 2 {
				t.Errorf("NumOpenUprobes = %d, want 2", got)
			}
			line := ch.Run(t)
			// The kernel holds the semaphore at 1 per uprobe on it; libbcc's
			// own increment was undone when the helper ended.
			if want := fmt.Sprintf("sem=1 fired=%d", n); line != want {
				t.Errorf("while tracing: %q, want %q", line, want)
			}
			if got := tableUint(t, b, "stats", 0); got != n {
				t.Errorf("ticks = %d, want %d", got, n)
			}
			if got := tableUint(t, b, "stats", 1); got != sum {
				t.Errorf("sum of arg 1 = %d, want %d", got, sum)
			}
			if got := tableUint(t, b, "stats", 2); got != sum3 {
				t.Errorf("sum of arg 2 = %d, want %d", got, sum3)
			}
			if got := tableUint(t, b, "stats", 3); got != sum {
				t.Errorf("sum of plain arg = %d, want %d", got, sum)
			}
			ids := progIDs(t, b)
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			if line := ch.Run(t); line != idle {
				t.Errorf("after Close: %q, want %q (semaphore back at 0)", line, idle)
			}
			if got := perfFDs(t); got != perfBefore {
				t.Errorf("perf fds: %d before, %d after Close", perfBefore, got)
			}
			requireProgsGone(t, ids)
		})
	}
}

func TestUSDTErrors(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	bin := gcc(t, dir, "usdt_target_nosem", usdtTargetSrc, "-DNO_SEMAPHORES")
	semBin := gcc(t, dir, "usdt_target", usdtTargetSrc)
	if err := usdt.ForPath(bin).EnableProbe("a:b:c", "f"); !errors.Is(err, ErrUSDT) {
		t.Errorf("a:b:c: %v", err)
	}
	u := usdt.ForPath(bin)
	u.EnableProbe("gobcc:nosuch", "on_tick")
	_, err := New(Options{Text: usdtProg, USDTContexts: []*usdt.Context{u}})
	if !errors.Is(err, ErrUSDT) || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("missing probe: %v", err)
	}
	// A probe with a semaphore in a binary context: libbcc refuses it and
	// the error says why.
	u = usdt.ForPath(semBin)
	u.EnableProbe("gobcc:tick", "on_tick")
	_, err = New(Options{Text: usdtProg, USDTContexts: []*usdt.Context{u}})
	if !errors.Is(err, ErrUSDT) || !strings.Contains(err.Error(), "semaphore") {
		t.Errorf("semaphore probe without a process: %v", err)
	}
	if _, err := New(Options{Text: usdtProg, USDTContexts: []*usdt.Context{usdt.New(0, "")}}); !errors.Is(err, ErrUSDT) {
		t.Errorf("empty context: %v", err)
	}
	// Line numbers in compile errors stay the user's despite the prepended
	// argument code.
	u = usdt.ForPath(bin)
	u.EnableProbe("gobcc:tick", "on_tick")
	_, err = New(Options{Text: "int on_tick(struct pt_regs *ctx) {\n  return nosuch;\n}\n", USDTContexts: []*usdt.Context{u}})
	var ce *CompileError
	if !errors.As(err, &ce) || len(ce.Errors()) == 0 || ce.Errors()[0].Line != 2 {
		t.Errorf("compile error with USDT: %v", err)
	}
}
