//go:build linux

package bpfsys

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/testutil"
)

func TestMapElementOps(t *testing.T) {
	cpus, err := PossibleCPUs()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		mapType   uint32
		deletable bool
	}{
		{"hash", unix.BPF_MAP_TYPE_HASH, true},
		{"lru_hash", unix.BPF_MAP_TYPE_LRU_HASH, true},
		{"percpu_hash", unix.BPF_MAP_TYPE_PERCPU_HASH, true},
		{"array", unix.BPF_MAP_TYPE_ARRAY, false},
		{"percpu_array", unix.BPF_MAP_TYPE_PERCPU_ARRAY, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A 12-byte value checks the per-CPU rounding to 16.
			fd := newMap(t, tc.mapType, 4, 12, 8, 0)
			stride := ValueStride(12, IsPerCPU(tc.mapType), cpus)
			value := make([]byte, stride)
			for i := range value {
				value[i] = byte(i + 1)
			}
			if err := MapUpdate(fd, u32(3), value, unix.BPF_ANY); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, stride)
			if err := MapLookup(fd, u32(3), got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, value) {
				t.Errorf("lookup = %x, want %x", got, value)
			}
			err := MapUpdate(fd, u32(3), value, unix.BPF_NOEXIST)
			if !errors.Is(err, unix.EEXIST) {
				t.Errorf("update NOEXIST on present key: %v, want EEXIST", err)
			}
			if tc.deletable {
				if err := MapDelete(fd, u32(3)); err != nil {
					t.Fatal(err)
				}
				err = MapLookup(fd, u32(3), got)
				if !errors.Is(err, ErrKeyNotExist) || !errors.Is(err, unix.ENOENT) {
					t.Errorf("lookup after delete: %v, want ErrKeyNotExist and ENOENT", err)
				}
				if err != nil && !strings.Contains(err.Error(), "map lookup") {
					t.Errorf("error %q does not name the operation", err)
				}
				if err := MapDelete(fd, u32(3)); !errors.Is(err, ErrKeyNotExist) {
					t.Errorf("second delete: %v, want ErrKeyNotExist", err)
				}
				if err := MapUpdate(fd, u32(4), value, unix.BPF_EXIST); !errors.Is(err, ErrKeyNotExist) {
					t.Errorf("update EXIST on missing key: %v, want ErrKeyNotExist", err)
				}
			} else if err := MapDelete(fd, u32(3)); !errors.Is(err, unix.EINVAL) {
				t.Errorf("delete from array: %v, want EINVAL", err)
			}
			if err := MapLookup(fd, u32(100), got); !errors.Is(err, ErrKeyNotExist) {
				t.Errorf("lookup out of range: %v, want ErrKeyNotExist", err)
			}
		})
	}
}

func TestMapGetNextKeyWalksAllKeys(t *testing.T) {
	fd := newMap(t, unix.BPF_MAP_TYPE_HASH, 4, 8, 64, 0)
	want := map[uint32]bool{}
	for k := uint32(10); k < 50; k++ {
		if err := MapUpdate(fd, u32(k), u64(uint64(k)), unix.BPF_ANY); err != nil {
			t.Fatal(err)
		}
		want[k] = true
	}
	seen := map[uint32]bool{}
	var prev []byte
	for {
		next := make([]byte, 4)
		err := MapGetNextKey(fd, prev, next)
		if errors.Is(err, ErrKeyNotExist) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		k := bytesToU32(next)
		if seen[k] {
			t.Fatalf("key %d seen twice", k)
		}
		seen[k] = true
		prev = next
	}
	if len(seen) != len(want) {
		t.Errorf("walked %d keys, want %d", len(seen), len(want))
	}
	for k := range want {
		if !seen[k] {
			t.Errorf("key %d not walked", k)
		}
	}
}

func TestMapFullHashIsE2BIG(t *testing.T) {
	fd := newMap(t, unix.BPF_MAP_TYPE_HASH, 4, 8, 2, 0)
	for k := range uint32(2) {
		if err := MapUpdate(fd, u32(k), u64(1), unix.BPF_ANY); err != nil {
			t.Fatal(err)
		}
	}
	err := MapUpdate(fd, u32(9), u64(1), unix.BPF_ANY)
	if !errors.Is(err, unix.E2BIG) {
		t.Fatalf("update on full hash: %v, want E2BIG", err)
	}
	var sysErr *SyscallError
	if !errors.As(err, &sysErr) || sysErr.Op != "map update" || sysErr.Errno != unix.E2BIG {
		t.Errorf("errors.As = %#v", sysErr)
	}
	if errors.Is(err, ErrKeyNotExist) || errors.Is(err, ErrNotSupported) {
		t.Errorf("E2BIG also matches a sentinel: %v", err)
	}
}

func TestMapLookupAndDeleteQueue(t *testing.T) {
	fd := newMap(t, unix.BPF_MAP_TYPE_QUEUE, 0, 8, 4, 0)
	for v := uint64(1); v <= 3; v++ {
		if err := MapUpdate(fd, nil, u64(v), unix.BPF_ANY); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]byte, 8)
	for v := uint64(1); v <= 3; v++ {
		if err := MapLookupAndDelete(fd, nil, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, u64(v)) {
			t.Errorf("pop = %x, want %x", got, u64(v))
		}
	}
	if err := MapLookupAndDelete(fd, nil, got); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("pop from empty queue: %v, want ErrKeyNotExist", err)
	}
}

func TestMapLookupAndDeleteHash(t *testing.T) {
	fd := newMap(t, unix.BPF_MAP_TYPE_HASH, 4, 8, 4, 0)
	if err := MapUpdate(fd, u32(1), u64(77), unix.BPF_ANY); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 8)
	if err := MapLookupAndDelete(fd, u32(1), got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, u64(77)) {
		t.Errorf("value = %x", got)
	}
	if err := MapLookup(fd, u32(1), got); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("entry survived lookup-and-delete: %v", err)
	}
}

func TestMapLookupFlagsReachKernel(t *testing.T) {
	fd := newMap(t, unix.BPF_MAP_TYPE_HASH, 4, 8, 4, 0)
	if err := MapUpdate(fd, u32(1), u64(5), unix.BPF_ANY); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 8)
	if err := MapLookupFlags(fd, u32(1), got, 0); err != nil || !bytes.Equal(got, u64(5)) {
		t.Fatalf("MapLookupFlags(0) = %x, %v", got, err)
	}
	// BPF_F_LOCK needs a bpf_spin_lock in the value's BTF; a plain map
	// refuses it, which proves the flag is passed through.
	if err := MapLookupFlags(fd, u32(1), got, unix.BPF_F_LOCK); !errors.Is(err, unix.EINVAL) {
		t.Errorf("BPF_F_LOCK without spin lock: %v, want EINVAL", err)
	}
}

func TestMapCreateAndInfo(t *testing.T) {
	fd := newMap(t, unix.BPF_MAP_TYPE_HASH, 4, 8, 100, unix.BPF_F_NO_PREALLOC)
	requireCloexec(t, fd)
	info, err := MapInfoByFD(fd)
	if err != nil {
		t.Fatal(err)
	}
	want := MapInfo{Type: unix.BPF_MAP_TYPE_HASH, ID: info.ID, KeySize: 4, ValueSize: 8, MaxEntries: 100, Flags: unix.BPF_F_NO_PREALLOC, Name: "gobcc_test"}
	if info != want || info.ID == 0 {
		t.Errorf("MapInfoByFD = %+v, want %+v", info, want)
	}
	ids, err := MapIDs()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, id := range ids {
		found = found || id == info.ID
	}
	if !found {
		t.Errorf("map id %d not in MapIDs() %v", info.ID, ids)
	}
	byID, err := MapGetFDByID(info.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(byID)
	requireCloexec(t, byID)
	again, err := MapInfoByFD(byID)
	if err != nil || again.ID != info.ID {
		t.Errorf("MapGetFDByID opened map %d, %v; want %d", again.ID, err, info.ID)
	}
}

func TestMapCreateNameSanitized(t *testing.T) {
	newMap(t, unix.BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0) // root check
	fd, err := MapCreate(unix.BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0, "my-map:with a very long name")
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	info, err := MapInfoByFD(fd)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "my_map_with_a_v" {
		t.Errorf("name = %q", info.Name)
	}
}

func TestMapCreateFailureLeaksNoFD(t *testing.T) {
	newMap(t, unix.BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0) // root check
	before := openFDs(t)
	for range 10 {
		fd, err := MapCreate(unix.BPF_MAP_TYPE_HASH, 0, 8, 1, 0, "bad")
		if !errors.Is(err, unix.EINVAL) || fd != -1 {
			t.Fatalf("MapCreate(key size 0) = %d, %v; want -1, EINVAL", fd, err)
		}
	}
	if after := openFDs(t); after != before {
		t.Errorf("open fds went from %d to %d", before, after)
	}
}

func TestClosedFDIsEBADF(t *testing.T) {
	testutil.RequireRoot(t) // unprivileged bpf(2) fails with EPERM first
	err := MapLookup(-1, u32(0), make([]byte, 8))
	if !errors.Is(err, unix.EBADF) || errors.Is(err, ErrKeyNotExist) {
		t.Errorf("lookup on fd -1: %v, want EBADF", err)
	}
}
