package bcc

import (
	"errors"
	"fmt"

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
	return t.wrap(cmd, err)
}

// ItemsLookupBatch reads every entry with BPF_MAP_LOOKUP_BATCH only (BCC's
// items_lookup_batch()). Unlike Items it does not fall back to walking the
// keys: map types without batch lookup (and kernels before 5.6) give an
// error wrapping ErrWrongTableType.
func (t *Table) ItemsLookupBatch() ([]Item, error) {
	return t.batchRead("batch lookup", bpfsys.LookupAllBatch)
}

// ItemsLookupAndDeleteBatch reads and removes every entry with
// BPF_MAP_LOOKUP_AND_DELETE_BATCH (BCC's items_lookup_and_delete_batch()),
// returning what it removed. Hash-type tables have it; arrays, whose
// entries cannot be removed, give an error wrapping ErrWrongTableType.
// Entries BPF programs add meanwhile may stay.
func (t *Table) ItemsLookupAndDeleteBatch() ([]Item, error) {
	if err := t.checkOp(opDelete); err != nil {
		return nil, err
	}
	if t.mapType.IsArray() {
		return nil, fmt.Errorf("table %s is a %s: array entries cannot be deleted: %w", t.name, t.mapType, ErrWrongTableType)
	}
	return t.batchRead("batch lookup and delete", bpfsys.LookupAndDeleteAll)
}

func (t *Table) batchRead(cmd string, read func(fd, keySize, valueSize, maxEntries int, perCPU bool, ncpu int) ([]byte, []byte, int, error)) ([]Item, error) {
	if err := t.checkOp(opRead); err != nil {
		return nil, err
	}
	var keys, vals []byte
	var n int
	err := t.withFD(func(fd int) (err error) {
		keys, vals, n, err = read(fd, t.keySize, t.leafSize, t.maxEntries, t.mapType.PerCPU(), t.ncpu)
		return err
	})
	if err != nil {
		return nil, t.batchOnly(cmd, err)
	}
	return t.decodeAll(keys, vals, n)
}

// encodeKeys packs 1 to MaxEntries keys (BCC's limits) as the kernel's
// batch commands want them.
func (t *Table) encodeKeys(keys []any) ([]byte, error) {
	if len(keys) < 1 || len(keys) > t.maxEntries {
		return nil, fmt.Errorf("table %s: %d entries, want 1 to %d: %w", t.name, len(keys), t.maxEntries, ErrBatchSize)
	}
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
	kb, err := t.encodeKeys(keys)
	if err != nil {
		return err
	}
	var done uint32
	err = t.withFD(func(fd int) (err error) {
		done, err = bpfsys.MapDeleteBatch(fd, kb, uint32(len(keys)), 0)
		return err
	})
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
	var done uint32
	err = t.withFD(func(fd int) (err error) {
		done, err = bpfsys.MapUpdateBatch(fd, kb, vb, uint32(len(keys)), 0)
		return err
	})
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
// them (read first, as BCC does, so that updates cannot disturb a walk in
// progress). Tables whose values are handles (prog arrays, maps of maps,
// ...) give an error wrapping ErrWrongTableType.
func (t *Table) Zero() error {
	if err := t.checkOp(opZero); err != nil {
		return err
	}
	stride := t.valueStride()
	err := t.withFD(func(fd int) error {
		if t.mapType == MapArray || t.mapType == MapPercpuArray {
			return bpfsys.ZeroArray(fd, t.maxEntries, stride)
		}
		keys, _, n, err := bpfsys.LookupAll(fd, t.keySize, t.leafSize, t.maxEntries, t.mapType.PerCPU(), t.ncpu)
		if err != nil {
			return err
		}
		return bpfsys.UpdateAll(fd, keys, t.keySize, make([]byte, stride), stride, n)
	})
	if err != nil {
		return t.wrap("zero", err)
	}
	return nil
}
