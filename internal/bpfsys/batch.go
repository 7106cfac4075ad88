//go:build linux

package bpfsys

import (
	"errors"
	"fmt"
	"structs"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapBatchAttr is the BPF_MAP_*_BATCH part of union bpf_attr.
type mapBatchAttr struct {
	_         structs.HostLayout
	inBatch   pointer
	outBatch  pointer
	keys      pointer
	values    pointer
	count     uint32
	mapFD     uint32
	elemFlags uint64
	flags     uint64
}

// mapBatch runs one batch command and returns how many entries the kernel
// processed, which is meaningful on error too.
func mapBatch(cmd uintptr, op string, fd int, inBatch, outBatch, keys, values []byte, count uint32, elemFlags uint64) (uint32, error) {
	attr := mapBatchAttr{
		inBatch:   ptrTo(inBatch),
		outBatch:  ptrTo(outBatch),
		keys:      ptrTo(keys),
		values:    ptrTo(values),
		count:     count,
		mapFD:     uint32(fd),
		elemFlags: elemFlags,
	}
	_, errno := bpf(cmd, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	switch {
	case errno == 0:
		return attr.count, nil
	case errno != unix.ENOENT && attr.count == count:
		// Refusals before any entry is touched (unknown command, map type
		// without the op, bad flags) leave count as we sent it, while an
		// element that fails mid-batch always leaves fewer than count done.
		// Only the end-of-map ENOENT may legitimately report all of count.
		return 0, newMapError(op, errno)
	default:
		return attr.count, newMapError(op, errno)
	}
}

// BatchTokenSize is the size inBatch and outBatch buffers need for a map
// with keySize-byte keys: hash maps use a 4-byte bucket cursor, other maps
// the last key.
func BatchTokenSize(keySize int) int { return max(keySize, 4) }

// MapLookupBatch copies up to count entries into keys and values, starting
// after the position in inBatch (nil: from the beginning) and writing the
// position to resume from into outBatch; both need BatchTokenSize bytes and
// should be two buffers swapped between calls. keys needs count*key_size
// bytes and values count*ValueStride bytes. flags is BPF_F_LOCK or 0.
//
// n is the number of entries copied, and counts even when err is not nil
// (it is 0 when the kernel refused the call before touching any entry).
// When the map holds no entries past this call, err matches ErrKeyNotExist
// and the n entries copied are still valid: a caller loops, feeding outBatch
// back as inBatch, until it sees ErrKeyNotExist, and processes n every time.
// unix.ENOSPC with n == 0 means count is smaller than one hash bucket. Map
// types without batch support return an error matching ErrNotSupported
// (kernels before 5.6 return unix.EINVAL instead).
func MapLookupBatch(fd int, inBatch, outBatch, keys, values []byte, count uint32, flags uint64) (n uint32, err error) {
	return mapBatch(unix.BPF_MAP_LOOKUP_BATCH, "map lookup batch", fd, inBatch, outBatch, keys, values, count, flags)
}

// MapLookupAndDeleteBatch is MapLookupBatch that also removes the entries it
// returns. Hash maps support it; arrays do not.
func MapLookupAndDeleteBatch(fd int, inBatch, outBatch, keys, values []byte, count uint32, flags uint64) (n uint32, err error) {
	return mapBatch(unix.BPF_MAP_LOOKUP_AND_DELETE_BATCH, "map lookup and delete batch", fd, inBatch, outBatch, keys, values, count, flags)
}

// MapUpdateBatch stores count entries from keys and values with flags
// (BPF_ANY, BPF_NOEXIST, BPF_EXIST, optionally BPF_F_LOCK). It stops at the
// first entry the kernel refuses; n says how many were stored before it.
func MapUpdateBatch(fd int, keys, values []byte, count uint32, flags uint64) (n uint32, err error) {
	return mapBatch(unix.BPF_MAP_UPDATE_BATCH, "map update batch", fd, nil, nil, keys, values, count, flags)
}

// MapDeleteBatch removes count keys. It stops at the first key it cannot
// remove; n says how many were removed before it, and a missing key gives an
// error matching ErrKeyNotExist, so keys[n*key_size:] starts with the
// culprit.
func MapDeleteBatch(fd int, keys []byte, count uint32, flags uint64) (n uint32, err error) {
	return mapBatch(unix.BPF_MAP_DELETE_BATCH, "map delete batch", fd, nil, nil, keys, nil, count, flags)
}

// batchProbes caches BatchSupported per map type; map types are small
// consecutive numbers, so an array indexed by type needs no lock.
var batchProbes [64]struct {
	once sync.Once
	err  error
}

// BatchSupported reports whether the kernel implements batch lookup for
// maps of mapType: nil if so, an error matching ErrNotSupported if not, or
// another error when the probe itself could not run (for example unix.EPERM
// without privileges). It creates a one-entry map of that type once per type
// and process and remembers the answer.
func BatchSupported(mapType uint32) error {
	if int(mapType) >= len(batchProbes) {
		return probeBatch(mapType)
	}
	p := &batchProbes[mapType]
	p.once.Do(func() { p.err = probeBatch(mapType) })
	return p.err
}

// probeBatch creates a small map of mapType and tries a batch lookup on it.
func probeBatch(mapType uint32) error {
	keySize, flags := uint32(4), uint32(0)
	if mapType == unix.BPF_MAP_TYPE_LPM_TRIE {
		// LPM tries need a prefix length plus data and refuse preallocation.
		keySize, flags = 8, unix.BPF_F_NO_PREALLOC
	}
	fd, err := MapCreate(mapType, keySize, 8, 1, flags, "gobcc_probe")
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("probe batch lookup on map type %d: %w", mapType, err)
		}
		return fmt.Errorf("map type %d: %w: %w", mapType, ErrNotSupported, err)
	}
	defer unix.Close(fd)
	cpus := 1
	if IsPerCPU(mapType) {
		if cpus, err = PossibleCPUs(); err != nil {
			return fmt.Errorf("probe batch lookup on map type %d: %w", mapType, err)
		}
	}
	token := make([]byte, BatchTokenSize(int(keySize)))
	keys := make([]byte, keySize)
	values := make([]byte, ValueStride(8, IsPerCPU(mapType), cpus))
	_, err = MapLookupBatch(fd, nil, token, keys, values, 1, 0)
	switch {
	case err == nil, errors.Is(err, ErrKeyNotExist):
		return nil
	case errors.Is(err, ErrNotSupported), errors.Is(err, unix.EINVAL):
		return fmt.Errorf("batch lookup on map type %d: %w: %w", mapType, ErrNotSupported, err)
	default:
		return fmt.Errorf("probe batch lookup on map type %d: %w", mapType, err)
	}
}
