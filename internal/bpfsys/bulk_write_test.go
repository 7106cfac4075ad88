//go:build linux

package bpfsys

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

func TestUpdateAllCountKeysLookupAndDeleteAll(t *testing.T) {
	const n = 5000 // more than one update chunk
	for _, c := range []struct {
		name    string
		mapType uint32
	}{{"hash", unix.BPF_MAP_TYPE_HASH}, {"lpm trie (no batch update)", unix.BPF_MAP_TYPE_LPM_TRIE}} {
		t.Run(c.name, func(t *testing.T) {
			keySize := 4
			flags := uint32(0)
			if c.mapType == unix.BPF_MAP_TYPE_LPM_TRIE {
				keySize, flags = 8, unix.BPF_F_NO_PREALLOC
			}
			fd := newMap(t, c.mapType, uint32(keySize), 8, n, flags)
			keys := make([]byte, 0, n*keySize)
			vals := make([]byte, 0, n*8)
			for i := range n {
				if keySize == 8 {
					keys = append(keys, u32(32)...) // prefix length
				}
				keys = append(keys, u32(uint32(i))...)
				vals = append(vals, u64(uint64(i)*3)...)
			}
			if err := UpdateAll(fd, keys, keySize, vals, 8, n); err != nil {
				t.Fatal(err)
			}
			if got, err := CountKeys(fd, keySize); err != nil || got != n {
				t.Fatalf("CountKeys = %d, %v; want %d", got, err, n)
			}
			v := make([]byte, 8)
			if err := MapLookup(fd, keys[4321*keySize:4322*keySize], v); err != nil || !bytes.Equal(v, u64(4321*3)) {
				t.Fatalf("entry 4321 = %x, %v", v, err)
			}
			// One value for every key: zeroing.
			if err := UpdateAll(fd, keys, keySize, make([]byte, 8), 8, n); err != nil {
				t.Fatal(err)
			}
			if err := MapLookup(fd, keys[4321*keySize:4322*keySize], v); err != nil || !bytes.Equal(v, u64(0)) {
				t.Fatalf("entry 4321 after zeroing = %x, %v", v, err)
			}
			_, _, got, err := LookupAndDeleteAll(fd, keySize, 8, n, false, 1)
			if c.mapType == unix.BPF_MAP_TYPE_LPM_TRIE {
				// LPM tries have no batch lookup-and-delete.
				if !errors.Is(err, ErrNotSupported) {
					t.Fatalf("LookupAndDeleteAll on an LPM trie: %d, %v", got, err)
				}
				return
			}
			if err != nil || got != n {
				t.Fatalf("LookupAndDeleteAll = %d, %v", got, err)
			}
			if left, err := CountKeys(fd, keySize); err != nil || left != 0 {
				t.Fatalf("%d keys left, %v", left, err)
			}
		})
	}
}

func TestZeroArrayAndDeleteIndexes(t *testing.T) {
	fd := newMap(t, unix.BPF_MAP_TYPE_ARRAY, 4, 8, 5000, 0)
	for _, i := range []uint32{0, 4095, 4096, 4999} {
		if err := MapUpdate(fd, u32(i), u64(7), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := ZeroArray(fd, 5000, 8); err != nil {
		t.Fatal(err)
	}
	_, vals, n, err := LookupAll(fd, 4, 8, 5000, false, 1)
	if err != nil || n != 5000 || !bytes.Equal(vals, make([]byte, 5000*8)) {
		t.Fatalf("after ZeroArray: %d entries, %v, zero %v", n, err, bytes.Equal(vals, make([]byte, 5000*8)))
	}

	prog, _, err := ProgLoad(ProgLoadAttr{Type: unix.BPF_PROG_TYPE_SOCKET_FILTER, Insns: returnZero(), License: "GPL"})
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(prog)
	outer := newMap(t, unix.BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 8, 0)
	if err := MapUpdate(outer, u32(2), u32(uint32(prog)), 0); err != nil {
		t.Fatal(err)
	}
	if _, _, n, err := LookupAllNextKey(outer, 4, 4, 8, false, 1); err != nil || n != 1 {
		t.Fatalf("prog array holds %d programs, %v", n, err)
	}
	if err := DeleteIndexes(outer, 8, false); err != nil {
		t.Fatal(err)
	}
	if err := MapLookup(outer, u32(2), make([]byte, 4)); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("slot 2 after DeleteIndexes: %v", err)
	}
}

// TestZeroKeysSkipsDeletedKeys: a key deleted after it was read is not
// re-inserted, even when the hash has meanwhile filled up again (where an
// insert would fail with E2BIG), and the keys after it are still zeroed,
// through the batch path and the per-key fallback (an LPM trie).
func TestZeroKeysSkipsDeletedKeys(t *testing.T) {
	for _, c := range []struct {
		name    string
		mapType uint32
	}{{"hash", unix.BPF_MAP_TYPE_HASH}, {"lpm trie (no batch update)", unix.BPF_MAP_TYPE_LPM_TRIE}} {
		t.Run(c.name, func(t *testing.T) {
			keySize, flags := 4, uint32(0)
			if c.mapType == unix.BPF_MAP_TYPE_LPM_TRIE {
				keySize, flags = 8, unix.BPF_F_NO_PREALLOC
			}
			key := func(i uint32) []byte {
				if keySize == 8 {
					return append(u32(32), u32(i)...)
				}
				return u32(i)
			}
			const n = 4
			fd := newMap(t, c.mapType, uint32(keySize), 8, n, flags)
			var keys []byte
			for i := range uint32(n) {
				keys = append(keys, key(i)...)
				if err := MapUpdate(fd, key(i), u64(uint64(i)+100), unix.BPF_ANY); err != nil {
					t.Fatal(err)
				}
			}
			// Key 1 goes, key 9 takes its place: the map is full again.
			if err := MapDelete(fd, key(1)); err != nil {
				t.Fatal(err)
			}
			if err := MapUpdate(fd, key(9), u64(109), unix.BPF_ANY); err != nil {
				t.Fatal(err)
			}
			if err := ZeroKeys(fd, keys, keySize, 8, n); err != nil {
				t.Fatalf("ZeroKeys with a deleted key in a full map: %v", err)
			}
			v := make([]byte, 8)
			for _, i := range []uint32{0, 2, 3} {
				if err := MapLookup(fd, key(i), v); err != nil || !bytes.Equal(v, u64(0)) {
					t.Errorf("key %d after ZeroKeys = %x, %v; want 0", i, v, err)
				}
			}
			if err := MapLookup(fd, key(1), v); !errors.Is(err, ErrKeyNotExist) {
				t.Errorf("deleted key 1 after ZeroKeys: %x, %v; want ErrKeyNotExist", v, err)
			}
			if err := MapLookup(fd, key(9), v); err != nil || !bytes.Equal(v, u64(109)) {
				t.Errorf("key 9 (not in the list) after ZeroKeys = %x, %v; want 109", v, err)
			}
		})
	}
}
