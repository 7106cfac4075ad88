//go:build linux

package bpfsys

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// LookupAllInto is LookupAll reading into the caller's buffers, for readers
// that read the same map again and again (an exporter's scrapes): keys and
// values are reused from index 0 and grown only when the map holds more
// entries than they have room for, so a map of steady size costs no
// allocation after the first read. It returns the buffers (grown or not;
// keep them for the next call) and n, the entries read: keys[:n*keySize]
// and values[:n*stride] with stride ValueStride(valueSize, perCPU,
// possibleCPUs). Give buffers sized for the map's max_entries plus one (an
// array's batch walk then ends inside the first call); nil is fine too.
//
// It uses batch lookup and falls back to a key walk (MapGetNextKey and one
// MapLookup per key) when the kernel or map type has no batch lookup, or
// always when nextKeyOnly is set (arrays of handles, whose empty slots the
// walk steps over). Entries changed during the read may or may not be seen.
func LookupAllInto(fd int, keySize, valueSize int, perCPU bool, possibleCPUs int, nextKeyOnly bool, keys, values []byte) (keysOut, valuesOut []byte, n int, err error) {
	possibleCPUs, err = resolveCPUs(perCPU, possibleCPUs)
	if err != nil {
		return keys, values, 0, err
	}
	if keySize <= 0 {
		return keys, values, 0, fmt.Errorf("%w: key size %d", ErrNotSupported, keySize)
	}
	stride := ValueStride(valueSize, perCPU, possibleCPUs)
	if !nextKeyOnly {
		keys, values, n, err = lookupIntoBatch(fd, keySize, stride, keys, values)
		if err == nil || !errors.Is(err, ErrNotSupported) {
			return keys, values, n, err
		}
	}
	return lookupIntoNextKey(fd, keySize, stride, keys, values)
}

// roomFor makes keys and values hold at least capacity entries, keeping
// their first n entries.
func roomFor(keys, values []byte, capacity, keySize, stride int) ([]byte, []byte) {
	if len(keys) < capacity*keySize {
		keys = append(keys[:cap(keys)], make([]byte, capacity*keySize-cap(keys))...)
	}
	if len(values) < capacity*stride {
		values = append(values[:cap(values)], make([]byte, capacity*stride-cap(values))...)
	}
	return keys[:cap(keys)], values[:cap(values)]
}

// capacityOf is how many entries both buffers hold.
func capacityOf(keys, values []byte, keySize, stride int) int {
	c := len(keys) / keySize
	if stride > 0 {
		c = min(c, len(values)/stride)
	}
	return c
}

func lookupIntoBatch(fd, keySize, stride int, keys, values []byte) ([]byte, []byte, int, error) {
	keys, values = keys[:cap(keys)], values[:cap(values)]
	if capacityOf(keys, values, keySize, stride) < 2 {
		keys, values = roomFor(keys, values, 64, keySize, stride)
	}
	tokenSize := BatchTokenSize(keySize)
	var tokenBuf [2 * 64]byte // keys up to 64 bytes need no allocation
	var tokens []byte
	if 2*tokenSize <= len(tokenBuf) {
		tokens = tokenBuf[:2*tokenSize]
	} else {
		tokens = make([]byte, 2*tokenSize)
	}
	var inBatch []byte
	outBatch := tokens[:tokenSize]
	n := 0
	for {
		capacity := capacityOf(keys, values, keySize, stride)
		if n == capacity {
			// BPF programs inserted entries behind the cursor while we read.
			keys, values = roomFor(keys, values, 2*capacity, keySize, stride)
			capacity *= 2
		}
		got, err := MapLookupBatch(fd, inBatch, outBatch, keys[n*keySize:], values[n*stride:], uint32(capacity-n), 0)
		n += int(got)
		switch {
		case err == nil:
		case errors.Is(err, ErrKeyNotExist):
			return keys, values, n, nil
		case errors.Is(err, unix.ENOSPC) && got == 0:
			// The next hash bucket holds more entries than the room left.
			keys, values = roomFor(keys, values, 2*capacity, keySize, stride)
			continue
		case inBatch == nil && n == 0 && batchUnsupported(err):
			return keys, values, 0, fmt.Errorf("%w: %w", ErrNotSupported, err)
		case n > 0:
			return keys, values, 0, fmt.Errorf("after %d entries: %w", n, err)
		default:
			return keys, values, 0, err
		}
		// The token just written is where the next call resumes.
		if inBatch == nil {
			inBatch = tokens[tokenSize:]
		}
		inBatch, outBatch = outBatch, inBatch
	}
}

func lookupIntoNextKey(fd, keySize, stride int, keys, values []byte) ([]byte, []byte, int, error) {
	keys, values = keys[:cap(keys)], values[:cap(values)]
	if capacityOf(keys, values, keySize, stride) < 1 {
		keys, values = roomFor(keys, values, 64, keySize, stride)
	}
	// The walk's cursor is a copy: growing the buffers moves the keys.
	cursor := make([]byte, keySize)
	havePrev := false
	n := 0
	for {
		if capacity := capacityOf(keys, values, keySize, stride); n == capacity {
			keys, values = roomFor(keys, values, 2*capacity, keySize, stride)
		}
		var prev []byte
		if havePrev {
			prev = cursor
		}
		key := keys[n*keySize : (n+1)*keySize]
		if err := MapGetNextKey(fd, prev, key); err != nil {
			if errors.Is(err, ErrKeyNotExist) {
				return keys, values, n, nil
			}
			return keys, values, 0, err
		}
		copy(cursor, key)
		havePrev = true
		if err := MapLookup(fd, key, values[n*stride:(n+1)*stride]); err != nil {
			if errors.Is(err, ErrKeyNotExist) {
				// Deleted since get_next_key, or an empty slot of an fd
				// array: step past it (see LookupAllNextKey).
				continue
			}
			return keys, values, 0, err
		}
		n++
	}
}
