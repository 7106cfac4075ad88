package maps

import (
	"encoding/binary"
	"testing"
)

// BenchmarkDecodeAll measures the per-entry cost Items adds to the kernel's
// batch read: decoding a u32 key and a u64 value into caller-made items.
func BenchmarkDecodeAll(b *testing.B) {
	const n = 100_000
	m := New(Spec{Name: "b", Type: Hash, FD: -1, MaxEntries: n, KeySize: 4, LeafSize: 8, KeyDesc: descU32, LeafDesc: descU64})
	c := Chunk{Keys: make([]byte, n*4), Values: make([]byte, n*8), N: n}
	for i := range n {
		binary.NativeEndian.PutUint32(c.Keys[i*4:], uint32(i))
		binary.NativeEndian.PutUint64(c.Values[i*8:], uint64(i))
	}
	type item struct{ e Entry }
	for b.Loop() {
		items, err := DecodeAll(m, c, func(e Entry) item { return item{e} })
		if err != nil || len(items) != n {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/entry")
}
