package kallsyms

import (
	"bytes"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
)

// benchAddrs returns addresses inside random functions of table, the
// shape of a stack trace's return addresses.
func benchAddrs(table *Table, n int) []uint64 {
	rng := rand.New(rand.NewPCG(1, 2))
	addrs := make([]uint64, n)
	for i := range addrs {
		j := rng.IntN(len(table.addrs) - 1)
		start, end := table.addrs[j], table.addrs[j+1]
		addrs[i] = start
		if end > start {
			addrs[i] += rng.Uint64N(end - start)
		}
	}
	return addrs
}

func BenchmarkLookup(b *testing.B) {
	table := loadReal(b)
	addrs := benchAddrs(table, 4096)
	found := 0
	i := 0
	for b.Loop() {
		if _, ok := table.Lookup(addrs[i&4095]); ok {
			found++
		}
		i++
	}
	if found != i {
		b.Fatalf("%d of %d addresses not found", i-found, i)
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkFormat is the equivalent of BCC's BPF.ksym(addr, True, True):
// lookup plus the string.
func BenchmarkFormat(b *testing.B) {
	table := loadReal(b)
	addrs := benchAddrs(table, 4096)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if s := table.Format(addrs[i&4095], true, true); s == unknownName {
			b.Fatalf("Format(%#x) = %s", addrs[i&4095], s)
		}
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "lookups/s")
}

func BenchmarkAddress(b *testing.B) {
	table := loadReal(b)
	names := make([]string, 4096)
	for i, addr := range benchAddrs(table, len(names)) {
		sym, _ := table.Lookup(addr)
		names[i] = sym.Name
	}
	table.Address(names[0]) // the one-off index build is BenchmarkNameIndex
	i := 0
	for b.Loop() {
		if _, ok := table.Address(names[i&4095]); !ok {
			b.Fatalf("Address(%q) not found", names[i&4095])
		}
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "names/s")
}

// BenchmarkNameIndex measures the first Address call, which builds the
// name index.
func BenchmarkNameIndex(b *testing.B) {
	table := loadReal(b)
	b.ReportAllocs()
	for b.Loop() {
		table.byNameOnce = sync.Once{}
		table.byName = nil
		if _, ok := table.Address("schedule"); !ok {
			b.Fatal("schedule not found")
		}
	}
}

// BenchmarkLoad reads and parses /proc/kallsyms. Most of its time is the
// kernel generating the text; BenchmarkParse shows our share.
func BenchmarkLoad(b *testing.B) {
	loadReal(b)
	b.ReportAllocs()
	var table *Table
	for b.Loop() {
		var err error
		if table, err = Load(); err != nil {
			b.Fatal(err)
		}
	}
	// After the loop: b.Loop discards metrics reported before it.
	b.ReportMetric(float64(table.Len()), "symbols")
	b.ReportMetric(float64(table.retainedBytes()), "table-bytes")
}

func BenchmarkParse(b *testing.B) {
	loadReal(b)
	text, err := os.ReadFile(Path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(text)); err != nil {
			b.Fatal(err)
		}
	}
}

// retainedBytes approximates what a Table keeps alive after Load.
func (t *Table) retainedBytes() int {
	n := cap(t.addrs)*8 + cap(t.metas)*8 + cap(t.index)*8 + len(t.names)
	for _, m := range t.modules {
		n += 16 + len(m)
	}
	return n
}
