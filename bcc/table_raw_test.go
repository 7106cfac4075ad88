package bcc

import (
	"encoding/binary"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

func TestReadRawMatchesItems(t *testing.T) {
	testutil.RequireRoot(t)
	b, err := New(Options{Text: `
BPF_HASH(h, u64, u32, 2048);
BPF_PERCPU_HASH(pc, u32, u64, 64);
BPF_PROG_ARRAY(progs, 4);
`, NoAutoAttach: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h, pc, progs := mustTable(t, b, "h"), mustTable(t, b, "pc"), mustTable(t, b, "progs")
	var keys, vals []any
	for i := range 1500 {
		keys, vals = append(keys, uint64(i)*977), append(vals, uint32(i+1))
	}
	if err := h.ItemsUpdateBatch(keys, vals); err != nil {
		t.Fatal(err)
	}
	var raw RawEntries
	for round := range 2 {
		if err := h.ReadRaw(&raw); err != nil {
			t.Fatal(err)
		}
		if raw.N != 1500 || raw.KeySize != 8 || raw.LeafSize != 4 || raw.Stride != 4 || raw.CPUs != 1 {
			t.Fatalf("round %d: N %d KeySize %d LeafSize %d Stride %d CPUs %d", round, raw.N, raw.KeySize, raw.LeafSize, raw.Stride, raw.CPUs)
		}
		for i := range raw.N {
			k := binary.NativeEndian.Uint64(raw.Key(i))
			v := binary.NativeEndian.Uint32(raw.Value(i))
			if k%977 != 0 || uint64(v) != k/977+1 {
				t.Fatalf("round %d: entry %d: key %d value %d", round, i, k, v)
			}
		}
	}
	first := &raw.Keys[0]
	if allocs := testing.AllocsPerRun(3, func() { _ = h.ReadRaw(&raw) }); allocs > 6 {
		t.Errorf("ReadRaw of an unchanged 1500-entry table: %v allocations", allocs)
	}
	if &raw.Keys[0] != first {
		t.Error("ReadRaw reallocated its buffers for a table of the same size")
	}

	// Per-CPU: every CPU's value, 8-byte aligned, as Items' PerCPU.
	if err := pc.Update(uint32(7), uint64(0)); err != nil {
		t.Fatal(err)
	}
	var prc RawEntries
	if err := pc.ReadRaw(&prc); err != nil {
		t.Fatal(err)
	}
	items, err := pc.Items()
	if err != nil {
		t.Fatal(err)
	}
	if prc.N != 1 || len(items) != 1 || prc.CPUs != len(items[0].PerCPU) || prc.Stride != 8*prc.CPUs {
		t.Fatalf("per-CPU: N %d CPUs %d Stride %d; Items %d entries", prc.N, prc.CPUs, prc.Stride, len(items))
	}

	// A handle array: empty slots are left out, as Items leaves them.
	var pr RawEntries
	if err := progs.ReadRaw(&pr); err != nil {
		t.Fatal(err)
	}
	if pr.N != 0 {
		t.Errorf("empty prog array: %d raw entries", pr.N)
	}
}
