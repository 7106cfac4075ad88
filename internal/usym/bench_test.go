package usym_test

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gobcc/gobcc/internal/usym"
	"github.com/gobcc/gobcc/internal/usym/usymtest"
)

// benchAddrs returns a running child and addresses inside it: its own
// functions and the first 300 function symbols of libc, each 4 bytes in.
func benchAddrs(tb testing.TB) (*usymtest.Child, []uint64) {
	usymtest.RequireTools(tb)
	dir := tb.TempDir()
	usymtest.Build(tb, dir, "gcc", usymtest.LibSource, "libgobcctest.so", "-shared", "-fPIC", "-O1", "-g")
	bin := usymtest.Build(tb, dir, "gcc", usymtest.CSource, "child", "-O1", "-g", "-fPIE", "-pie", "-L"+dir, "-lgobcctest", "-Wl,-rpath,"+dir, "-ldl")
	c := usymtest.Start(tb, bin)
	var addrs []uint64
	for _, n := range c.Order {
		addrs = append(addrs, c.Addrs[n]+4)
	}
	r := usym.NewResolver(usym.Options{})
	defer r.Close()
	syms, err := usym.FunctionSymbols("c", regexp.MustCompile("^[a-z]"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range syms {
		if len(addrs) >= 300 {
			break
		}
		if a, err := r.ResolveName(c.PID, "c", s.Name); err == nil {
			addrs = append(addrs, a+4)
		}
	}
	return c, addrs
}

// BenchmarkResolveWarm measures lookups against a warm cache.
func BenchmarkResolveWarm(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root to read other processes' maps")
	}
	c, addrs := benchAddrs(b)
	r := usym.NewResolver(usym.Options{})
	defer r.Close()
	for _, a := range addrs {
		r.Resolve(c.PID, a)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Resolve(c.PID, addrs[i%len(addrs)])
	}
	b.ReportMetric(float64(r.Stats().Bytes), "cache-bytes")
}

const pyBench = `
import sys, time
from bcc import BPF
def rss():
    for l in open("/proc/self/status"):
        if l.startswith("VmRSS:"):
            return int(l.split()[1]) * 1024
pid = int(sys.argv[1]); n = int(sys.argv[2])
addrs = [int(a, 16) for a in sys.stdin.read().split()]
before = rss()
for a in addrs:
    BPF.sym(a, pid)
after = rss()
t0 = time.perf_counter()
for i in range(n):
    BPF.sym(addrs[i % len(addrs)], pid)
dt = time.perf_counter() - t0
print("%f %d" % (n / dt, after - before))
`

// TestSymsBenchVsPython is the benchmark scripts/bench_syms.sh runs: warm
// Sym lookups per second and the memory a warm cache holds, gobcc vs BCC
// Python (libbcc's symcache) on the same addresses of the same process.
// It asserts nothing about speed.
func TestSymsBenchVsPython(t *testing.T) {
	if os.Getenv("GOBCC_BENCH_SYMS") != "1" {
		t.Skip("set GOBCC_BENCH_SYMS=1 (scripts/bench_syms.sh)")
	}
	c, addrs := benchAddrs(t)
	const n = 200000

	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	r := usym.NewResolver(usym.Options{})
	defer r.Close()
	found := 0
	for _, a := range addrs {
		if r.Resolve(c.PID, a).Found() {
			found++
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	start := time.Now()
	for i := 0; i < n; i++ {
		r.Resolve(c.PID, addrs[i%len(addrs)])
	}
	goRate := n / time.Since(start).Seconds()
	goMem := int64(m1.HeapAlloc) - int64(m0.HeapAlloc)

	var in strings.Builder
	for _, a := range addrs {
		fmt.Fprintf(&in, "%x\n", a)
	}
	cmd := exec.Command(usymtest.Python, "-c", pyBench, strconv.Itoa(c.PID), strconv.Itoa(n/4))
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	f := strings.Fields(string(out))
	pyRate, _ := strconv.ParseFloat(f[0], 64)
	pyMem, _ := strconv.ParseInt(f[1], 10, 64)
	st := r.Stats()
	fmt.Printf("addresses: %d (%d resolved), files cached: %d, symbols: %d\n", len(addrs), found, st.Files, st.Symbols)
	fmt.Printf("%-28s %14s %14s %8s\n", "metric", "gobcc", "BCC Python", "ratio")
	fmt.Printf("%-28s %14.0f %14.0f %7.1fx\n", "warm Sym lookups/s", goRate, pyRate, goRate/pyRate)
	fmt.Printf("%-28s %14d %14d %7.2fx\n", "warm cache memory (bytes)", goMem, pyMem, float64(goMem)/float64(pyMem))
	fmt.Printf("%-28s %14d %14s\n", "symbol table estimate", st.Bytes, "-")
}
