//go:build linux

package bpfsys

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// deleteChunk is how many entries DeleteAll removes per batch call: large
// enough that syscall overhead vanishes, small enough that the scratch
// buffers stay in cache for per-CPU values on big machines.
const deleteChunk = 4096

// batchUnsupported reports whether a batch command failed because the kernel
// or map type lacks it; kernels before 5.6 do not know the command and say
// EINVAL.
func batchUnsupported(err error) bool {
	return errors.Is(err, ErrNotSupported) || errors.Is(err, unix.EINVAL)
}

// resolveCPUs returns possibleCPUs, or the machine's count when the caller
// passed 0 for a per-CPU map.
func resolveCPUs(perCPU bool, possibleCPUs int) (int, error) {
	if !perCPU || possibleCPUs > 0 {
		return possibleCPUs, nil
	}
	return PossibleCPUs()
}

// LookupAll reads every entry of a map: keys holds n keys of keySize bytes
// back to back and values n values of ValueStride(valueSize, perCPU,
// possibleCPUs) bytes in the same order. maxEntries sizes the buffers (the
// map's max_entries); possibleCPUs 0 means PossibleCPUs().
//
// It uses batch lookup, a single syscall for a quiet map, and falls back to
// LookupAllNextKey when the kernel or map type has no batch lookup. Entries
// changed by BPF programs during the read may or may not be seen.
func LookupAll(fd int, keySize, valueSize int, maxEntries int, perCPU bool, possibleCPUs int) (keys, values []byte, n int, err error) {
	keys, values, n, err = LookupAllBatch(fd, keySize, valueSize, maxEntries, perCPU, possibleCPUs)
	if err != nil && errors.Is(err, ErrNotSupported) {
		return LookupAllNextKey(fd, keySize, valueSize, maxEntries, perCPU, possibleCPUs)
	}
	return keys, values, n, err
}

// LookupAllBatch is LookupAll using only batch lookup; it returns an error
// matching ErrNotSupported when the kernel or map type lacks it.
func LookupAllBatch(fd int, keySize, valueSize int, maxEntries int, perCPU bool, possibleCPUs int) (keys, values []byte, n int, err error) {
	return batchAll(MapLookupBatch, fd, keySize, valueSize, maxEntries, perCPU, possibleCPUs)
}

// LookupAndDeleteAll is LookupAllBatch with batch lookup-and-delete: it
// empties the map and returns what it removed. Entries BPF programs add
// meanwhile may stay. It returns an error matching ErrNotSupported when the
// kernel or map type lacks the command (arrays, kernels before 5.6).
func LookupAndDeleteAll(fd int, keySize, valueSize int, maxEntries int, perCPU bool, possibleCPUs int) (keys, values []byte, n int, err error) {
	return batchAll(MapLookupAndDeleteBatch, fd, keySize, valueSize, maxEntries, perCPU, possibleCPUs)
}

// batchAll runs a batch lookup command until the map says there is no more.
func batchAll(batch func(fd int, inBatch, outBatch, keys, values []byte, count uint32, flags uint64) (uint32, error),
	fd int, keySize, valueSize int, maxEntries int, perCPU bool, possibleCPUs int) (keys, values []byte, n int, err error) {
	possibleCPUs, err = resolveCPUs(perCPU, possibleCPUs)
	if err != nil {
		return nil, nil, 0, err
	}
	stride := ValueStride(valueSize, perCPU, possibleCPUs)
	// One spare slot lets an array's batch walk run into the end of the map
	// inside the first call instead of needing a second one.
	capacity := max(maxEntries, 0) + 1
	keys = make([]byte, capacity*keySize)
	values = make([]byte, capacity*stride)
	tokenSize := BatchTokenSize(keySize)
	tokens := make([]byte, 2*tokenSize)
	var inBatch []byte
	outBatch := tokens[:tokenSize]
	for {
		if n == capacity {
			// BPF programs inserted entries behind the cursor while we read.
			capacity *= 2
			keys = append(keys, make([]byte, capacity*keySize-len(keys))...)
			values = append(values, make([]byte, capacity*stride-len(values))...)
		}
		got, err := batch(fd, inBatch, outBatch, keys[n*keySize:], values[n*stride:], uint32(capacity-n), 0)
		n += int(got)
		switch {
		case err == nil:
		case errors.Is(err, ErrKeyNotExist):
			return keys[:n*keySize], values[:n*stride], n, nil
		case errors.Is(err, unix.ENOSPC) && got == 0:
			// The next hash bucket holds more entries than the room left.
			capacity *= 2
			keys = append(keys, make([]byte, capacity*keySize-len(keys))...)
			values = append(values, make([]byte, capacity*stride-len(values))...)
			continue
		case inBatch == nil && n == 0 && batchUnsupported(err):
			return nil, nil, 0, fmt.Errorf("%w: %w", ErrNotSupported, err)
		case n > 0:
			return nil, nil, 0, fmt.Errorf("after %d entries: %w", n, err)
		default:
			return nil, nil, 0, err
		}
		// The token just written is where the next call resumes.
		if inBatch == nil {
			inBatch = tokens[tokenSize:]
		}
		inBatch, outBatch = outBatch, inBatch
	}
}

// LookupAllNextKey is LookupAll walking the map with MapGetNextKey and one
// MapLookup per key: two syscalls per entry, for kernels without batch
// lookup. An entry deleted between the two calls is skipped; if the key the
// walk stands on is deleted, hash maps restart from their first key and
// entries may appear twice.
func LookupAllNextKey(fd int, keySize, valueSize int, maxEntries int, perCPU bool, possibleCPUs int) (keys, values []byte, n int, err error) {
	possibleCPUs, err = resolveCPUs(perCPU, possibleCPUs)
	if err != nil {
		return nil, nil, 0, err
	}
	stride := ValueStride(valueSize, perCPU, possibleCPUs)
	capacity := max(maxEntries, 1)
	keys = make([]byte, capacity*keySize)
	values = make([]byte, capacity*stride)
	var prev []byte
	cursor := make([]byte, keySize)
	for {
		if n == capacity {
			capacity *= 2
			keys = append(keys, make([]byte, capacity*keySize-len(keys))...)
			values = append(values, make([]byte, capacity*stride-len(values))...)
			if prev != nil {
				prev = keys[(n-1)*keySize : n*keySize]
			}
		}
		key := keys[n*keySize : (n+1)*keySize]
		if err := MapGetNextKey(fd, prev, key); err != nil {
			if errors.Is(err, ErrKeyNotExist) {
				return keys[:n*keySize], values[:n*stride], n, nil
			}
			return nil, nil, 0, err
		}
		if err := MapLookup(fd, key, values[n*stride:(n+1)*stride]); err != nil {
			if errors.Is(err, ErrKeyNotExist) {
				// No value under this key: deleted since get_next_key, or
				// an empty slot of an fd array (prog array, map of maps),
				// which get_next_key lists but lookup refuses. Step past it;
				// retrying from the previous key would loop forever on the
				// array.
				copy(cursor, key)
				prev = cursor
				continue
			}
			return nil, nil, 0, err
		}
		prev = key
		n++
	}
}

// DeleteAll removes every entry of a hash-type map (hash, LRU hash and their
// per-CPU variants, LPM trie) and returns how many it removed. valueSize,
// perCPU and possibleCPUs (0: PossibleCPUs()) size the scratch buffer batch
// lookup-and-delete copies values into.
//
// It empties the map in batches of 4096 entries, or, without batch support,
// collects the keys with MapGetNextKey and deletes them (BCC's clear()
// instead asks for the first key again after every delete, which is
// quadratic in the number of hash buckets). Entries BPF programs insert
// while it runs may survive. Array maps cannot delete entries and return an
// error matching unix.EINVAL.
func DeleteAll(fd int, keySize, valueSize int, perCPU bool, possibleCPUs int) (int, error) {
	possibleCPUs, err := resolveCPUs(perCPU, possibleCPUs)
	if err != nil {
		return 0, err
	}
	n, err := deleteAllBatch(fd, keySize, ValueStride(valueSize, perCPU, possibleCPUs), deleteChunk)
	if err != nil && errors.Is(err, ErrNotSupported) {
		return deleteAllNextKey(fd, keySize)
	}
	return n, err
}

// deleteAllBatch empties a map with batch lookup-and-delete.
func deleteAllBatch(fd int, keySize, stride, chunk int) (int, error) {
	keys := make([]byte, chunk*keySize)
	values := make([]byte, chunk*stride)
	tokenSize := BatchTokenSize(keySize)
	tokens := make([]byte, 2*tokenSize)
	var inBatch []byte
	outBatch := tokens[:tokenSize]
	total := 0
	for {
		got, err := MapLookupAndDeleteBatch(fd, inBatch, outBatch, keys, values, uint32(chunk), 0)
		total += int(got)
		switch {
		case err == nil:
		case errors.Is(err, ErrKeyNotExist):
			return total, nil
		case errors.Is(err, unix.ENOSPC) && got == 0:
			chunk *= 2
			keys = make([]byte, chunk*keySize)
			values = make([]byte, chunk*stride)
			continue
		case inBatch == nil && total == 0 && batchUnsupported(err):
			return 0, fmt.Errorf("%w: %w", ErrNotSupported, err)
		default:
			return total, err
		}
		if inBatch == nil {
			inBatch = tokens[tokenSize:]
		}
		inBatch, outBatch = outBatch, inBatch
	}
}

// deleteAllNextKey collects every key first, so each get_next_key continues
// from a live key, then deletes them in batches or one by one.
func deleteAllNextKey(fd int, keySize int) (int, error) {
	var keys []byte
	var prev []byte
	count := 0
	for {
		keys = append(keys, make([]byte, keySize)...)
		key := keys[count*keySize:]
		if err := MapGetNextKey(fd, prev, key); err != nil {
			if errors.Is(err, ErrKeyNotExist) {
				break
			}
			return 0, err
		}
		// Even if a later append moves keys, prev keeps the old array and
		// its bytes alive.
		prev = key[:keySize]
		count++
	}
	keys = keys[:count*keySize]
	deleted := 0
	batch := true
	for i := 0; i < count; {
		if batch {
			got, err := MapDeleteBatch(fd, keys[i*keySize:], uint32(count-i), 0)
			deleted += int(got)
			i += int(got)
			switch {
			case err == nil:
				continue
			case errors.Is(err, ErrKeyNotExist):
				i++ // deleted by someone else meanwhile
				continue
			case got == 0 && batchUnsupported(err):
				batch = false
			default:
				return deleted, err
			}
		}
		err := MapDelete(fd, keys[i*keySize:(i+1)*keySize])
		if err != nil && !errors.Is(err, ErrKeyNotExist) {
			return deleted, err
		}
		if err == nil {
			deleted++
		}
		i++
	}
	return deleted, nil
}

// updateChunk is how many entries one update-batch call of UpdateAll
// writes.
const updateChunk = 4096

// UpdateAll stores n entries (keys packed at keySize bytes, values at stride
// bytes; with a single value of stride bytes, that value under every key)
// with one update batch per 4096 entries, or one MapUpdate per entry where
// the kernel or map type has no batch update (LPM tries, kernels before
// 5.6).
func UpdateAll(fd int, keys []byte, keySize int, values []byte, stride int, n int) error {
	return updateAll(fd, keys, keySize, values, stride, n, unix.BPF_ANY)
}

// ZeroKeys writes a zero value of stride bytes to each of the n keys (of
// keySize bytes each) that still exists, as BCC's zero() does for a hash.
// It updates with BPF_EXIST: a key deleted since it was read stays deleted
// rather than coming back, so a hash that concurrent inserts have filled is
// never grown past max_entries (an insert there fails with E2BIG).
func ZeroKeys(fd int, keys []byte, keySize, stride, n int) error {
	return updateAll(fd, keys, keySize, make([]byte, stride), stride, n, unix.BPF_EXIST)
}

// updateAll is UpdateAll with the update flags; under BPF_EXIST a key that
// no longer exists is skipped, on the batch path and per key.
func updateAll(fd int, keys []byte, keySize int, values []byte, stride int, n int, flags uint64) error {
	skipMissing := func(err error) bool { return flags == unix.BPF_EXIST && errors.Is(err, ErrKeyNotExist) }
	var repeated []byte // the single value, once per entry of a chunk
	if len(values) == stride {
		repeated = bytes.Repeat(values, min(n, updateChunk))
	}
	batch := true
	for start := 0; start < n; {
		count := min(updateChunk, n-start)
		kb := keys[start*keySize : (start+count)*keySize]
		var vb []byte
		if repeated != nil {
			vb = repeated[:count*stride]
		} else {
			vb = values[start*stride : (start+count)*stride]
		}
		if batch {
			done, err := MapUpdateBatch(fd, kb, vb, uint32(count), flags)
			switch {
			case err == nil:
				start += count
				continue
			case skipMissing(err):
				// The batch stopped at keys[start+done], deleted meanwhile.
				start += int(done) + 1
				continue
			case done != 0 || !batchUnsupported(err):
				return err
			}
			batch = false
		}
		for i := 0; i < count; i++ {
			err := MapUpdate(fd, kb[i*keySize:(i+1)*keySize], vb[i*stride:(i+1)*stride], flags)
			if err != nil && !skipMissing(err) {
				return err
			}
		}
		start += count
	}
	return nil
}

// ZeroArray writes zeros to every index of an array or per-CPU array of
// maxEntries values of stride bytes, with UpdateAll.
func ZeroArray(fd int, maxEntries, stride int) error {
	for start := 0; start < maxEntries; start += updateChunk {
		count := min(updateChunk, maxEntries-start)
		keys := make([]byte, 4*count)
		for i := range count {
			binary.NativeEndian.PutUint32(keys[4*i:], uint32(start+i))
		}
		if err := UpdateAll(fd, keys, 4, make([]byte, stride), stride, count); err != nil {
			return err
		}
	}
	return nil
}

// CountKeys counts a map's keys by walking them with MapGetNextKey.
func CountKeys(fd int, keySize int) (int, error) {
	key := make([]byte, keySize)
	next := make([]byte, keySize)
	var prev []byte
	for n := 0; ; n++ {
		err := MapGetNextKey(fd, prev, next)
		if errors.Is(err, ErrKeyNotExist) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		copy(key, next)
		prev = key
	}
}

// DeleteIndexes deletes every index of an array of handles (prog arrays,
// maps of maps, devmaps, ...), whose slots become empty. Empty slots say
// ENOENT, which is not an error; sockmaps say EINVAL instead, which
// einvalEmpty makes not an error either.
func DeleteIndexes(fd int, maxEntries int, einvalEmpty bool) error {
	k := make([]byte, 4)
	for i := range maxEntries {
		binary.NativeEndian.PutUint32(k, uint32(i))
		err := MapDelete(fd, k)
		if err != nil && !errors.Is(err, ErrKeyNotExist) && !(einvalEmpty && errors.Is(err, unix.EINVAL)) {
			return err
		}
	}
	return nil
}
