package bcc

import (
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/kallsyms"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/testutil"
)

// Benchmarks of issue 2. scripts/bench.sh (`make bench`) compares the same
// work with BCC Python in separate processes; these measure gobcc alone,
// warm, in one process.

func BenchmarkNew(b *testing.B) {
	testutil.RequireRoot(b)
	for _, prog := range []string{"kmalloc_callers.c", "bench_large.c"} {
		src, err := os.ReadFile("../testdata/" + prog)
		if err != nil {
			b.Fatal(err)
		}
		for _, mode := range []struct {
			name      string
			inProcess bool
		}{{"helper", false}, {"inprocess", true}} {
			b.Run(strings.TrimSuffix(prog, ".c")+"/"+mode.name, func(b *testing.B) {
				for b.Loop() {
					bpf, err := New(Options{Text: string(src), Name: prog, InProcess: mode.inProcess})
					if err != nil {
						b.Fatal(err)
					}
					if bpf.NumOpenTracepoints() == 0 {
						b.Fatal("nothing attached")
					}
					if err := bpf.Close(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// benchHash returns a hash of n u64 -> u64 entries filled from user space
// with batch updates (keys 1..n, value 2*key).
func benchHash(b *testing.B, n int) *Table {
	b.Helper()
	testutil.RequireRoot(b)
	bpf, err := New(Options{Text: fmt.Sprintf("BPF_HASH(big, u64, u64, %d);\n", n)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { bpf.Close() })
	t, err := bpf.Table("big")
	if err != nil {
		b.Fatal(err)
	}
	fillU64Hash(b, t, n)
	return t
}

func fillU64Hash(b *testing.B, t *Table, n int) {
	b.Helper()
	const chunk = 65536
	for first := 1; first <= n; first += chunk {
		count := min(chunk, n-first+1)
		keys := make([]byte, 0, 8*count)
		values := make([]byte, 0, 8*count)
		for k := first; k < first+count; k++ {
			keys = binary.NativeEndian.AppendUint64(keys, uint64(k))
			values = binary.NativeEndian.AppendUint64(values, uint64(2*k))
		}
		if _, err := bpfsys.MapUpdateBatch(t.FD(), keys, values, uint32(count), 0); err != nil {
			b.Fatalf("fill: %v", err)
		}
	}
}

func reportRate(b *testing.B, perOp int, unit string) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(perOp)*float64(b.N)/s, unit)
	}
}

func BenchmarkItems(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			t := benchHash(b, n)
			for b.Loop() {
				items, err := t.Items()
				if err != nil || len(items) != n {
					b.Fatalf("Items: %d entries, %v", len(items), err)
				}
			}
			reportRate(b, n, "entries/s")
		})
	}
}

func BenchmarkClear(b *testing.B) {
	const n = 100_000
	t := benchHash(b, n)
	for i := 0; i < b.N; i++ {
		if i > 0 {
			b.StopTimer()
			fillU64Hash(b, t, n)
			b.StartTimer()
		}
		if err := t.Clear(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if left, err := t.Len(); err != nil || left != 0 {
		b.Fatalf("%d entries left, %v", left, err)
	}
	reportRate(b, n, "entries/s")
}

// kallsymsText lists the addresses and names of the kernel's function
// symbols, leaving out BPF programs, which may be unloaded before they are
// looked up.
func kallsymsText(b *testing.B) (addrs []uint64, names []string) {
	b.Helper()
	t, err := kallsyms.Load()
	if err != nil {
		b.Fatal(err)
	}
	for sym := range t.All() {
		if sym.Module != "bpf" {
			addrs = append(addrs, sym.Addr)
			names = append(names, sym.Name)
		}
	}
	return addrs, names
}

func benchSymbolsBPF(b *testing.B) *BPF {
	b.Helper()
	testutil.RequireRoot(b)
	bpf, err := New(Options{Text: "BPF_ARRAY(unused, u64, 1);\n"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { bpf.Close() })
	return bpf
}

func BenchmarkKsym(b *testing.B) {
	bpf := benchSymbolsBPF(b)
	addrs, _ := kallsymsText(b)
	// Addresses inside functions, not at their starts: the common case of
	// call sites and stack entries.
	if bpf.Ksym(addrs[0]+1) == "[unknown]" {
		b.Fatalf("Ksym(%#x) unknown", addrs[0]+1)
	}
	i := 0
	for b.Loop() {
		if bpf.Ksym(addrs[i]+1) == "[unknown]" {
			b.Fatalf("Ksym(%#x) unknown", addrs[i]+1)
		}
		i = (i + 7919) % len(addrs)
	}
	reportRate(b, 1, "lookups/s")
}

func BenchmarkKsymName(b *testing.B) {
	bpf := benchSymbolsBPF(b)
	_, names := kallsymsText(b)
	if _, err := bpf.KsymName(names[0]); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		if _, err := bpf.KsymName(names[i]); err != nil {
			b.Fatal(err)
		}
		i = (i + 7919) % len(names)
	}
	reportRate(b, 1, "lookups/s")
}
