package bcc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/cflags"
	"github.com/gobcc/gobcc/internal/testutil"
	"github.com/gobcc/gobcc/internal/usym/usymtest"
	"github.com/gobcc/gobcc/symbols"
)

const stackProg = `
BPF_STACK_TRACE(stacks, 1024);
BPF_ARRAY(ids, s64, 2);
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    if (bpf_get_current_pid_tgid() >> 32 != TEST_PID)
        return 0;
    int k = 0;
    s64 id = stacks.get_stackid(args, 0);
    ids.update(&k, &id);
    k = 1;
    id = stacks.get_stackid(args, BPF_F_USER_STACK);
    ids.update(&k, &id);
    return 0;
}
`

// buildCChild builds the C test child (PIE, frame pointers, a shared
// library) and starts it.
func buildCChild(t *testing.T, extra ...string) (*usymtest.Child, string) {
	t.Helper()
	usymtest.RequireTools(t)
	dir := t.TempDir()
	fl := []string{"-O0", "-g", "-fno-omit-frame-pointer"}
	usymtest.Build(t, dir, "gcc", usymtest.LibSource, "libgobcctest.so", append([]string{"-shared", "-fPIC"}, fl...)...)
	bin := usymtest.Build(t, dir, "gcc", usymtest.CSource, "child",
		append(append(fl, extra...), "-L"+dir, "-lgobcctest", "-Wl,-rpath,"+dir, "-ldl")...)
	return usymtest.Start(t, bin), bin
}

func stackIDs(t *testing.T, b *BPF) (kernel, user int64) {
	t.Helper()
	ids, err := b.Table("ids")
	if err != nil {
		t.Fatal(err)
	}
	k, err := ids.Lookup(0)
	if err != nil {
		t.Fatal(err)
	}
	u, err := ids.Lookup(1)
	if err != nil {
		t.Fatal(err)
	}
	return k.Int64(), u.Int64()
}

func TestStacksFromTracepoint(t *testing.T) {
	testutil.RequireRoot(t)
	c, _ := buildCChild(t, "-fPIE", "-pie")
	b, err := New(Options{Text: stackProg, CFlags: []string{cflags.Define("TEST_PID", c.PID)}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c.Poke(t)
	kid, uid := stackIDs(t, b)
	stacks, err := b.Table("stacks")
	if err != nil {
		t.Fatal(err)
	}

	// Kernel stack: every frame is a function kallsyms knows. Linux 6.1
	// cannot unwind the kernel stack from a syscalls tracepoint:
	// bpf_get_stackid returns -EFAULT there, for BCC Python too. 6.18 can,
	// and must.
	kaddrs, err := stacks.Walk(kid)
	noKernelStack := kid == -14 && kernelOlderThan(t, 6, 18)
	if noKernelStack {
		t.Logf("kernel stack: bpf_get_stackid gave -EFAULT on this kernel, as it does for BCC Python; checking the user stack only")
		err = nil
	}
	if err != nil {
		t.Fatalf("kernel stack %d: %v", kid, err)
	}
	ks, err := b.KernelSymbols()
	if err != nil {
		t.Fatal(err)
	}
	var knames []string
	for _, a := range kaddrs {
		name := b.Ksym(a)
		if name == "[unknown]" {
			t.Errorf("kernel frame %#x resolves to nothing", a)
			continue
		}
		if addr, err := ks.KsymName(name); err != nil || addr > a {
			t.Errorf("kernel frame %#x -> %s, which kallsyms puts at %#x (%v)", a, name, addr, err)
		}
		if b.Sym(a, -1) != name {
			t.Errorf("Sym(addr, -1) = %q, Ksym %q", b.Sym(a, -1), name)
		}
		knames = append(knames, name)
	}
	joined := strings.Join(knames, " ")
	if !noKernelStack && (len(kaddrs) < 2 || !strings.Contains(joined, "syscall")) {
		t.Errorf("kernel stack %v: want at least 2 frames through the syscall entry", knames)
	}

	// User stack: the child's own frames, innermost first, named as
	// libbcc names them.
	uaddrs, err := stacks.Walk(uid)
	if err != nil {
		t.Fatalf("user stack %d: %v", uid, err)
	}
	want := usymtest.PythonResolve(t, c.PID, uaddrs, true)
	var unames []string
	for i, a := range uaddrs {
		full := b.Sym(a, c.PID, symbols.Options{ShowModule: true, ShowOffset: true})
		if full != want[i].SymFull {
			t.Errorf("frame %d %#x: Sym %q, BCC %q", i, a, full, want[i].SymFull)
		}
		if plain := b.Sym(a, c.PID); plain != want[i].SymPlain {
			t.Errorf("frame %d %#x: Sym %q, BCC %q", i, a, plain, want[i].SymPlain)
		}
		unames = append(unames, b.Sym(a, c.PID))
	}
	if len(unames) < 3 || unames[0] != "do_getpid" || unames[1] != "mid_fn" || unames[2] != "main" {
		t.Errorf("user stack %v: want do_getpid, mid_fn, main first", unames)
	}
	t.Logf("kernel stack: %v; user stack: %v", knames, unames)

	if _, err := stacks.Walk(-14); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("Walk(-EFAULT): %v", err)
	}
	if _, err := stacks.WalkBuildID(kid); !errors.Is(err, ErrWrongTableType) {
		t.Errorf("WalkBuildID on an address table: %v", err)
	}
	ids, _ := b.Table("ids")
	if _, err := ids.Walk(0); !errors.Is(err, ErrWrongTableType) {
		t.Errorf("Walk on an array: %v", err)
	}
	b.Close()
	if _, err := stacks.Walk(kid); !errors.Is(err, ErrClosed) {
		t.Errorf("Walk after Close: %v", err)
	}
	if b.usyms.Held() {
		t.Errorf("user symbol cache survives Close")
	}
}

const goChildSource = `package main

import (
	"bufio"
	"fmt"
	"os"
	"syscall"
)

//go:noinline
func goStackLeaf() { syscall.Getpid() }

//go:noinline
func goStackMiddle() { goStackLeaf() }

func main() {
	fmt.Println("ready=0x1")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		goStackMiddle()
		fmt.Println("ok")
	}
}
`

// TestUserStackOfGoProgram resolves the user stack of a Go program built
// with "go build" (which keeps .symtab; "go test" binaries lack it, and
// libbcc reads no other table). Go keeps frame pointers, so the stack
// holds the whole chain.
func TestUserStackOfGoProgram(t *testing.T) {
	testutil.RequireRoot(t)
	usymtest.RequireTools(t)
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(goChildSource), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module gochild\n\ngo 1.21\n"), 0o644)
	cmd := exec.Command(goTool, "build", "-o", "gochild", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// The Go runtime's sysmon thread calls getpid when it preempts a
	// goroutine; without async preemption only the child's own call fires
	// the probe.
	t.Setenv("GODEBUG", "asyncpreemptoff=1")
	c := usymtest.Start(t, filepath.Join(dir, "gochild"))
	b, err := New(Options{Text: stackProg, CFlags: []string{cflags.Define("TEST_PID", c.PID)}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c.Poke(t)
	_, uid := stackIDs(t, b)
	stacks, _ := b.Table("stacks")
	addrs, err := stacks.Walk(uid)
	if err != nil {
		t.Fatal(err)
	}
	want := usymtest.PythonResolve(t, c.PID, addrs, true)
	var names []string
	for i, a := range addrs {
		names = append(names, b.Sym(a, c.PID))
		if got := b.Sym(a, c.PID, symbols.Options{ShowModule: true, ShowOffset: true}); got != want[i].SymFull {
			t.Errorf("frame %d %#x: Sym %q, BCC %q", i, a, got, want[i].SymFull)
		}
	}
	joined := strings.Join(names, " ")
	for _, fn := range []string{"main.goStackMiddle", "main.main"} {
		if !strings.Contains(joined, fn) {
			t.Errorf("user stack of the Go child %v lacks %s", names, fn)
		}
	}
	t.Logf("Go user stack: %v", names)
}

const buildIDProg = `
BPF_STACK_TRACE_BUILDID(bstacks, 128);
BPF_ARRAY(ids, s64, 2);
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    if (bpf_get_current_pid_tgid() >> 32 != TEST_PID)
        return 0;
    int k = 1;
    s64 id = bstacks.get_stackid(args, BPF_F_USER_STACK);
    ids.update(&k, &id);
    return 0;
}
`

func TestBuildIDStack(t *testing.T) {
	testutil.RequireRoot(t)
	for _, pie := range []string{"-pie", "-no-pie"} {
		t.Run(pie, func(t *testing.T) {
			c, bin := buildCChild(t, pie, "-Wl,--build-id")
			b, err := New(Options{Text: buildIDProg, CFlags: []string{cflags.Define("TEST_PID", c.PID)}})
			if err != nil {
				if errors.Is(err, ErrNotSupported) || strings.Contains(err.Error(), "invalid argument") {
					testutil.RequireKernel(t, "kernel lacks build-id stack maps: %v", err)
				}
				t.Fatal(err)
			}
			defer b.Close()
			c.Poke(t)
			_, uid := stackIDs(t, b)
			stacks, _ := b.Table("bstacks")
			if stacks.Flags()&MapFlagStackBuildID == 0 {
				t.Fatalf("map flags %#x lack BPF_F_STACK_BUILD_ID", stacks.Flags())
			}
			if _, err := stacks.Walk(uid); !errors.Is(err, ErrWrongTableType) {
				t.Errorf("Walk on a build-id table: %v", err)
			}
			frames, err := stacks.WalkBuildID(uid)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.AddModule(bin); err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range frames {
				names = append(names, b.SymBuildID(f, c.PID))
			}
			if len(names) < 3 || names[0] != "do_getpid" || names[1] != "mid_fn" || names[2] != "main" {
				t.Errorf("build-id stack %v: want do_getpid, mid_fn, main first", names)
			}
			if got := b.SymBuildID(frames[0], c.PID, symbols.Options{ShowModule: true, ShowOffset: true}); !strings.HasPrefix(got, "do_getpid+0x") || !strings.HasSuffix(got, " [child]") {
				t.Errorf("SymBuildID with module and offset: %q", got)
			}
		})
	}
}

func TestSymMatchesBCCPython(t *testing.T) {
	testutil.RequireRoot(t)
	usymtest.RequireTools(t)
	dir := t.TempDir()
	bin := usymtest.Build(t, dir, "g++", usymtest.CXXSource, "cxxchild", "-O1", "-g", "-fPIE", "-pie")
	cxx := usymtest.Start(t, bin)
	c, _ := buildCChild(t, "-fPIE", "-pie")
	b, err := New(Options{Text: `int x(void *ctx) { return 0; }`, NoAutoAttach: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	n := 0
	for _, ch := range []*usymtest.Child{cxx, c} {
		var addrs []uint64
		for _, name := range ch.Order {
			a := ch.Addrs[name]
			addrs = append(addrs, a, a+3, a-1)
		}
		addrs = append(addrs, 0x1000)
		for _, demangle := range []bool{true, false} {
			want := usymtest.PythonResolve(t, ch.PID, addrs, demangle)
			for i, a := range addrs {
				opts := symbols.Options{ShowModule: true, ShowOffset: true, NoDemangle: !demangle}
				plain := symbols.Options{NoDemangle: !demangle}
				if got := b.Sym(a, ch.PID, opts); got != want[i].SymFull && !strings.Contains(got, "qsort") {
					t.Errorf("pid %d %#x: Sym %q, BCC %q", ch.PID, a, got, want[i].SymFull)
				}
				if got := b.Sym(a, ch.PID, plain); got != want[i].SymPlain && !strings.Contains(got, "qsort") {
					t.Errorf("pid %d %#x: Sym %q, BCC %q", ch.PID, a, got, want[i].SymPlain)
				}
				n += 2
			}
		}
	}
	// Reverse lookups and library names.
	if a, err := b.SymName(c.PID, "gobcctest", "lib_fn"); err != nil || a != c.Addrs["lib_fn"] {
		t.Errorf("SymName(gobcctest, lib_fn) = %#x, %v; child says %#x", a, err, c.Addrs["lib_fn"])
	}
	if _, err := b.SymName(c.PID, "gobcctest", "nope"); !errors.Is(err, symbols.ErrSymbolNotFound) {
		t.Errorf("SymName of a missing symbol: %v", err)
	}
	out, err := exec.Command(usymtest.Python, "-c", "from bcc import BPF; print(BPF.find_library('c').decode())").Output()
	if err != nil {
		t.Fatal(err)
	}
	if p, err := b.FindLibrary("c"); err != nil || p != strings.TrimSpace(string(out)) {
		t.Errorf("symbols.FindLibrary(c) = %q, %v; BCC %q", p, err, out)
	}
	if got := b.ResolveUser(cxx.Addrs["method"], cxx.PID); got.Demangled != "ns::Widget::method(int) const" || got.Name != "_ZNK2ns6Widget6methodEi" {
		t.Errorf("ResolveUser: %+v", got)
	}
	t.Logf("%d Sym strings compared with BCC Python (pids %s, %s)", n, strconv.Itoa(cxx.PID), strconv.Itoa(c.PID))
}

// kernelOlderThan reports whether the running kernel's release is below
// major.minor.
func kernelOlderThan(t *testing.T, major, minor int) bool {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	var maj, min int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &maj, &min); err != nil {
		t.Fatalf("kernel release %q: %v", u.Release, err)
	}
	return maj < major || (maj == major && min < minor)
}
