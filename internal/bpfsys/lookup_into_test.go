//go:build linux

package bpfsys

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestLookupAllIntoReusesBuffers(t *testing.T) {
	cpus, err := PossibleCPUs()
	if err != nil {
		t.Fatal(err)
	}
	const maxEntries = 4000
	for _, tc := range []struct {
		name        string
		mapType     uint32
		fill        int
		nextKeyOnly bool
	}{
		{"hash", unix.BPF_MAP_TYPE_HASH, 3000, false},
		{"hash_next_key", unix.BPF_MAP_TYPE_HASH, 3000, true},
		{"hash_empty", unix.BPF_MAP_TYPE_HASH, 0, false},
		{"percpu_hash", unix.BPF_MAP_TYPE_PERCPU_HASH, 2000, false},
		{"percpu_hash_next_key", unix.BPF_MAP_TYPE_PERCPU_HASH, 2000, true},
		{"array", unix.BPF_MAP_TYPE_ARRAY, maxEntries, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const valueSize = 12
			ks := 8
			if tc.mapType == unix.BPF_MAP_TYPE_ARRAY {
				ks = 4
			}
			fd := newMap(t, tc.mapType, uint32(ks), valueSize, maxEntries, 0)
			perCPU := IsPerCPU(tc.mapType)
			stride := ValueStride(valueSize, perCPU, cpus)
			want := map[string]string{}
			for i := range tc.fill {
				key := u64(uint64(i) * 0x10001)
				if tc.mapType == unix.BPF_MAP_TYPE_ARRAY {
					key = u32(uint32(i))
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

			// From nil buffers, which grow as needed.
			keys, values, n, err := LookupAllInto(fd, ks, valueSize, perCPU, 0, tc.nextKeyOnly, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := sameEntries(entries(t, keys[:n*ks], values[:n*stride], n, ks, stride), want); err != nil {
				t.Fatalf("first read: %v", err)
			}
			// Again into the same buffers: no allocation, same entries.
			// Scribble over them first so stale bytes would show.
			for i := range keys {
				keys[i] = 0xee
			}
			first := &keys[0]
			allocs := testing.AllocsPerRun(3, func() {
				keys, values, n, err = LookupAllInto(fd, ks, valueSize, perCPU, cpus, tc.nextKeyOnly, keys, values)
			})
			if err != nil {
				t.Fatal(err)
			}
			if &keys[0] != first {
				t.Error("a second read of an unchanged map reallocated the key buffer")
			}
			// A few, whatever the map's size: the end-of-map error the
			// syscall layer builds, and the key walk's cursor.
			if allocs > 4 {
				t.Errorf("%v allocations per read of an unchanged map of %d entries, want at most 4", allocs, tc.fill)
			}
			if err := sameEntries(entries(t, keys[:n*ks], values[:n*stride], n, ks, stride), want); err != nil {
				t.Fatalf("second read: %v", err)
			}
		})
	}
}
