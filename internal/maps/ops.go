package maps

import (
	"errors"
	"fmt"
	"iter"
	"math/big"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/ctype"
)

// ReadAll reads every entry (BCC's items()). It uses batch lookups where
// the kernel has them and falls back to key iteration. Entries added or
// removed while it runs may or may not be seen.
func (m *Map) ReadAll() (Chunk, error) {
	if err := m.check(opRead); err != nil {
		return Chunk{}, err
	}
	var c Chunk
	err := m.WithFD(func(fd int) (err error) {
		if m.typ.HoldsHandles() {
			// Empty slots of handle arrays are missing keys, which the
			// key walk steps over (BCC's items() does the same through
			// KeyError); these maps have no batch lookup anyway.
			c.Keys, c.Values, c.N, err = bpfsys.LookupAllNextKey(fd, m.keySize, m.leafSize, m.maxEntries, false, 1)
		} else {
			c.Keys, c.Values, c.N, err = bpfsys.LookupAll(fd, m.keySize, m.leafSize, m.maxEntries, m.typ.PerCPU(), m.ncpu)
		}
		return err
	})
	if err != nil {
		return Chunk{}, m.wrap("", err)
	}
	return c, nil
}

// ReadAllInto is ReadAll into the caller's buffers, grown when too small
// and returned in the Chunk: a reader that reads the same map again and
// again (an exporter's scrapes) allocates nothing once they fit. Nil
// buffers start at room for MaxEntries plus one entry.
func (m *Map) ReadAllInto(keys, values []byte) (Chunk, error) {
	if err := m.check(opRead); err != nil {
		return Chunk{Keys: keys, Values: values}, err
	}
	if keys == nil {
		n := m.maxEntries + 1
		keys = make([]byte, n*m.keySize)
		values = make([]byte, n*m.ValueStride())
	}
	c := Chunk{Keys: keys, Values: values}
	handles := m.typ.HoldsHandles()
	err := m.WithFD(func(fd int) (err error) {
		// Handle arrays' empty slots are missing keys, which only the key
		// walk steps over (as ReadAll).
		c.Keys, c.Values, c.N, err = bpfsys.LookupAllInto(fd, m.keySize, m.leafSize,
			m.typ.PerCPU() && !handles, m.ncpu, handles, c.Keys, c.Values)
		return err
	})
	if err != nil {
		c.N = 0
		return c, m.wrap("", err)
	}
	return c, nil
}

// IterChunk is how many entries Chunks reads per syscall (batch) or per
// lock hold (key walk).
const IterChunk = 256

// Chunks reads the map IterChunk entries at a time with a bpfsys.Walker,
// holding the lock for one chunk at a time and never while the consumer
// runs. An error is the last thing it yields.
func (m *Map) Chunks() iter.Seq2[Chunk, error] {
	return func(yield func(Chunk, error) bool) {
		if err := m.check(opRead); err != nil {
			yield(Chunk{}, err)
			return
		}
		handles := m.typ.HoldsHandles()
		w, err := bpfsys.NewWalker(m.keySize, m.leafSize, m.typ.PerCPU() && !handles, m.ncpu, IterChunk, handles)
		if err != nil {
			yield(Chunk{}, err)
			return
		}
		for {
			var c Chunk
			err := m.WithFD(func(fd int) (err error) {
				c.Keys, c.Values, c.N, err = w.Next(fd)
				return err
			})
			if err != nil {
				yield(Chunk{}, m.wrap("", err))
				return
			}
			if c.N == 0 || !yield(c, nil) {
				return
			}
		}
	}
}

// Len counts the entries; for array types it is MaxEntries, as BCC's len().
func (m *Map) Len() (int, error) {
	if err := m.check(opIterate); err != nil {
		return 0, err
	}
	if m.typ.IsArray() {
		return m.maxEntries, nil
	}
	var n int
	err := m.WithFD(func(fd int) (err error) {
		n, err = bpfsys.CountKeys(fd, m.keySize)
		return err
	})
	if err != nil {
		return n, m.wrap("", err)
	}
	return n, nil
}

// Lookup returns the entry for key (see EncodeKey), or an error wrapping
// ErrKeyNotExist.
func (m *Map) Lookup(key any) (Entry, error) {
	if err := m.check(opRead); err != nil {
		return Entry{}, err
	}
	k, err := m.EncodeKey(key)
	if err != nil {
		return Entry{}, err
	}
	v := make([]byte, m.ValueStride())
	if err := m.WithFD(func(fd int) error { return bpfsys.MapLookup(fd, k, v) }); err != nil {
		return Entry{}, m.wrap("lookup", err)
	}
	return m.Decode(k, v)
}

// LookupValue is Lookup for maps that are not per-CPU.
func (m *Map) LookupValue(key any) (ctype.Value, error) {
	if m.typ.PerCPU() {
		return ctype.Value{}, fmt.Errorf("table %s is per-CPU: use LookupPerCPU: %w", m.name, ErrWrongTableType)
	}
	e, err := m.Lookup(key)
	return e.Value, err
}

// LookupPerCPU is Lookup for per-CPU maps: one value per possible CPU.
func (m *Map) LookupPerCPU(key any) ([]ctype.Value, error) {
	if !m.typ.PerCPU() {
		return nil, fmt.Errorf("table %s is not per-CPU: %w", m.name, ErrWrongTableType)
	}
	e, err := m.Lookup(key)
	return e.PerCPU, err
}

// Update sets key to value, both encoded from their C types (EncodeKey,
// EncodeValue). Handle maps take descriptors, and cgroup arrays a cgroup
// directory's path too, opened for the update (BCC's
// CgroupArray[idx] = "/sys/fs/cgroup/...").
func (m *Map) Update(key, value any) error {
	if err := m.check(opWrite); err != nil {
		return err
	}
	k, err := m.EncodeKey(key)
	if err != nil {
		return err
	}
	if path, ok := value.(string); ok && m.typ == CgroupArray {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_DIRECTORY, 0)
		if err != nil {
			return fmt.Errorf("table %s: open cgroup %s: %w", m.name, path, err)
		}
		defer unix.Close(fd)
		value = fd
	}
	v, err := m.EncodeValue(value)
	if err != nil {
		return err
	}
	return m.UpdateRaw(k, v, 0)
}

// UpdateRaw stores encoded bytes (BPF_ANY, BPF_NOEXIST or BPF_EXIST in
// flags).
func (m *Map) UpdateRaw(k, v []byte, flags uint64) error {
	if err := m.WithFD(func(fd int) error { return bpfsys.MapUpdate(fd, k, v, flags) }); err != nil {
		return m.wrap("update", err)
	}
	return nil
}

// LookupRaw reads the value of an encoded key into v (ValueStride bytes).
func (m *Map) LookupRaw(k, v []byte) error {
	if err := m.check(opRead); err != nil {
		return err
	}
	if err := m.WithFD(func(fd int) error { return bpfsys.MapLookup(fd, k, v) }); err != nil {
		return m.wrap("lookup", err)
	}
	return nil
}

// Delete removes key (BCC's del table[key]). For arrays, whose entries
// cannot be removed, it zeroes the entry as BCC does.
func (m *Map) Delete(key any) error {
	if err := m.check(opDelete); err != nil {
		return err
	}
	k, err := m.EncodeKey(key)
	if err != nil {
		return err
	}
	err = m.WithFD(func(fd int) error {
		if m.typ.zeroable() {
			return bpfsys.MapUpdate(fd, k, make([]byte, m.ValueStride()), 0)
		}
		return bpfsys.MapDelete(fd, k)
	})
	if err != nil {
		return m.wrap("delete", err)
	}
	return nil
}

// Clear removes every entry (BCC's clear()); arrays are zeroed, handle
// arrays' slots emptied. It uses batch operations where the kernel has them.
func (m *Map) Clear() error {
	if err := m.check(opClear); err != nil {
		return err
	}
	err := m.WithFD(func(fd int) error {
		switch {
		case m.typ.zeroable():
			return bpfsys.ZeroArray(fd, m.maxEntries, m.ValueStride())
		case m.typ.HoldsHandles() && m.typ.IsArray():
			// Handle arrays delete entries (the slot becomes empty); an
			// empty slot says ENOENT, or EINVAL for sockmaps.
			return bpfsys.DeleteIndexes(fd, m.maxEntries, m.typ == Sockmap)
		default:
			_, err := bpfsys.DeleteAll(fd, m.keySize, m.leafSize, m.typ.PerCPU(), m.ncpu)
			return err
		}
	})
	if err != nil {
		return m.wrap("clear", err)
	}
	return nil
}

// Zero sets every value to zero and keeps the keys (BCC's zero()): for
// arrays every index, for hash-type maps every key present when it reads
// them (read first, as BCC does, so that updates cannot disturb a walk in
// progress).
func (m *Map) Zero() error {
	if err := m.check(opZero); err != nil {
		return err
	}
	stride := m.ValueStride()
	err := m.WithFD(func(fd int) error {
		if m.typ.zeroable() {
			return bpfsys.ZeroArray(fd, m.maxEntries, stride)
		}
		keys, _, n, err := bpfsys.LookupAll(fd, m.keySize, m.leafSize, m.maxEntries, m.typ.PerCPU(), m.ncpu)
		if err != nil {
			return err
		}
		return bpfsys.ZeroKeys(fd, keys, m.keySize, stride, n)
	})
	if err != nil {
		return m.wrap("zero", err)
	}
	return nil
}

// perCPUIntegers reads key's per-CPU values as integers, for Sum and Max.
func (m *Map) perCPUIntegers(op string, key any) ([]*big.Int, error) {
	if !m.typ.PerCPU() {
		return nil, fmt.Errorf("table %s is a %s, not per-CPU: %w", m.name, m.typ, ErrWrongTableType)
	}
	if !m.leaf.IsInteger() {
		return nil, fmt.Errorf("table %s: %s needs an integer leaf, not %s: %w", m.name, op, m.leaf, ErrTypeMismatch)
	}
	vals, err := m.LookupPerCPU(key)
	if err != nil {
		return nil, err
	}
	out := make([]*big.Int, len(vals))
	for i, v := range vals {
		out[i] = v.Big()
	}
	return out, nil
}

// Sum adds key's values over every possible CPU (BCC's sum()), wrapping at
// the leaf type's width as BCC's sLeaf(sum(...)) does.
func (m *Map) Sum(key any) (ctype.Value, error) {
	vals, err := m.perCPUIntegers("Sum", key)
	if err != nil {
		return ctype.Value{}, err
	}
	sum := new(big.Int)
	for _, v := range vals {
		sum.Add(sum, v)
	}
	return m.leaf.FromBig(sum)
}

// Max returns key's largest value over every possible CPU (BCC's max()).
func (m *Map) Max(key any) (ctype.Value, error) {
	vals, err := m.perCPUIntegers("Max", key)
	if err != nil {
		return ctype.Value{}, err
	}
	best := vals[0]
	for _, v := range vals[1:] {
		if v.Cmp(best) > 0 {
			best = v
		}
	}
	return m.leaf.FromBig(best)
}

// Average is Sum divided by the number of possible CPUs (BCC's average()).
func (m *Map) Average(key any) (float64, error) {
	sum, err := m.Sum(key)
	if err != nil {
		return 0, err
	}
	f, _ := new(big.Float).SetInt(sum.Big()).Float64()
	return f / float64(m.ncpu), nil
}

// batchOnly reports the kernel's refusal of a batch command for this map
// type as ErrWrongTableType, which is what it is for this map, keeping the
// kernel's error in the chain (kernels before 5.6 say EINVAL).
func (m *Map) batchOnly(cmd string, err error) error {
	if errors.Is(err, bpfsys.ErrNotSupported) || errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("table %s is a %s: the kernel has no %s for it: %w: %w", m.name, m.typ, cmd, ErrWrongTableType, err)
	}
	return m.wrap(cmd, err)
}

// LookupBatch reads every entry with BPF_MAP_LOOKUP_BATCH only (BCC's
// items_lookup_batch()), without ReadAll's fallback.
func (m *Map) LookupBatch() (Chunk, error) {
	return m.batchRead("batch lookup", bpfsys.LookupAllBatch)
}

// LookupAndDeleteBatch reads and removes every entry with
// BPF_MAP_LOOKUP_AND_DELETE_BATCH (BCC's items_lookup_and_delete_batch()).
func (m *Map) LookupAndDeleteBatch() (Chunk, error) {
	if err := m.check(opDelete); err != nil {
		return Chunk{}, err
	}
	if m.typ.IsArray() {
		return Chunk{}, m.refuse("array entries cannot be deleted")
	}
	return m.batchRead("batch lookup and delete", bpfsys.LookupAndDeleteAll)
}

func (m *Map) batchRead(cmd string, read func(fd, keySize, valueSize, maxEntries int, perCPU bool, ncpu int) ([]byte, []byte, int, error)) (Chunk, error) {
	if err := m.check(opRead); err != nil {
		return Chunk{}, err
	}
	var c Chunk
	err := m.WithFD(func(fd int) (err error) {
		c.Keys, c.Values, c.N, err = read(fd, m.keySize, m.leafSize, m.maxEntries, m.typ.PerCPU(), m.ncpu)
		return err
	})
	if err != nil {
		return Chunk{}, m.batchOnly(cmd, err)
	}
	return c, nil
}

// encodeKeys packs 1 to MaxEntries keys (BCC's limits) as the kernel's
// batch commands want them.
func (m *Map) encodeKeys(keys []any) ([]byte, error) {
	if len(keys) < 1 || len(keys) > m.maxEntries {
		return nil, fmt.Errorf("table %s: %d entries, want 1 to %d: %w", m.name, len(keys), m.maxEntries, ErrBatchSize)
	}
	out := make([]byte, len(keys)*m.keySize)
	for i, k := range keys {
		b, err := m.EncodeKey(k)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		copy(out[i*m.keySize:], b)
	}
	return out, nil
}

// DeleteBatch removes keys with one BPF_MAP_DELETE_BATCH call (BCC's
// items_delete_batch(keys)); nil keys empty the map as
// LookupAndDeleteBatch does. A missing key stops the batch with an error
// wrapping ErrKeyNotExist; the keys before it are gone.
func (m *Map) DeleteBatch(keys []any) error {
	if keys == nil {
		_, err := m.LookupAndDeleteBatch()
		return err
	}
	if err := m.check(opDelete); err != nil {
		return err
	}
	if m.typ.IsArray() {
		return m.refuse("array entries cannot be deleted")
	}
	kb, err := m.encodeKeys(keys)
	if err != nil {
		return err
	}
	var done uint32
	err = m.WithFD(func(fd int) (err error) {
		done, err = bpfsys.MapDeleteBatch(fd, kb, uint32(len(keys)), 0)
		return err
	})
	if err != nil {
		if done == 0 && !errors.Is(err, bpfsys.ErrKeyNotExist) {
			return m.batchOnly("batch delete", err)
		}
		return fmt.Errorf("table %s: batch delete stopped at key %d of %d: %w", m.name, done, len(keys), err)
	}
	return nil
}

// UpdateBatch stores values[i] under keys[i] with one BPF_MAP_UPDATE_BATCH
// call (BCC's items_update_batch(keys, values)); the lists must have the
// same length, from 1 to MaxEntries.
func (m *Map) UpdateBatch(keys, values []any) error {
	if err := m.check(opWrite); err != nil {
		return err
	}
	if m.typ.HoldsHandles() {
		return m.refuse("use Update for handles")
	}
	if len(keys) != len(values) {
		return fmt.Errorf("table %s: %d keys but %d values: %w", m.name, len(keys), len(values), ErrBatchSize)
	}
	kb, err := m.encodeKeys(keys)
	if err != nil {
		return err
	}
	stride := m.ValueStride()
	vb := make([]byte, len(values)*stride)
	for i, v := range values {
		b, err := m.EncodeValue(v)
		if err != nil {
			return fmt.Errorf("value %d: %w", i, err)
		}
		copy(vb[i*stride:], b)
	}
	var done uint32
	err = m.WithFD(func(fd int) (err error) {
		done, err = bpfsys.MapUpdateBatch(fd, kb, vb, uint32(len(keys)), 0)
		return err
	})
	if err != nil {
		if done == 0 {
			return m.batchOnly("batch update", err)
		}
		return fmt.Errorf("table %s: batch update stopped at entry %d of %d: %w", m.name, done, len(keys), err)
	}
	return nil
}

// Entries is ReadAll decoded.
func (m *Map) Entries() ([]Entry, error) {
	c, err := m.ReadAll()
	if err != nil {
		return nil, err
	}
	return DecodeAll(m, c, func(e Entry) Entry { return e })
}
