// Package usymtest builds and runs the C and C++ child programs that
// symbol tests resolve addresses in, and asks libbcc (through BCC Python)
// for the reference answers. It is for tests only.
package usymtest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

// Python is the interpreter with BCC installed, the reference.
const Python = "/usr/bin/python3"

// LibSource is the shared library the C child links against.
const LibSource = `
__attribute__((noinline)) static int lib_static(int x) { return x * 7 + 3; }
__attribute__((noinline)) int lib_fn(int x) { return lib_static(x) + 1; }
__attribute__((noinline)) int lib_fn2(int x) { return lib_fn(x) * 2; }
`

// CSource is the C child. It prints "name=0xADDR ..." for its functions,
// then, for every line read on stdin, calls getpid through mid_fn ->
// do_getpid (a raw syscall, so the user stack has only frame-pointer
// frames of this program) and answers "ok".
const CSource = `
#define _GNU_SOURCE
#include <stdio.h>
#include <dlfcn.h>
#include <unistd.h>
extern int lib_fn(int);
extern int lib_fn2(int);
__attribute__((noinline)) int leaf_fn(int x) { __asm__ volatile(""); return x * 3 + 1; }
__attribute__((noinline)) static int static_fn(int x) { return leaf_fn(x) + 2; }
__attribute__((noinline)) void do_getpid(void) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "0"(39L) : "rcx", "r11", "memory");
}
__attribute__((noinline)) void mid_fn(void) { do_getpid(); __asm__ volatile(""); }
int main(void) {
    printf("leaf_fn=%p static_fn=%p lib_fn=%p lib_fn2=%p qsort=%p do_getpid=%p mid_fn=%p main=%p\n",
           (void *)leaf_fn, (void *)static_fn, (void *)lib_fn, (void *)lib_fn2,
           dlsym(RTLD_DEFAULT, "qsort"), (void *)do_getpid, (void *)mid_fn, (void *)main);
    fflush(stdout);
    char buf[64];
    while (fgets(buf, sizeof buf, stdin)) {
        mid_fn();
        printf("ok\n");
        fflush(stdout);
    }
    return static_fn(0) == 0;
}
`

// CXXSource is the C++ child: namespaces, methods, templates, overloads,
// an anonymous namespace and extern "C", printed as the C child does.
const CXXSource = `
#include <cstdio>
#include <vector>
#include <string>
namespace ns {
struct Widget {
    int v;
    __attribute__((noinline)) int method(int x) const { return v + x; }
    __attribute__((noinline)) static int smethod(double d) { return (int)d; }
    __attribute__((noinline)) int operator()(const std::string &s) { return v + (int)s.size(); }
};
template <typename T> __attribute__((noinline)) T twice(T x) { return x + x; }
}
namespace {
__attribute__((noinline)) int anon_fn(std::vector<int> &v) { return (int)v.size(); }
}
__attribute__((noinline)) int overloaded(int x) { return x; }
__attribute__((noinline)) int overloaded(const char *s) { return s[0]; }
extern "C" __attribute__((noinline)) int c_linkage(int x) { return x + 1; }
int main() {
    int (*o1)(int) = overloaded;
    int (*o2)(const char *) = overloaded;
    int (*t1)(int) = ns::twice<int>;
    double (*t2)(double) = ns::twice<double>;
    int (*an)(std::vector<int> &) = anon_fn;
    std::printf("method=%p smethod=%p call=%p twice_int=%p twice_double=%p anon=%p over_int=%p over_str=%p c_linkage=%p\n",
                (void *)(&ns::Widget::method), (void *)&ns::Widget::smethod,
                (void *)(&ns::Widget::operator()), (void *)t1, (void *)t2, (void *)an,
                (void *)o1, (void *)o2, (void *)c_linkage);
    std::fflush(stdout);
    char buf[64];
    while (std::fgets(buf, sizeof buf, stdin)) {}
    std::vector<int> v;
    ns::Widget w{1};
    return w.method(0) + ns::twice(1) + anon_fn(v) + c_linkage(0) + overloaded("x") - 7;
}
`

// RequireTools fails or skips the test when gcc/g++ or BCC Python are
// missing.
func RequireTools(tb testing.TB) {
	tb.Helper()
	for _, t := range []string{"gcc", "g++", "strip", "objcopy"} {
		if _, err := exec.LookPath(t); err != nil {
			testutil.RequireKernel(tb, "%s not installed", t)
		}
	}
	if _, err := os.Stat(Python); err != nil {
		testutil.RequireKernel(tb, "BCC Python (%s) not installed", Python)
	}
}

// Run runs a command and fails the test on error.
func Run(tb testing.TB, name string, args ...string) {
	tb.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// Build writes src to dir and compiles it with compiler ("gcc" or "g++")
// and flags into dir/out. It returns the output path.
func Build(tb testing.TB, dir, compiler, src, out string, flags ...string) string {
	tb.Helper()
	ext := ".c"
	if compiler == "g++" {
		ext = ".cc"
	}
	srcPath := filepath.Join(dir, out+ext)
	if err := os.WriteFile(srcPath, []byte(src), 0o644); err != nil {
		tb.Fatal(err)
	}
	outPath := filepath.Join(dir, out)
	args := append([]string{"-o", outPath, srcPath}, flags...)
	Run(tb, compiler, args...)
	return outPath
}

// Child is a running child program.
type Child struct {
	Cmd   *exec.Cmd
	PID   int
	Addrs map[string]uint64 // what it printed
	Order []string          // names in printed order
	in    io.WriteCloser
	out   *bufio.Reader
}

// Start runs path (with args) and reads its address line. The child is
// killed when the test ends.
func Start(tb testing.TB, path string, args ...string) *Child {
	tb.Helper()
	cmd := exec.Command(path, args...)
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	c := &Child{Cmd: cmd, PID: cmd.Process.Pid, Addrs: map[string]uint64{}, in: in, out: bufio.NewReader(outPipe)}
	tb.Cleanup(func() {
		in.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := c.out.ReadString('\n')
	if err != nil {
		tb.Fatalf("%s printed no addresses: %v", path, err)
	}
	for _, f := range strings.Fields(line) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		a, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 64)
		if err != nil {
			tb.Fatalf("bad address %q", f)
		}
		c.Addrs[k] = a
		c.Order = append(c.Order, k)
	}
	return c
}

// Poke makes the child run its getpid path once and waits for it.
func (c *Child) Poke(tb testing.TB) {
	tb.Helper()
	if _, err := io.WriteString(c.in, "go\n"); err != nil {
		tb.Fatal(err)
	}
	if line, err := c.out.ReadString('\n'); err != nil || line != "ok\n" {
		tb.Fatalf("child answered %q, %v", line, err)
	}
}

// PyResult is libbcc's answer for one address: SymbolCache.resolve.
type PyResult struct {
	Name   string // "" for None
	Offset uint64
	Module string // "" for None
}

const pyResolve = `
import sys
from bcc import SymbolCache, BPF
pid = int(sys.argv[1])
demangle = sys.argv[2] == "1"
c = SymbolCache(pid)
for line in sys.stdin:
    a = int(line, 16)
    name, off, mod = c.resolve(a, demangle)
    s1 = BPF.sym(a, pid, show_module=True, show_offset=True, demangle=demangle)
    s2 = BPF.sym(a, pid, demangle=demangle)
    print("%s|%x|%s|%s|%s" % (name.decode() if name else "", off, mod.decode() if mod else "",
                              s1.decode(), s2.decode()))
`

// PyAnswer is one line of the Python oracle.
type PyAnswer struct {
	PyResult
	SymFull  string // BPF.sym(addr, pid, show_module=True, show_offset=True)
	SymPlain string // BPF.sym(addr, pid)
}

// PythonResolve asks libbcc, through BCC Python, to resolve addrs in pid.
func PythonResolve(tb testing.TB, pid int, addrs []uint64, demangle bool) []PyAnswer {
	tb.Helper()
	d := "0"
	if demangle {
		d = "1"
	}
	cmd := exec.Command(Python, "-c", pyResolve, strconv.Itoa(pid), d)
	var in strings.Builder
	for _, a := range addrs {
		fmt.Fprintf(&in, "%x\n", a)
	}
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("python oracle: %v", err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != len(addrs) {
		tb.Fatalf("python oracle gave %d lines for %d addresses:\n%s", len(lines), len(addrs), out)
	}
	res := make([]PyAnswer, len(lines))
	for i, l := range lines {
		f := strings.SplitN(l, "|", 5)
		if len(f) != 5 {
			tb.Fatalf("python oracle line %q", l)
		}
		off, _ := strconv.ParseUint(f[1], 16, 64)
		res[i] = PyAnswer{PyResult{f[0], off, f[2]}, f[3], f[4]}
	}
	return res
}
