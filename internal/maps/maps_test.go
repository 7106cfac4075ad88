package maps

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/testutil"
)

const (
	descU32 = `"unsigned int"`
	descU64 = `"unsigned long long"`
)

// newMap creates a kernel map wrapped as libbcc's tables are, closed at
// the end of the test.
func newMap(tb testing.TB, typ Type, keyDesc string, keySize int, leafDesc string, leafSize, maxEntries int) *Map {
	tb.Helper()
	testutil.RequirePrivileges(tb)
	fd, err := bpfsys.MapCreate(uint32(typ), uint32(keySize), uint32(leafSize), uint32(maxEntries), 0, "gobcc_test")
	if err != nil {
		tb.Fatalf("MapCreate(%s): %v", typ, err)
	}
	ncpu, err := bpfsys.PossibleCPUs()
	if err != nil {
		tb.Fatal(err)
	}
	m := New(Spec{Name: "t", Type: typ, FD: fd, MaxEntries: maxEntries, KeySize: keySize, LeafSize: leafSize,
		KeyDesc: keyDesc, LeafDesc: leafDesc, PossibleCPUs: ncpu})
	tb.Cleanup(m.Close)
	return m
}

func TestTypePredicates(t *testing.T) {
	for _, c := range []struct {
		typ                    Type
		perCPU, array, handles bool
		name                   string
	}{
		{Hash, false, false, false, "hash"},
		{PercpuArray, true, true, false, "percpu_array"},
		{ProgArray, false, true, true, "prog_array"},
		{HashOfMaps, false, false, true, "hash_of_maps"},
		{Type(99), false, false, false, "map_type(99)"},
	} {
		if c.typ.PerCPU() != c.perCPU || c.typ.IsArray() != c.array || c.typ.HoldsHandles() != c.handles || c.typ.String() != c.name {
			t.Errorf("%d: PerCPU %v IsArray %v HoldsHandles %v String %q, want %v %v %v %q", int(c.typ),
				c.typ.PerCPU(), c.typ.IsArray(), c.typ.HoldsHandles(), c.typ.String(), c.perCPU, c.array, c.handles, c.name)
		}
	}
}

// TestEncodeKey needs no kernel: keys are encoded before any syscall.
func TestEncodeKey(t *testing.T) {
	m := New(Spec{Name: "a", Type: Array, FD: -1, MaxEntries: 4, KeySize: 4, LeafSize: 8, KeyDesc: descU32, LeafDesc: descU64})
	k, err := m.EncodeKey(-1)
	if err != nil || len(k) != 4 || k[0] != 3 {
		t.Errorf("EncodeKey(-1) = %v, %v; want index 3", k, err)
	}
	if _, err := m.EncodeKey(4); !errors.Is(err, bpfsys.ErrKeyNotExist) {
		t.Errorf("EncodeKey(4) on 4 entries: %v, want ErrKeyNotExist", err)
	}
	if _, err := m.EncodeKey("x"); !errors.Is(err, ErrTypeMismatch) {
		t.Errorf("EncodeKey(string) for a u32: %v, want ErrTypeMismatch", err)
	}
	if _, err := m.Lookup(1); !errors.Is(err, ErrClosed) {
		t.Errorf("Lookup on a closed map: %v, want ErrClosed", err)
	}
	raw := New(Spec{Name: "r", Type: Hash, FD: -1, KeySize: 3, LeafSize: 1, KeyDesc: "not json"})
	if raw.Key().Size != 3 || raw.Key().IsInteger() {
		t.Errorf("unreadable description gave %v, want 3 opaque bytes", raw.Key())
	}
}

func TestHashOps(t *testing.T) {
	m := newMap(t, Hash, descU32, 4, descU64, 8, 1000)
	for i := range 600 {
		if err := m.Update(i, uint64(i*10)); err != nil {
			t.Fatal(err)
		}
	}
	v, err := m.LookupValue(7)
	if err != nil || v.Uint64() != 70 {
		t.Fatalf("Lookup(7) = %v, %v", v, err)
	}
	if _, err := m.LookupPerCPU(7); !errors.Is(err, ErrWrongTableType) {
		t.Errorf("LookupPerCPU on a hash: %v", err)
	}
	if n, err := m.Len(); n != 600 || err != nil {
		t.Errorf("Len = %d, %v", n, err)
	}
	c, err := m.ReadAll()
	if err != nil || c.N != 600 {
		t.Fatalf("ReadAll: %d, %v", c.N, err)
	}
	entries, err := DecodeAll(m, c, func(e Entry) Entry { return e })
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Value.Uint64() != e.Key.Uint64()*10 {
			t.Fatalf("entry %v: %v", e.Key, e.Value)
		}
	}
	seen, chunks := 0, 0
	for c, err := range m.Chunks() {
		if err != nil {
			t.Fatal(err)
		}
		seen += c.N
		chunks++
	}
	if seen != 600 || chunks < 3 {
		t.Errorf("Chunks: %d entries in %d chunks, want 600 in at least 3", seen, chunks)
	}
	if err := m.Delete(7); err != nil {
		t.Fatal(err)
	}
	if _, err := m.LookupValue(7); !errors.Is(err, bpfsys.ErrKeyNotExist) {
		t.Errorf("Lookup after Delete: %v", err)
	}
	if err := m.Zero(); err != nil {
		t.Fatal(err)
	}
	if v, err := m.LookupValue(8); err != nil || v.Uint64() != 0 {
		t.Errorf("after Zero: %v, %v", v, err)
	}
	if err := m.Clear(); err != nil {
		t.Fatal(err)
	}
	if n, _ := m.Len(); n != 0 {
		t.Errorf("Len after Clear = %d", n)
	}
}

func TestBatch(t *testing.T) {
	m := newMap(t, Hash, descU32, 4, descU64, 8, 16)
	if err := m.UpdateBatch([]any{1, 2, 3}, []any{10, 20, 30}); err != nil {
		t.Fatal(err)
	}
	if err := m.UpdateBatch([]any{1}, []any{1, 2}); !errors.Is(err, ErrBatchSize) {
		t.Errorf("mismatched lists: %v", err)
	}
	if err := m.DeleteBatch([]any{2}); err != nil {
		t.Fatal(err)
	}
	c, err := m.LookupAndDeleteBatch()
	if err != nil || c.N != 2 {
		t.Fatalf("LookupAndDeleteBatch: %d, %v", c.N, err)
	}
	a := newMap(t, Array, descU32, 4, descU64, 8, 4)
	if _, err := a.LookupAndDeleteBatch(); !errors.Is(err, ErrWrongTableType) {
		t.Errorf("LookupAndDeleteBatch on an array: %v", err)
	}
}

func TestPerCPU(t *testing.T) {
	m := newMap(t, PercpuArray, descU32, 4, descU64, 8, 2)
	if err := m.Update(1, 5); err != nil {
		t.Fatal(err)
	}
	sum, err := m.Sum(1)
	if err != nil || sum.Uint64() != uint64(5*m.PossibleCPUs()) {
		t.Errorf("Sum = %v, %v; want 5 per CPU over %d", sum, err, m.PossibleCPUs())
	}
	if max, err := m.Max(1); err != nil || max.Uint64() != 5 {
		t.Errorf("Max = %v, %v", max, err)
	}
	if _, err := m.LookupValue(1); !errors.Is(err, ErrWrongTableType) {
		t.Errorf("LookupValue on per-CPU: %v", err)
	}
}

func TestQueue(t *testing.T) {
	m := newMap(t, Queue, "", 0, descU64, 8, 3)
	for i := range 3 {
		if err := m.Push(uint64(i), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Push(uint64(9), 0); !errors.Is(err, unix.E2BIG) {
		t.Errorf("Push on a full queue: %v, want E2BIG", err)
	}
	if v, err := m.Peek(); err != nil || v.Uint64() != 0 {
		t.Errorf("Peek = %v, %v", v, err)
	}
	vals, err := m.PopAll()
	if err != nil || len(vals) != 3 || vals[2].Uint64() != 2 {
		t.Errorf("PopAll = %v, %v", vals, err)
	}
	if _, err := m.Lookup(0); !errors.Is(err, ErrWrongTableType) {
		t.Errorf("Lookup on a queue: %v", err)
	}
}

func TestFixed(t *testing.T) {
	m := newMap(t, Hash, descU32, 4, descU64, 8, 8)
	if _, err := NewFixed[uint64, uint64](m); !errors.Is(err, ErrTypeMismatch) {
		t.Errorf("8-byte Go key for a 4-byte C key: %v", err)
	}
	f, err := NewFixed[uint32, uint64](m)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Update(3, 33); err != nil {
		t.Fatal(err)
	}
	if v, err := f.Lookup(3); v != 33 || err != nil {
		t.Errorf("Lookup = %d, %v", v, err)
	}
	keys, vals, err := f.Items()
	if err != nil || len(keys) != 1 || keys[0] != 3 || vals[0] != 33 {
		t.Errorf("Items = %v %v %v", keys, vals, err)
	}
}

// TestStackRefusals checks the stack-trace rules before any lookup.
func TestStackRefusals(t *testing.T) {
	m := newMap(t, Hash, descU32, 4, descU64, 8, 8)
	if _, err := m.Walk(1); !errors.Is(err, ErrWrongTableType) {
		t.Errorf("Walk on a hash: %v", err)
	}
	s := New(Spec{Name: "s", Type: StackTrace, FD: -1, KeySize: 4, LeafSize: 127 * 8})
	if _, err := s.WalkBuildID(1); !errors.Is(err, ErrWrongTableType) {
		t.Errorf("WalkBuildID on an address stack map: %v", err)
	}
}

// TestCloseWaitsForHold: Close must not close a descriptor another map is
// being given (maps of maps) until the holder releases it.
func TestCloseWaitsForHold(t *testing.T) {
	m := newMap(t, Hash, descU32, 4, descU64, 8, 8)
	fd, release, err := m.Hold()
	if err != nil || fd < 0 {
		t.Fatalf("Hold: %d, %v", fd, err)
	}
	closed := make(chan struct{})
	go func() {
		m.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while the descriptor was held")
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		t.Errorf("held descriptor closed: %v", err)
	}
	release()
	<-closed
	if _, _, err := m.Hold(); !errors.Is(err, ErrClosed) {
		t.Errorf("Hold after Close: %v", err)
	}
}
