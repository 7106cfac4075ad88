//go:build linux

package bpfsys

import (
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

// entries turns LookupAll output into key -> value for comparison.
func entries(tb testing.TB, keys, values []byte, n, keySize, stride int) map[string]string {
	tb.Helper()
	if len(keys) != n*keySize || len(values) != n*stride {
		tb.Fatalf("n = %d but %d key bytes and %d value bytes", n, len(keys), len(values))
	}
	out := make(map[string]string, n)
	for i := range n {
		k := string(keys[i*keySize : (i+1)*keySize])
		if _, dup := out[k]; dup {
			tb.Fatalf("key %x returned twice", k)
		}
		out[k] = string(values[i*stride : (i+1)*stride])
	}
	return out
}

func TestLookupAllBatchMatchesNextKey(t *testing.T) {
	cpus, err := PossibleCPUs()
	if err != nil {
		t.Fatal(err)
	}
	const maxEntries = 5000
	for _, tc := range []struct {
		name    string
		mapType uint32
		fill    int
		keySize uint32
	}{
		{"hash", unix.BPF_MAP_TYPE_HASH, 3000, 4},
		{"hash_full", unix.BPF_MAP_TYPE_HASH, maxEntries, 4},
		{"hash_empty", unix.BPF_MAP_TYPE_HASH, 0, 4},
		{"hash_odd_key", unix.BPF_MAP_TYPE_HASH, 1000, 6},
		{"hash_tiny_key", unix.BPF_MAP_TYPE_HASH, 200, 1},
		{"lru_hash", unix.BPF_MAP_TYPE_LRU_HASH, 3000, 4},
		{"percpu_hash", unix.BPF_MAP_TYPE_PERCPU_HASH, 3000, 4},
		{"lru_percpu_hash", unix.BPF_MAP_TYPE_LRU_PERCPU_HASH, 3000, 4},
		{"array", unix.BPF_MAP_TYPE_ARRAY, maxEntries, 4},
		{"percpu_array", unix.BPF_MAP_TYPE_PERCPU_ARRAY, maxEntries, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const valueSize = 12
			fd := newMap(t, tc.mapType, tc.keySize, valueSize, maxEntries, 0)
			perCPU := IsPerCPU(tc.mapType)
			stride := ValueStride(valueSize, perCPU, cpus)
			want := map[string]string{}
			for i := range tc.fill {
				key := make([]byte, tc.keySize)
				for b := range key {
					key[b] = byte(i >> (8 * b))
				}
				value := make([]byte, stride)
				for b := range value {
					value[b] = byte(i*7 + b)
				}
				if err := MapUpdate(fd, key, value, unix.BPF_ANY); err != nil {
					t.Fatalf("update %d: %v", i, err)
				}
				want[string(key)] = string(value)
			}
			if len(want) != tc.fill {
				t.Fatalf("test keys collide: %d distinct of %d", len(want), tc.fill)
			}

			bk, bv, bn, err := LookupAllBatch(fd, int(tc.keySize), valueSize, maxEntries, perCPU, 0)
			if err != nil {
				t.Fatal(err)
			}
			nk, nv, nn, err := LookupAllNextKey(fd, int(tc.keySize), valueSize, maxEntries, perCPU, cpus)
			if err != nil {
				t.Fatal(err)
			}
			ak, av, an, err := LookupAll(fd, int(tc.keySize), valueSize, maxEntries, perCPU, cpus)
			if err != nil {
				t.Fatal(err)
			}
			for name, got := range map[string]map[string]string{
				"batch":    entries(t, bk, bv, bn, int(tc.keySize), stride),
				"next key": entries(t, nk, nv, nn, int(tc.keySize), stride),
				"auto":     entries(t, ak, av, an, int(tc.keySize), stride),
			} {
				if err := sameEntries(got, want); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
		})
	}
}

func sameEntries(got, want map[string]string) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d entries, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			return fmt.Errorf("key %x = %x, want %x", k, got[k], v)
		}
	}
	return nil
}

func TestLookupAllGrowsPastMaxEntries(t *testing.T) {
	fd := newMap(t, unix.BPF_MAP_TYPE_HASH, 4, 8, 1000, 0)
	fillHash(t, fd, 1000)
	// A wrong, small maxEntries must cost allocations, not entries.
	_, _, n, err := LookupAllBatch(fd, 4, 8, 10, false, 0)
	if err != nil || n != 1000 {
		t.Errorf("LookupAllBatch(maxEntries 10) = %d, %v", n, err)
	}
	_, _, n, err = LookupAllNextKey(fd, 4, 8, 10, false, 0)
	if err != nil || n != 1000 {
		t.Errorf("LookupAllNextKey(maxEntries 10) = %d, %v", n, err)
	}
}

func TestLookupAllFallsBackWithoutBatch(t *testing.T) {
	// Stack-trace maps have get_next_key but no batch ops.
	fd := newMap(t, unix.BPF_MAP_TYPE_STACK_TRACE, 4, 8*4, 16, 0)
	if _, _, _, err := LookupAllBatch(fd, 4, 32, 16, false, 0); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("LookupAllBatch on stack trace map: %v, want ErrNotSupported", err)
	}
	_, _, n, err := LookupAll(fd, 4, 32, 16, false, 0)
	if err != nil || n != 0 {
		t.Errorf("LookupAll on empty stack trace map = %d, %v", n, err)
	}
}

func TestDeleteAll(t *testing.T) {
	const n = 100_000
	for _, tc := range []struct {
		name    string
		mapType uint32
		batch   bool
	}{
		{"hash", unix.BPF_MAP_TYPE_HASH, true},
		{"hash_next_key", unix.BPF_MAP_TYPE_HASH, false},
		{"percpu_hash", unix.BPF_MAP_TYPE_PERCPU_HASH, true},
		{"lru_hash", unix.BPF_MAP_TYPE_LRU_HASH, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fd := newMap(t, tc.mapType, 4, 8, n, 0)
			perCPU := IsPerCPU(tc.mapType)
			if perCPU {
				for k := range uint32(n) {
					if err := MapUpdate(fd, u32(k), make([]byte, ValueStride(8, true, mustCPUs(t))), unix.BPF_ANY); err != nil {
						t.Fatal(err)
					}
				}
			} else {
				fillHash(t, fd, n)
			}
			// An LRU map evicts before it is full, so count what is there.
			_, _, present, err := LookupAll(fd, 4, 8, n, perCPU, 0)
			if err != nil || present < n*9/10 {
				t.Fatalf("map holds %d entries, %v", present, err)
			}
			var deleted int
			if tc.batch {
				deleted, err = DeleteAll(fd, 4, 8, perCPU, 0)
			} else {
				deleted, err = deleteAllNextKey(fd, 4)
			}
			if err != nil || deleted != present {
				t.Fatalf("deleted %d, %v; want %d", deleted, err, present)
			}
			if err := MapGetNextKey(fd, nil, make([]byte, 4)); !errors.Is(err, ErrKeyNotExist) {
				t.Errorf("map not empty after DeleteAll: %v", err)
			}
			if again, err := DeleteAll(fd, 4, 8, perCPU, 0); err != nil || again != 0 {
				t.Errorf("DeleteAll on empty map = %d, %v", again, err)
			}
		})
	}
}

func TestDeleteAllOnArrayIsEINVAL(t *testing.T) {
	fd := newMap(t, unix.BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0)
	if _, err := DeleteAll(fd, 4, 8, false, 0); !errors.Is(err, unix.EINVAL) {
		t.Errorf("DeleteAll on array: %v, want EINVAL", err)
	}
}

func mustCPUs(tb testing.TB) int {
	tb.Helper()
	n, err := PossibleCPUs()
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// An fd array's empty slots are listed by get_next_key but refused by
// lookup; the walk must step past them, not retry forever.
func TestLookupAllNextKeySkipsEmptyProgArraySlots(t *testing.T) {
	fd := newMap(t, unix.BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 8, 0)
	_, _, n, err := LookupAllNextKey(fd, 4, 4, 8, false, 1)
	if err != nil || n != 0 {
		t.Errorf("empty prog array: n=%d err=%v", n, err)
	}
}
