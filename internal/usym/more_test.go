package usym_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
	"github.com/gobcc/gobcc/internal/usym"
	"github.com/gobcc/gobcc/internal/usym/usymtest"
)

func python(t *testing.T, script string, args ...string) string {
	t.Helper()
	out, err := exec.Command(usymtest.Python, append([]string{"-c", script}, args...)...).Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func TestPerfMapMatchesLibbcc(t *testing.T) {
	testutil.RequireRoot(t)
	usymtest.RequireTools(t)
	bin, _ := buildChild(t, variants[0])
	c := usymtest.Start(t, bin)
	path := fmt.Sprintf("/tmp/perf-%d.map", c.PID)
	// JIT code lives in anonymous memory: addresses no file maps.
	content := "7f0000001000 100 jit_fn_one\n0x7f0000001100 0x80 LazyCompile:*two /app/x.js:12\nbad line\n7f0000002000 10 Interpreter\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)
	addrs := []uint64{0x7f0000001000, 0x7f00000010ff, 0x7f0000001100, 0x7f0000001170, 0x7f0000001180, 0x7f0000002005, 0x7f0000003000, c.Addrs["leaf_fn"]}
	want := usymtest.PythonResolve(t, c.PID, addrs, true)
	r := usym.NewResolver(usym.Options{})
	defer r.Close()
	for i, a := range addrs {
		got := pyView(r.Resolve(c.PID, a), a, true)
		if got != want[i].PyResult {
			t.Errorf("%#x: got %+v, libbcc %+v", a, got, want[i].PyResult)
		}
	}
	if got := r.Resolve(c.PID, 0x7f0000001170); got.Name != "LazyCompile:*two /app/x.js:12" || got.Offset != 0x70 {
		t.Errorf("perf map entry with spaces: %+v", got)
	}
}

func TestOtherMountNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	usymtest.RequireTools(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		testutil.RequireKernel(t, "unshare not installed")
	}
	bin, _ := buildChild(t, variants[1])
	// The child runs from a tmpfs mounted only in its own mount namespace:
	// its maps name a path that does not exist here.
	hidden := "/mnt/gobcc-usym-ns"
	script := fmt.Sprintf("mkdir -p %[1]s && mount -t tmpfs none %[1]s && cp %[2]s %[1]s/child && exec %[1]s/child", hidden, bin)
	c := usymtest.Start(t, "unshare", "-m", "--propagation", "private", "sh", "-c", script)
	if _, err := os.Stat(hidden + "/child"); err == nil {
		t.Fatalf("%s/child is visible outside the namespace", hidden)
	}
	addrs := []uint64{c.Addrs["leaf_fn"], c.Addrs["static_fn"] + 3, c.Addrs["main"]}
	want := usymtest.PythonResolve(t, c.PID, addrs, true)
	r := usym.NewResolver(usym.Options{})
	defer r.Close()
	for i, a := range addrs {
		res := r.Resolve(c.PID, a)
		if got := pyView(res, a, true); got != want[i].PyResult {
			t.Errorf("%#x: got %+v, libbcc %+v", a, got, want[i].PyResult)
		}
		if !res.Found() || res.Module != hidden+"/child" {
			t.Errorf("%#x: %+v, want a symbol of %s/child", a, res, hidden)
		}
	}
}

func TestWhichSOMatchesFindLibrary(t *testing.T) {
	usymtest.RequireTools(t)
	names := []string{"c", "m", "pthread", "dl", "bcc", "stdc++", "z", "no-such-lib-gobcc"}
	out := python(t, `
import sys
from bcc import BPF
for n in sys.argv[1:]:
    p = BPF.find_library(n)
    print("=" + (p.decode() if p else ""))
`, names...)
	want := strings.Split(out, "\n")
	for i := range want {
		want[i] = strings.TrimPrefix(want[i], "=")
	}
	r := usym.NewResolver(usym.Options{})
	defer r.Close()
	for i, n := range names {
		got, err := usym.WhichSO(n, 0)
		if want[i] == "" {
			if !errors.Is(err, usym.ErrLibraryNotFound) {
				t.Errorf("%s: got %q, %v; want ErrLibraryNotFound", n, got, err)
			}
			continue
		}
		if err != nil || got != want[i] {
			t.Errorf("WhichSO(%q) = %q, %v; BCC %q", n, got, err, want[i])
		}
		if got2, _ := r.WhichSO(n, 0); got2 != got {
			t.Errorf("Resolver.WhichSO(%q) = %q, package %q", n, got2, got)
		}
	}
	if p, err := usym.WhichSO("c", os.Getpid()); err != nil || !strings.Contains(p, "libc") {
		t.Errorf("WhichSO(c, self) = %q, %v", p, err)
	}
}

func TestResolveSymbolMatchesBCC(t *testing.T) {
	testutil.RequireRoot(t)
	usymtest.RequireTools(t)
	dir := t.TempDir()
	_ = dir
	binPIE, lib := buildChild(t, variants[0])
	binExec, _ := buildChild(t, variants[1])
	cases := [][2]string{
		{binPIE, "leaf_fn"}, {binPIE, "main"}, {binExec, "leaf_fn"}, {binExec, "mid_fn"},
		{lib, "lib_fn2"}, {"c", "malloc"}, {"c", "qsort"}, {"c", "getpid"}, {"/usr/lib/x86_64-linux-gnu/libc.so.6", "strlen"},
	}
	var args []string
	for _, c := range cases {
		args = append(args, c[0], c[1])
	}
	out := python(t, `
import sys
from bcc import BPF
a = sys.argv[1:]
for i in range(0, len(a), 2):
    path, off = BPF._check_path_symbol(a[i], a[i+1], None, -1)
    print("%s %x" % (path.decode(), off))
`, args...)
	lines := strings.Split(out, "\n")
	for i, c := range cases {
		f := strings.Fields(lines[i])
		wantOff, _ := strconv.ParseUint(f[1], 16, 64)
		got, err := usym.ResolveSymbol(c[0], c[1])
		if err != nil || got != wantOff {
			t.Errorf("ResolveSymbol(%s, %s) = %#x, %v; BCC %#x", c[0], c[1], got, err, wantOff)
		}
	}
	if _, err := usym.ResolveSymbol(binPIE, "no_such_symbol"); !errors.Is(err, usym.ErrSymbolNotFound) {
		t.Errorf("missing symbol: %v", err)
	}
	// The same symbol through a process: its maps give the library path.
	c := usymtest.Start(t, binPIE)
	r := usym.NewResolver(usym.Options{})
	defer r.Close()
	path, sa, err := r.ResolveSymbol(c.PID, "gobcctest", "lib_fn")
	off := sa.FileOffset
	want, _ := usym.ResolveSymbol(lib, "lib_fn")
	if err != nil || off != want || sa.Name != "lib_fn" || sa.IFUNC || !strings.HasSuffix(path, lib) || !strings.HasPrefix(path, fmt.Sprintf("/proc/%d/root", c.PID)) {
		t.Errorf("Resolver.ResolveSymbol(pid, gobcctest, lib_fn) = %s %#x %v; want %#x", path, off, err, want)
	}
	// And the reverse: the run-time address of a symbol is what the child printed.
	for _, n := range []string{"leaf_fn", "main"} {
		a, err := r.ResolveName(c.PID, binPIE, n)
		if err != nil || a != c.Addrs[n] {
			t.Errorf("ResolveName(%s) = %#x, %v; child says %#x", n, a, err, c.Addrs[n])
		}
	}
	if a, err := r.ResolveName(c.PID, "gobcctest", "lib_fn2"); err != nil || a != c.Addrs["lib_fn2"] {
		t.Errorf("ResolveName(gobcctest, lib_fn2) = %#x, %v; child says %#x", a, err, c.Addrs["lib_fn2"])
	}
}

func TestFunctionSymbolsMatchBCC(t *testing.T) {
	usymtest.RequireTools(t)
	for _, c := range [][2]string{{"c", "^str.*cmp"}, {"c", "^mall"}, {"/usr/bin/python3", "^PyObject_Get"}} {
		out := python(t, `
import sys
from bcc import BPF
path = BPF.find_library(sys.argv[1]) or sys.argv[1].encode()
for n, a in sorted(set(BPF.get_user_functions_and_addresses(path, sys.argv[2]))):
    print("%s %x" % (n.decode(), a))
`, c[0], c[1])
		want := map[string]bool{}
		for _, l := range strings.Split(out, "\n") {
			if l != "" {
				want[l] = true
			}
		}
		got, err := usym.FunctionSymbols(c[0], regexp.MustCompile(c[1]))
		if err != nil {
			t.Fatal(err)
		}
		gotSet := map[string]bool{}
		ifuncs := 0
		for _, s := range got {
			gotSet[fmt.Sprintf("%s %x", s.Name, s.Value)] = true
			if s.IFUNC {
				ifuncs++
			}
		}
		if len(want) == 0 || len(gotSet) != len(want) {
			t.Errorf("%s %s: %d symbols, BCC %d", c[0], c[1], len(gotSet), len(want))
		}
		for k := range want {
			if !gotSet[k] {
				t.Errorf("%s %s: missing %s", c[0], c[1], k)
			}
		}
		if c[0] == "c" && c[1] == "^str.*cmp" && ifuncs == 0 {
			t.Errorf("libc's strcmp family should have IFUNC symbols")
		}
	}
}

func TestConcurrentResolveAndClose(t *testing.T) {
	testutil.RequireRoot(t)
	usymtest.RequireTools(t)
	bin, _ := buildChild(t, variants[0])
	c := usymtest.Start(t, bin)
	r := usym.NewResolver(usym.Options{})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				res := r.Resolve(c.PID, c.Addrs["leaf_fn"]+1)
				if res.Name != "leaf_fn" {
					t.Errorf("concurrent resolve: %+v", res)
					return
				}
			}
		}()
	}
	wg.Wait()
	if s := r.Stats(); s.Processes != 1 || s.Files != 1 || s.Symbols == 0 || s.Bytes == 0 {
		t.Errorf("stats after use: %+v", s)
	}
	r.Close()
	if s := r.Stats(); s.Processes != 0 || s.Files != 0 {
		t.Errorf("stats after Close: %+v", s)
	}
	if _, err := r.Process(c.PID); !errors.Is(err, usym.ErrClosed) {
		t.Errorf("Process after Close: %v", err)
	}
}
