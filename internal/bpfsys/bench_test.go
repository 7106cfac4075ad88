//go:build linux

package bpfsys

import (
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

// benchHash returns a hash map holding n u32 -> u64 entries.
func benchHash(b *testing.B, n int) int {
	b.Helper()
	fd := newMap(b, unix.BPF_MAP_TYPE_HASH, 4, 8, uint32(n), 0)
	fillHash(b, fd, n)
	return fd
}

// reportEntries adds an entries/s metric for n entries handled per op.
func reportEntries(b *testing.B, n int) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(n)*float64(b.N)/s, "entries/s")
	}
}

func BenchmarkLookupAll(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		fd := benchHash(b, n)
		for _, mode := range []struct {
			name string
			fn   func(fd, keySize, valueSize, maxEntries int, perCPU bool, cpus int) ([]byte, []byte, int, error)
		}{{"batch", LookupAllBatch}, {"nextkey", LookupAllNextKey}} {
			b.Run(fmt.Sprintf("%s/%dk", mode.name, n/1000), func(b *testing.B) {
				for b.Loop() {
					_, _, got, err := mode.fn(fd, 4, 8, n, false, 0)
					if err != nil || got != n {
						b.Fatalf("%d entries, %v", got, err)
					}
				}
				reportEntries(b, n)
			})
		}
	}
}

func BenchmarkDeleteAll(b *testing.B) {
	const n = 100_000
	for _, mode := range []struct {
		name string
		fn   func(fd int) (int, error)
	}{
		{"batch", func(fd int) (int, error) { return DeleteAll(fd, 4, 8, false, 0) }},
		{"nextkey", func(fd int) (int, error) { return deleteAllNextKey(fd, 4) }},
	} {
		b.Run(fmt.Sprintf("%s/%dk", mode.name, n/1000), func(b *testing.B) {
			fd := newMap(b, unix.BPF_MAP_TYPE_HASH, 4, 8, n, 0)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				fillHash(b, fd, n)
				b.StartTimer()
				got, err := mode.fn(fd)
				if err != nil || got != n {
					b.Fatalf("deleted %d, %v", got, err)
				}
			}
			reportEntries(b, n)
		})
	}
}

func BenchmarkMapLookup(b *testing.B) {
	fd := benchHash(b, 1000)
	key, value := u32(7), make([]byte, 8)
	b.ReportAllocs()
	for b.Loop() {
		if err := MapLookup(fd, key, value); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMapLookupMissing(b *testing.B) {
	fd := benchHash(b, 1000)
	key, value := u32(5000), make([]byte, 8)
	b.ReportAllocs()
	for b.Loop() {
		if err := MapLookup(fd, key, value); err == nil {
			b.Fatal("missing key found")
		}
	}
}

// BenchmarkSyscallBaseline measures the cheapest syscall, the floor under
// every per-entry number above on the machine at hand.
func BenchmarkSyscallBaseline(b *testing.B) {
	for b.Loop() {
		unix.Getppid()
	}
}
