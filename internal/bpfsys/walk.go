//go:build linux

package bpfsys

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Walker reads a map's entries a chunk at a time, for iterators that hand
// out entries while the map is being read: batch lookups of up to chunk
// entries, or, where the kernel or map type has no batch lookup (or the
// caller asks for it), a MapGetNextKey walk with one MapLookup per key.
// Each call to Next takes the map's descriptor anew, so a caller can hold a
// lock on it for one chunk at a time. Entries changed while the walk runs
// may or may not be seen; after a hash map's key the walk stands on is
// deleted, a next-key walk restarts and may see entries twice.
type Walker struct {
	keySize, stride, chunk    int
	nextKeyOnly, batchTried   bool
	done                      bool
	tokens, inBatch, outBatch []byte
	prev                      []byte // next-key cursor
}

// NewWalker returns a walker over a map of keySize-byte keys and values of
// valueSize bytes (per CPU for per-CPU maps; possibleCPUs 0 means
// PossibleCPUs()), reading chunk entries per call. nextKeyOnly skips batch
// lookups: handle maps (prog arrays, maps of maps, ...) have none, and
// their empty slots are missing keys the next-key walk steps over.
func NewWalker(keySize, valueSize int, perCPU bool, possibleCPUs int, chunk int, nextKeyOnly bool) (*Walker, error) {
	possibleCPUs, err := resolveCPUs(perCPU, possibleCPUs)
	if err != nil {
		return nil, err
	}
	tokenSize := BatchTokenSize(keySize)
	w := &Walker{keySize: keySize, stride: ValueStride(valueSize, perCPU, possibleCPUs), chunk: max(chunk, 1),
		nextKeyOnly: nextKeyOnly, tokens: make([]byte, 2*tokenSize)}
	w.outBatch = w.tokens[:tokenSize]
	return w, nil
}

// Next reads the next entries of the map fd: n keys and values packed as
// LookupAll packs them, in fresh buffers the caller may keep. n is 0 only
// at the end of the map.
func (w *Walker) Next(fd int) (keys, values []byte, n int, err error) {
	for !w.done {
		if w.nextKeyOnly {
			return w.nextKeys(fd)
		}
		keys = make([]byte, w.chunk*w.keySize)
		values = make([]byte, w.chunk*w.stride)
		got, err := MapLookupBatch(fd, w.inBatch, w.outBatch, keys, values, uint32(w.chunk), 0)
		first := !w.batchTried
		w.batchTried = true
		switch {
		case err == nil:
		case errors.Is(err, ErrKeyNotExist):
			w.done = true
		case errors.Is(err, unix.ENOSPC) && got == 0:
			w.chunk *= 2 // the next hash bucket holds more entries than a chunk
			continue
		case first && batchUnsupported(err):
			w.nextKeyOnly = true
			continue
		default:
			return nil, nil, 0, err
		}
		if !w.done {
			// The token just written is where the next call resumes.
			if w.inBatch == nil {
				w.inBatch = w.tokens[len(w.outBatch):]
			}
			w.inBatch, w.outBatch = w.outBatch, w.inBatch
		}
		if got > 0 {
			return keys[:int(got)*w.keySize], values[:int(got)*w.stride], int(got), nil
		}
	}
	return nil, nil, 0, nil
}

// nextKeys reads up to chunk entries with MapGetNextKey and MapLookup.
func (w *Walker) nextKeys(fd int) (keys, values []byte, n int, err error) {
	keys = make([]byte, w.chunk*w.keySize)
	values = make([]byte, w.chunk*w.stride)
	for n < w.chunk {
		key := keys[n*w.keySize : (n+1)*w.keySize]
		if err := MapGetNextKey(fd, w.prev, key); err != nil {
			if !errors.Is(err, ErrKeyNotExist) {
				return nil, nil, 0, err
			}
			w.done = true
			break
		}
		// The cursor is a copy: key's slot is reused when its lookup fails
		// (an entry deleted meanwhile, an empty slot of a handle array).
		w.prev = append(w.prev[:0], key...)
		if err := MapLookup(fd, key, values[n*w.stride:(n+1)*w.stride]); err != nil {
			if errors.Is(err, ErrKeyNotExist) {
				continue
			}
			return nil, nil, 0, err
		}
		n++
	}
	return keys[:n*w.keySize], values[:n*w.stride], n, nil
}
