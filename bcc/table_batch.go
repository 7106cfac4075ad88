package bcc

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
)

// ErrBatchSize means a batch call got no entries, more entries than the
// table holds, or key and value lists of different lengths (BCC raises
// ValueError for the same cases).
var ErrBatchSize = errors.New("batch size out of range")

// batchOnly reports the kernel's refusal of a batch command for this map
// type as ErrWrongTableType, which is what it is for this table, keeping the
// kernel's error in the chain.
func (t *Table) batchOnly(cmd string, err error) error {
	if batchRefused(err) {
		return fmt.Errorf("table %s is a %s: the kernel has no %s for it: %w: %w", t.name, t.mapType, cmd, ErrWrongTableType, err)
	}
	return fmt.Errorf("table %s: %s: %w", t.name, cmd, err)
}

// decodeAll decodes n packed keys and values.
func (t *Table) decodeAll(keys, vals []byte, n int) ([]Item, error) {
	stride := t.valueStride()
	items := make([]Item, n)
	for i := range items {
		var err error
		items[i], err = t.decodeItem(keys[i*t.keySize:(i+1)*t.keySize], vals[i*stride:(i+1)*stride])
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", t.name, err)
		}
	}
	return items, nil
}

// ItemsLookupBatch reads every entry with BPF_MAP_LOOKUP_BATCH only (BCC's
// items_lookup_batch()). Unlike Items it does not fall back to walking the
// keys: map types without batch lookup (and kernels before 5.6) give an
// error wrapping ErrWrongTableType.
func (t *Table) ItemsLookupBatch() ([]Item, error) {
	if err := t.checkOp(opRead); err != nil {
		return nil, err
	}
	keys, vals, n, err := bpfsys.LookupAllBatch(t.fd, t.keySize, t.leafSize, t.maxEntries, t.mapType.PerCPU(), t.ncpu)
	if err != nil {
		return nil, t.batchOnly("batch lookup", err)
	}
	return t.decodeAll(keys, vals, n)
}

// ItemsLookupAndDeleteBatch reads and removes every entry with
// BPF_MAP_LOOKUP_AND_DELETE_BATCH (BCC's items_lookup_and_delete_batch()),
// returning what it removed. Hash-type tables have it; arrays, whose
// entries cannot be removed, give an error wrapping ErrWrongTableType.
// Entries BPF programs add meanwhile may stay.
func (t *Table) ItemsLookupAndDeleteBatch() ([]Item, error) {
	if err := t.checkOp(opRead); err != nil {
		return nil, err
	}
	if err := t.checkOp(opDelete); err != nil {
		return nil, err
	}
	if t.mapType.IsArray() {
		return nil, fmt.Errorf("table %s is a %s: array entries cannot be deleted: %w", t.name, t.mapType, ErrWrongTableType)
	}
	stride := t.valueStride()
	capacity := max(t.maxEntries, 1)
	keys := make([]byte, capacity*t.keySize)
	vals := make([]byte, capacity*stride)
	tokenSize := bpfsys.BatchTokenSize(t.keySize)
	tokens := make([]byte, 2*tokenSize)
	var inBatch []byte
	outBatch := tokens[:tokenSize]
	n := 0
	for {
		if n == capacity {
			// BPF programs added entries while we read: make room.
			capacity *= 2
			keys = append(keys, make([]byte, capacity*t.keySize-len(keys))...)
			vals = append(vals, make([]byte, capacity*stride-len(vals))...)
		}
		got, err := bpfsys.MapLookupAndDeleteBatch(t.fd, inBatch, outBatch, keys[n*t.keySize:], vals[n*stride:], uint32(capacity-n), 0)
		n += int(got)
		switch {
		case err == nil:
		case errors.Is(err, ErrKeyNotExist):
			return t.decodeAll(keys, vals, n)
		case errors.Is(err, unix.ENOSPC) && got == 0:
			// The next hash bucket holds more entries than the room left.
			capacity *= 2
			keys = append(keys, make([]byte, capacity*t.keySize-len(keys))...)
			vals = append(vals, make([]byte, capacity*stride-len(vals))...)
			continue
		case n == 0:
			return nil, t.batchOnly("batch lookup and delete", err)
		default:
			return nil, fmt.Errorf("table %s: batch lookup and delete after %d entries: %w", t.name, n, err)
		}
		if inBatch == nil {
			inBatch = tokens[tokenSize:]
		}
		inBatch, outBatch = outBatch, inBatch
	}
}

// checkBatchLen applies BCC's limits on batch arrays: 1 to MaxEntries.
func (t *Table) checkBatchLen(n int) error {
	if n < 1 || n > t.maxEntries {
		return fmt.Errorf("table %s: %d entries, want 1 to %d: %w", t.name, n, t.maxEntries, ErrBatchSize)
	}
	return nil
}

// encodeKeys packs keys as the kernel's batch commands want them.
func (t *Table) encodeKeys(keys []any) ([]byte, error) {
	out := make([]byte, len(keys)*t.keySize)
	for i, k := range keys {
		b, err := t.encodeKey(k)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		copy(out[i*t.keySize:], b)
	}
	return out, nil
}

// ItemsDeleteBatch removes keys with one BPF_MAP_DELETE_BATCH call (BCC's
// items_delete_batch(keys)). With nil keys it empties the table as
// ItemsLookupAndDeleteBatch does. A key that is not in the table stops the
// batch with an error wrapping ErrKeyNotExist; the keys before it are gone.
func (t *Table) ItemsDeleteBatch(keys []any) error {
	if keys == nil {
		_, err := t.ItemsLookupAndDeleteBatch()
		return err
	}
	if err := t.checkOp(opDelete); err != nil {
		return err
	}
	if t.mapType.IsArray() {
		return fmt.Errorf("table %s is a %s: array entries cannot be deleted: %w", t.name, t.mapType, ErrWrongTableType)
	}
	if err := t.checkBatchLen(len(keys)); err != nil {
		return err
	}
	kb, err := t.encodeKeys(keys)
	if err != nil {
		return err
	}
	done, err := bpfsys.MapDeleteBatch(t.fd, kb, uint32(len(keys)), 0)
	if err != nil {
		if done == 0 && !errors.Is(err, ErrKeyNotExist) {
			return t.batchOnly("batch delete", err)
		}
		return fmt.Errorf("table %s: batch delete stopped at key %d of %d: %w", t.name, done, len(keys), err)
	}
	return nil
}

// ItemsUpdateBatch stores values[i] under keys[i] with one
// BPF_MAP_UPDATE_BATCH call (BCC's items_update_batch(keys, values)). Keys
// and values take the Go forms Update takes (for per-CPU tables, one value
// for every CPU or a slice of them). The lists must have the same length,
// from 1 to MaxEntries.
func (t *Table) ItemsUpdateBatch(keys, values []any) error {
	if err := t.checkOp(opWrite); err != nil {
		return err
	}
	if t.mapType.holdsHandles() {
		return fmt.Errorf("table %s is a %s: use Update for handles: %w", t.name, t.mapType, ErrWrongTableType)
	}
	if len(keys) != len(values) {
		return fmt.Errorf("table %s: %d keys but %d values: %w", t.name, len(keys), len(values), ErrBatchSize)
	}
	if err := t.checkBatchLen(len(keys)); err != nil {
		return err
	}
	kb, err := t.encodeKeys(keys)
	if err != nil {
		return err
	}
	stride := t.valueStride()
	vb := make([]byte, len(values)*stride)
	for i, v := range values {
		b, err := t.encodeValue(v)
		if err != nil {
			return fmt.Errorf("value %d: %w", i, err)
		}
		copy(vb[i*stride:], b)
	}
	done, err := bpfsys.MapUpdateBatch(t.fd, kb, vb, uint32(len(keys)), 0)
	if err != nil {
		if done == 0 {
			return t.batchOnly("batch update", err)
		}
		return fmt.Errorf("table %s: batch update stopped at entry %d of %d: %w", t.name, done, len(keys), err)
	}
	return nil
}

// Zero sets every value to zero and keeps the keys (BCC's zero()): for
// arrays every index, for hash-type tables every key present when it reads
// them. Tables whose values are handles (prog arrays, maps of maps, ...)
// give an error wrapping ErrWrongTableType.
func (t *Table) Zero() error {
	if err := t.checkOp(opZero); err != nil {
		return err
	}
	if t.mapType == MapArray || t.mapType == MapPercpuArray {
		if err := t.zeroArray(); err != nil {
			return fmt.Errorf("table %s: zero: %w", t.name, err)
		}
		return nil
	}
	// Keys are read first, as BCC does, so that updates cannot disturb a
	// walk in progress.
	keys, _, n, err := bpfsys.LookupAll(t.fd, t.keySize, t.leafSize, t.maxEntries, t.mapType.PerCPU(), t.ncpu)
	if err != nil {
		return fmt.Errorf("table %s: zero: %w", t.name, err)
	}
	if n == 0 {
		return nil
	}
	stride := t.valueStride()
	zeros := make([]byte, min(n, arrayChunk)*stride)
	for start := 0; start < n; start += arrayChunk {
		count := min(arrayChunk, n-start)
		kb := keys[start*t.keySize : (start+count)*t.keySize]
		done, err := bpfsys.MapUpdateBatch(t.fd, kb, zeros, uint32(count), 0)
		if err == nil {
			continue
		}
		if done != 0 || !batchRefused(err) {
			return fmt.Errorf("table %s: zero: %w", t.name, err)
		}
		// No batch update for this map type (LPM tries): one by one.
		for i := 0; i < count; i++ {
			if err := bpfsys.MapUpdate(t.fd, kb[i*t.keySize:(i+1)*t.keySize], zeros[:stride], 0); err != nil {
				return fmt.Errorf("table %s: zero: %w", t.name, err)
			}
		}
	}
	return nil
}
