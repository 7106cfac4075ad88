package usym_test

import (
	"os"
	"regexp"
	"testing"

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

// The comparison with BCC Python's BPF.sym (warm lookups/s and the memory a
// warm cache holds) is the sym rows of `make bench` (bench/internal/benchcmp).
