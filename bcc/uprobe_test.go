package bcc

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
	"github.com/gobcc/gobcc/symbols"
)

const uprobeLibSrc = `
__attribute__((noinline)) int gobcc_lib_fn(int x) { __asm__ volatile(""); return x * 2; }
`

// The target calls gobcc_target(i) and gobcc_lib_fn(i) for i in 0..n-1
// when told to go, then prints the sum of their results.
const uprobeTargetSrc = `
#include <stdio.h>
#include <stdlib.h>
int gobcc_lib_fn(int x);
__attribute__((noinline)) int gobcc_target(int x) { __asm__ volatile(""); return x + 1; }
int main(int argc, char **argv) {
	int n = atoi(argv[1]);
	char line[16];
	if (!fgets(line, sizeof line, stdin)) return 1;
	long s = 0;
	for (int i = 0; i < n; i++) s += gobcc_target(i) + gobcc_lib_fn(i);
	printf("done %ld\n", s);
	fflush(stdout);
	fgets(line, sizeof line, stdin);
	return 0;
}
`

// Counts entries and returns in hits[0] and hits[1]; sums the first
// argument in hits[2] and return values in hits[3].
const uprobeCountProg = `
#include <uapi/linux/ptrace.h>
BPF_ARRAY(hits, u64, 4);
static void add(int k, u64 n) {
	u64 *v = hits.lookup(&k);
	if (v) __sync_fetch_and_add(v, n);
}
int on_entry(struct pt_regs *ctx) { add(0, 1); add(2, PT_REGS_PARM1(ctx)); return 0; }
int on_return(struct pt_regs *ctx) { add(1, 1); add(3, PT_REGS_RC(ctx)); return 0; }
`

type uprobeBinaries struct{ dir, pie, nopie, lib string }

func buildUprobeTargets(t *testing.T) uprobeBinaries {
	t.Helper()
	dir := t.TempDir()
	lib := gcc(t, dir, "libgobcctest.so", uprobeLibSrc, "-shared", "-fPIC")
	link := []string{"-L" + dir, "-lgobcctest", "-Wl,-rpath," + dir}
	pie := gcc(t, dir, "target_pie", uprobeTargetSrc, append([]string{"-fPIE", "-pie"}, link...)...)
	nopie := gcc(t, dir, "target_nopie", uprobeTargetSrc, append([]string{"-fno-PIE", "-no-pie"}, link...)...)
	return uprobeBinaries{dir: dir, pie: pie, nopie: nopie, lib: lib}
}

func TestUprobeFires(t *testing.T) {
	testutil.RequireRoot(t)
	bins := buildUprobeTargets(t)
	const n = 1000
	// Sum over i of (i+1) and of 2i.
	const sumArgs, sumTarget, sumLib = n * (n - 1) / 2, n * (n + 1) / 2, n * (n - 1)
	cases := []struct {
		name, binary, libName, sym string
		wantRet                    uint64
		pidFilter                  bool
	}{
		{"pie", bins.pie, "", "gobcc_target", sumTarget, true},
		{"nopie", bins.nopie, "", "gobcc_target", sumTarget, false},
		// The library by short name, found in the process's mappings.
		{"shared-lib-by-name", bins.pie, "gobcctest", "gobcc_lib_fn", sumLib, true},
		{"shared-lib-by-path", bins.nopie, bins.lib, "gobcc_lib_fn", sumLib, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			perfBefore := perfFDs(t)
			ch := testutil.StartChild(t, tc.binary, fmt.Sprint(n))
			b, err := New(Options{Text: uprobeCountProg})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			name := tc.libName
			if name == "" {
				name = tc.binary
			}
			var opts []UprobeOptions
			if tc.pidFilter {
				opts = append(opts, UprobeOptions{PID: ch.PID()})
			}
			if _, err := b.AttachUprobe(name, tc.sym, "on_entry", opts...); err != nil {
				t.Fatal(err)
			}
			if _, err := b.AttachUretprobe(name, tc.sym, "on_return", opts...); err != nil {
				t.Fatal(err)
			}
			if got := b.NumOpenUprobes(); got != 2 {
				t.Errorf("NumOpenUprobes = %d, want 2", got)
			}
			if _, err := b.AttachUprobe(name, tc.sym, "on_entry", opts...); !errors.Is(err, ErrAlreadyAttached) {
				t.Errorf("second attach: %v", err)
			}
			ids := progIDs(t, b)
			line := ch.Run(t)
			if want := fmt.Sprintf("done %d", sumTarget+sumLib); line != want {
				t.Fatalf("child said %q, want %q", line, want)
			}
			if got := tableUint(t, b, "hits", 0); got != n {
				t.Errorf("entries = %d, want %d", got, n)
			}
			if got := tableUint(t, b, "hits", 1); got != n {
				t.Errorf("returns = %d, want %d", got, n)
			}
			if got := tableUint(t, b, "hits", 2); got != sumArgs {
				t.Errorf("sum of first arguments = %d, want %d", got, sumArgs)
			}
			if got := tableUint(t, b, "hits", 3); got != tc.wantRet {
				t.Errorf("sum of return values = %d, want %d", got, tc.wantRet)
			}
			if err := b.DetachUprobe(name, tc.sym, opts...); err != nil {
				t.Errorf("DetachUprobe: %v", err)
			}
			if got := b.NumOpenUprobes(); got != 1 {
				t.Errorf("after detach NumOpenUprobes = %d, want 1", got)
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			if got := perfFDs(t); got != perfBefore {
				t.Errorf("perf fds: %d before, %d after Close", perfBefore, got)
			}
			requireProgsGone(t, ids)
			events, err := os.ReadFile("/sys/kernel/tracing/uprobe_events")
			if err == nil && (strings.Contains(string(events), bins.dir) || strings.Contains(string(events), "gobcc")) {
				t.Errorf("uprobe_events still lists ours:\n%s", events)
			}
		})
	}
}

func TestUprobeSymReAndAddr(t *testing.T) {
	testutil.RequireRoot(t)
	bins := buildUprobeTargets(t)
	fns, err := symbols.GetUserFunctions(bins.pie, "gobcc_")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(fns, ",") != "gobcc_target" {
		t.Errorf("symbols.GetUserFunctions(pie, gobcc_) = %v", fns)
	}
	ch := testutil.StartChild(t, bins.nopie, "10")
	b, err := New(Options{Text: uprobeCountProg})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	pid := UprobeOptions{PID: ch.PID()}
	if _, err := b.AttachUprobeRe(bins.nopie, "gobcc_t", "on_entry", pid); err != nil {
		t.Fatal(err)
	}
	// The same function by address: a non-PIE executable's virtual address.
	if _, err := b.AttachUretprobe(bins.nopie, "", "on_return", UprobeOptions{PID: pid.PID, Addr: symbolValue(t, bins.nopie, "gobcc_target")}); err != nil {
		t.Fatal(err)
	}
	ch.Run(t)
	if got := tableUint(t, b, "hits", 0); got != 10 {
		t.Errorf("entries = %d, want 10", got)
	}
	if got := tableUint(t, b, "hits", 1); got != 10 {
		t.Errorf("returns = %d, want 10", got)
	}
	if _, err := b.AttachUprobe(bins.nopie, "no_such_symbol", "on_entry"); err == nil {
		t.Error("attached to a missing symbol")
	}
	if _, err := b.AttachUprobe(bins.nopie, "gobcc_target", "on_entry", UprobeOptions{Addr: 1}); err == nil {
		t.Error("accepted both a symbol and an address")
	}
}

// IFUNC symbols resolve to the implementation, with a warning: a probe on
// libc's strlen fires when the child calls strlen.
func TestUprobeIFUNC(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	bin := gcc(t, dir, "strlen_caller", `
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
int main(int argc, char **argv) {
	char line[64];
	if (!fgets(line, sizeof line, stdin)) return 1;
	volatile size_t s = 0;
	for (int i = 0; i < 50; i++) s += strlen(argv[0] + (i % 3));
	printf("done %zu\n", (size_t)s);
	fflush(stdout);
	fgets(line, sizeof line, stdin);
	return 0;
}
`, "-fno-builtin")
	ch := testutil.StartChild(t, bin)
	b, err := New(Options{Text: uprobeCountProg})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.AttachUprobe("c", "strlen", "on_entry", UprobeOptions{PID: ch.PID()}); err != nil {
		t.Fatal(err)
	}
	warned := false
	for _, w := range b.Warnings() {
		warned = warned || strings.Contains(w, "IFUNC")
	}
	if !warned {
		t.Errorf("no IFUNC warning: %q", b.Warnings())
	}
	ch.Run(t)
	// printf and the loader may call strlen too: at least the 50 calls.
	if got := tableUint(t, b, "hits", 0); got < 50 {
		t.Errorf("strlen implementation hits = %d, want >= 50", got)
	}
}
