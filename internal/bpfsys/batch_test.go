//go:build linux

package bpfsys

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// fillHash stores keys 0..n-1 with value key*3 through MapUpdateBatch.
func fillHash(tb testing.TB, fd int, n int) {
	tb.Helper()
	keys := make([]byte, 0, n*4)
	values := make([]byte, 0, n*8)
	for k := range n {
		keys = append(keys, u32(uint32(k))...)
		values = append(values, u64(uint64(k)*3)...)
	}
	got, err := MapUpdateBatch(fd, keys, values, uint32(n), unix.BPF_ANY)
	if err != nil || int(got) != n {
		tb.Fatalf("MapUpdateBatch = %d, %v; want %d", got, err, n)
	}
}

func TestMapBatchRoundTrip(t *testing.T) {
	const n = 1000
	fd := newMap(t, unix.BPF_MAP_TYPE_HASH, 4, 8, n, 0)
	fillHash(t, fd, n)

	// Small chunks force many resumptions from the batch token.
	const chunk = 64
	keys := make([]byte, chunk*4)
	values := make([]byte, chunk*8)
	in, out := []byte(nil), make([]byte, BatchTokenSize(4))
	spare := make([]byte, BatchTokenSize(4))
	seen := map[uint32]uint64{}
	calls := 0
	for {
		got, err := MapLookupBatch(fd, in, out, keys, values, chunk, 0)
		calls++
		for i := range int(got) {
			k := bytesToU32(keys[i*4:])
			seen[k] = bytesToU64(values[i*8:])
		}
		if errors.Is(err, ErrKeyNotExist) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if in == nil {
			in = spare
		}
		in, out = out, in
	}
	if len(seen) != n || calls < n/chunk {
		t.Fatalf("batch lookup saw %d entries in %d calls, want %d in at least %d", len(seen), calls, n, n/chunk)
	}
	for k, v := range seen {
		if v != uint64(k)*3 {
			t.Errorf("key %d = %d", k, v)
		}
	}

	// Delete the even keys; a missing key stops the batch at its index.
	var del []byte
	for k := uint32(0); k < n; k += 2 {
		del = append(del, u32(k)...)
	}
	got, err := MapDeleteBatch(fd, del, n/2, 0)
	if err != nil || got != n/2 {
		t.Fatalf("MapDeleteBatch = %d, %v", got, err)
	}
	retry := append(u32(1), u32(0)...) // 1 exists, 0 is gone
	got, err = MapDeleteBatch(fd, retry, 2, 0)
	if !errors.Is(err, ErrKeyNotExist) || got != 1 {
		t.Errorf("MapDeleteBatch with missing key = %d, %v; want 1, ErrKeyNotExist", got, err)
	}
	_, _, left, err := LookupAll(fd, 4, 8, n, false, 0)
	if err != nil || left != n/2-1 {
		t.Errorf("%d entries left, %v; want %d", left, err, n/2-1)
	}
}

func TestMapLookupAndDeleteBatchEmpties(t *testing.T) {
	const n = 300
	fd := newMap(t, unix.BPF_MAP_TYPE_HASH, 4, 8, n, 0)
	fillHash(t, fd, n)
	keys := make([]byte, n*4)
	values := make([]byte, n*8)
	got, err := MapLookupAndDeleteBatch(fd, nil, make([]byte, 4), keys, values, n+1, 0)
	if !errors.Is(err, ErrKeyNotExist) || got != n {
		t.Fatalf("MapLookupAndDeleteBatch = %d, %v; want %d and the end signal", got, err, n)
	}
	if err := MapGetNextKey(fd, nil, make([]byte, 4)); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("map not empty: %v", err)
	}
	for i := range n {
		if bytesToU64(values[i*8:]) != uint64(bytesToU32(keys[i*4:]))*3 {
			t.Fatalf("entry %d: key %x value %x", i, keys[i*4:i*4+4], values[i*8:i*8+8])
		}
	}
}

func TestBatchSupported(t *testing.T) {
	newMap(t, unix.BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0) // root check
	for _, typ := range []uint32{unix.BPF_MAP_TYPE_HASH, unix.BPF_MAP_TYPE_PERCPU_HASH, unix.BPF_MAP_TYPE_LRU_HASH, unix.BPF_MAP_TYPE_ARRAY, unix.BPF_MAP_TYPE_PERCPU_ARRAY} {
		if err := BatchSupported(typ); err != nil {
			t.Errorf("BatchSupported(%d) = %v", typ, err)
		}
	}
	// Queues have no keys to batch over.
	for range 2 {
		err := BatchSupported(unix.BPF_MAP_TYPE_QUEUE)
		if !errors.Is(err, ErrNotSupported) {
			t.Errorf("BatchSupported(queue) = %v, want ErrNotSupported", err)
		}
	}
	if err := BatchSupported(1000); !errors.Is(err, ErrNotSupported) {
		t.Errorf("BatchSupported(1000) = %v, want ErrNotSupported", err)
	}
}

func TestBatchOnQueueIsNotSupported(t *testing.T) {
	fd := newMap(t, unix.BPF_MAP_TYPE_QUEUE, 0, 8, 4, 0)
	n, err := MapLookupBatch(fd, nil, make([]byte, 4), make([]byte, 8), make([]byte, 8), 1, 0)
	if !errors.Is(err, ErrNotSupported) || n != 0 {
		t.Errorf("batch lookup on a queue: %d, %v; want 0, ErrNotSupported", n, err)
	}
	if !bytes.Contains([]byte(err.Error()), []byte("ENOTSUPP")) {
		t.Errorf("error %q does not name the errno", err)
	}
}

func bytesToU32(b []byte) uint32 { return binary.NativeEndian.Uint32(b) }
func bytesToU64(b []byte) uint64 { return binary.NativeEndian.Uint64(b) }
