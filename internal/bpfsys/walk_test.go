//go:build linux

package bpfsys

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

func TestWalkerSeesEveryEntryOnce(t *testing.T) {
	const n = 1000
	fd := newMap(t, unix.BPF_MAP_TYPE_HASH, 4, 8, n, 0)
	for i := range n {
		if err := MapUpdate(fd, u32(uint32(i)), u64(uint64(i)+1), 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, nextKeyOnly := range []bool{false, true} {
		w, err := NewWalker(4, 8, false, 1, 64, nextKeyOnly)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[uint32]bool{}
		calls := 0
		for {
			keys, vals, got, err := w.Next(fd)
			if err != nil {
				t.Fatal(err)
			}
			if got == 0 {
				break
			}
			calls++
			if got > 64 {
				t.Errorf("chunk of %d entries, want at most 64", got)
			}
			for i := range got {
				k := binary.NativeEndian.Uint32(keys[4*i:])
				if v := binary.NativeEndian.Uint64(vals[8*i:]); v != uint64(k)+1 || seen[k] {
					t.Errorf("key %d: value %d, seen before %v", k, v, seen[k])
				}
				seen[k] = true
			}
		}
		if len(seen) != n || calls < n/64 {
			t.Errorf("nextKeyOnly %v: %d keys in %d calls", nextKeyOnly, len(seen), calls)
		}
		if _, _, got, err := w.Next(fd); got != 0 || err != nil {
			t.Errorf("Next after the end: %d, %v", got, err)
		}
	}
}

func TestWalkerStepsOverEmptyHandleSlots(t *testing.T) {
	prog, _, err := ProgLoad(ProgLoadAttr{Type: unix.BPF_PROG_TYPE_SOCKET_FILTER, Insns: returnZero(), License: "GPL"})
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(prog)
	fd := newMap(t, unix.BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 8, 0)
	for _, i := range []uint32{1, 6} {
		if err := MapUpdate(fd, u32(i), u32(uint32(prog)), 0); err != nil {
			t.Fatal(err)
		}
	}
	w, err := NewWalker(4, 4, false, 1, 3, true)
	if err != nil {
		t.Fatal(err)
	}
	var keys []uint32
	for {
		kb, _, got, err := w.Next(fd)
		if err != nil {
			t.Fatal(err)
		}
		if got == 0 {
			break
		}
		for i := range got {
			keys = append(keys, binary.NativeEndian.Uint32(kb[4*i:]))
		}
	}
	if len(keys) != 2 || keys[0] != 1 || keys[1] != 6 {
		t.Errorf("keys %v, want [1 6]", keys)
	}
}
