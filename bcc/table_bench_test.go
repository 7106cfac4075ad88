package bcc

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/testutil"
)

// benchTableSizes are the entry counts of the table rows of `make bench`
// (bench/internal/benchcmp), which compare them with BCC Python.
var benchTableSizes = []int{100_000, 1_000_000}

// newBenchTable returns a BPF_HASH(u32, u64) of n entries and a function
// filling it with n entries through batch updates.
func newBenchTable(b *testing.B, n int) (*BPF, *Table, func()) {
	b.Helper()
	testutil.RequireRoot(b)
	prog, err := New(Options{Text: fmt.Sprintf("BPF_HASH(t, u32, u64, %d);", n), NoAutoAttach: true})
	if err != nil {
		b.Fatal(err)
	}
	t := mustTable(b, prog, "t")
	keys := make([]byte, 4*n)
	vals := make([]byte, 8*n)
	for i := 0; i < n; i++ {
		binary.NativeEndian.PutUint32(keys[4*i:], uint32(i))
		binary.NativeEndian.PutUint64(vals[8*i:], uint64(i)*3)
	}
	fill := func() {
		if _, err := bpfsys.MapUpdateBatch(t.FD(), keys, vals, uint32(n), 0); err != nil {
			b.Fatal(err)
		}
	}
	fill()
	return prog, t, fill
}

func BenchmarkTableItems(b *testing.B) { benchTableItems(b, (*Table).Items) }

func BenchmarkTableItemsLookupBatch(b *testing.B) { benchTableItems(b, (*Table).ItemsLookupBatch) }

// benchTableItems times reading every entry of a table of each size with
// items.
func benchTableItems(b *testing.B, items func(*Table) ([]Item, error)) {
	for _, n := range benchTableSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			prog, t, _ := newBenchTable(b, n)
			defer prog.Close()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				got, err := items(t)
				if err != nil || len(got) != n {
					b.Fatalf("%d items, %v", len(got), err)
				}
			}
		})
	}
}

func BenchmarkTableClear(b *testing.B) {
	for _, n := range benchTableSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			prog, t, fill := newBenchTable(b, n)
			defer prog.Close()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if i > 0 {
					fill()
				}
				b.StartTimer()
				if err := t.Clear(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTableClearArray zeroes an array of n u64 with batch updates.
func BenchmarkTableClearArray(b *testing.B) {
	for _, n := range benchTableSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			testutil.RequireRoot(b)
			prog, err := New(Options{Text: fmt.Sprintf("BPF_ARRAY(t, u64, %d);", n), NoAutoAttach: true})
			if err != nil {
				b.Fatal(err)
			}
			defer prog.Close()
			t := mustTable(b, prog, "t")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := t.Clear(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
