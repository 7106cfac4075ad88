package bcc

import (
	"fmt"
	"iter"
	"sort"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/ctype"
	"github.com/gobcc/gobcc/internal/maps"
)

// ErrBatchSize means a batch call got no entries, more entries than the
// table holds, or key and value lists of different lengths (BCC raises
// ValueError for the same cases).
var ErrBatchSize = maps.ErrBatchSize

// Item is one table entry. For per-CPU tables Value is invalid and PerCPU
// holds one value per possible CPU.
type Item struct {
	Key    Value
	Value  Value
	PerCPU []Value
}

// Table is one of the program's maps (BCC's b["name"]). It is valid until
// the BPF object is closed; its methods are safe for concurrent use, and
// Close waits for the calls in flight (internal/maps). The lock order is
// BPF.mu, then the map's: Update with a *Function holds BPF.mu around it.
type Table struct {
	b          *BPF
	m          *maps.Map
	name       string // copies of m's, for the events API
	mapType    MapType
	maxEntries int
	fields     []string
	keyCType   *CType // public descriptions of m's key and leaf types
	leafCType  *CType
	keyDesc    string
	leafDesc   string
	event      eventTypeCache
}

func (b *BPF) openTables() error {
	ncpu := 1
	for _, t := range b.result.Tables {
		if MapType(t.Type).PerCPU() && ncpu == 1 {
			n, err := bpfsys.PossibleCPUs()
			if err != nil {
				return err
			}
			ncpu = n
		}
	}
	for _, ct := range b.result.Tables {
		m := maps.New(maps.Spec{Name: ct.Name, Type: maps.Type(ct.Type), FD: ct.FD, MaxEntries: ct.MaxEntries,
			Flags: ct.Flags, KeySize: ct.KeySize, LeafSize: ct.LeafSize, KeyDesc: ct.KeyDesc,
			LeafDesc: ct.LeafDesc, PossibleCPUs: ncpu})
		// Described now, before the table is shared, so that Value.Type
		// only ever reads the descriptions.
		b.tables[ct.Name] = &Table{b: b, m: m, name: ct.Name, mapType: MapType(ct.Type), maxEntries: ct.MaxEntries,
			fields: ct.Fields, keyCType: describe(m.Key()), leafCType: describe(m.Leaf()),
			keyDesc: ct.KeyDesc, leafDesc: ct.LeafDesc}
	}
	return nil
}

// close closes the map, waiting for operations in flight; the BPF object
// calls it holding its own mutex.
func (t *Table) close() { t.m.Close() }

// Table returns the table declared with this name (BCC's b["name"]).
func (b *BPF) Table(name string) (*Table, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	t, ok := b.tables[name]
	if !ok {
		names := make([]string, 0, len(b.tables))
		for n := range b.tables {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("%w: %q (the program declares %v)", ErrTableNotFound, name, names)
	}
	return t, nil
}

// Tables returns the program's tables sorted by name.
func (b *BPF) Tables() []*Table {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]*Table, 0, len(b.tables))
	for _, t := range b.tables {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Name is the table's name in the C program.
func (t *Table) Name() string { return t.name }

// FD is the map's file descriptor, owned by the BPF object, or -1 after
// Close. The caller must not close it, nor use it after Close.
func (t *Table) FD() int { return t.m.FD() }

// Type is the map type.
func (t *Table) Type() MapType { return t.mapType }

// MaxEntries is the map's capacity.
func (t *Table) MaxEntries() int { return t.maxEntries }

// Flags are the map's creation flags.
func (t *Table) Flags() int { return t.m.Flags() }

// KeySize is the key's size in bytes, as libbcc created the map.
func (t *Table) KeySize() int { return t.m.KeySize() }

// LeafSize is the value's size in bytes (per CPU, for per-CPU maps).
func (t *Table) LeafSize() int { return t.m.LeafSize() }

// KeyType describes the key's C type (BCC's t.Key); opaque bytes of
// KeySize when libbcc's description could not be read.
func (t *Table) KeyType() *CType { return t.keyCType }

// LeafType describes the value's C type (BCC's t.Leaf), per CPU for
// per-CPU tables.
func (t *Table) LeafType() *CType { return t.leafCType }

// KeyDesc is libbcc's JSON description of the key type.
func (t *Table) KeyDesc() string { return t.keyDesc }

// LeafDesc is libbcc's JSON description of the value type.
func (t *Table) LeafDesc() string { return t.leafDesc }

// toItem is the public form of a decoded entry.
func toItem(e maps.Entry) Item {
	return Item{Key: Value{e.Key}, Value: Value{e.Value}, PerCPU: values(e.PerCPU)}
}

// values wraps decoded values, keeping nil nil.
func values(vs []ctype.Value) []Value {
	if vs == nil {
		return nil
	}
	out := make([]Value, len(vs))
	for i, v := range vs {
		out[i] = Value{v}
	}
	return out
}

// items decodes a chunk the map read; the Values own its buffers.
func (t *Table) items(c maps.Chunk, err error) ([]Item, error) {
	if err != nil {
		return nil, err
	}
	return maps.DecodeAll(t.m, c, toItem)
}

// Items reads every entry (BCC's items()). It uses batch lookups where the
// kernel has them and falls back to key iteration. Entries added or removed
// while it runs may or may not be seen.
func (t *Table) Items() ([]Item, error) { return t.items(t.m.ReadAll()) }

// All iterates over the entries, reading them 256 at a time with batch
// lookups (or a key walk, as Items falls back to) and yielding each chunk
// before reading the next, so a large table is never held in memory twice.
// A read error, for instance ErrClosed after a concurrent Close, is yielded
// once with a zero Item and ends the iteration: every iterator of this
// package follows that rule. Entries changed during the iteration may or
// may not be seen. The table is not locked while the loop body runs, so
// the body may call any method, Close included.
func (t *Table) All() iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		for c, err := range t.m.Chunks() {
			items, err := t.items(c, err)
			if err != nil {
				yield(Item{}, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
		}
	}
}

// Keys returns every key.
func (t *Table) Keys() ([]Value, error) {
	items, err := t.Items()
	out := make([]Value, len(items))
	for i, it := range items {
		out[i] = it.Key
	}
	return out, err
}

// Values returns every value (per-CPU tables: use Items). For queue and
// stack tables it pops them, at most MaxEntries, as BCC's values() does.
func (t *Table) Values() ([]Value, error) {
	if t.mapType == MapQueue || t.mapType == MapStack {
		vals, err := t.m.PopAll()
		return values(vals), err
	}
	items, err := t.Items()
	out := make([]Value, len(items))
	for i, it := range items {
		out[i] = it.Value
	}
	return out, err
}

// Len counts the entries. For array types it is MaxEntries, as BCC's len().
func (t *Table) Len() (int, error) { return t.m.Len() }

// Lookup returns the value for key, or an error wrapping ErrKeyNotExist.
// Keys are encoded from their C type: Go integers, strings for char
// arrays, map[string]any for structs, a Value, or []byte of the exact
// size; array tables also take negative indexes, counted from the end.
// For per-CPU tables use LookupPerCPU.
func (t *Table) Lookup(key any) (Value, error) {
	v, err := t.m.LookupValue(unwrap(key))
	return Value{v}, err
}

// LookupPerCPU returns one value per possible CPU for key.
func (t *Table) LookupPerCPU(key any) ([]Value, error) {
	vals, err := t.m.LookupPerCPU(unwrap(key))
	return values(vals), err
}

// Update sets key to value (BCC's table[key] = value). value is encoded
// from its C type as keys are; per-CPU tables take a []any or []Value with
// one value per possible CPU, or a single value for every CPU. Handle
// tables take a *Function (prog arrays), a *Table (maps of maps), a cgroup
// directory's path (cgroup arrays) or a descriptor.
func (t *Table) Update(key, value any) error {
	switch v := value.(type) {
	case *Function:
		if err := t.m.CheckHoldsPrograms(); err != nil {
			return err
		}
		if v == nil || v.FD < 0 {
			return fmt.Errorf("table %s: function not loaded: %w", t.name, ErrTypeMismatch)
		}
		// Close closes functions under b.mu: hold it (before the map's
		// lock, the lock order) so that the program fd stays open.
		t.b.mu.Lock()
		defer t.b.mu.Unlock()
		if t.b.closed {
			return fmt.Errorf("table %s: %w", t.name, ErrClosed)
		}
		value = v.FD
	case *Table:
		var inner *maps.Map // nil for a nil *Table: HoldInner refuses it
		if v != nil {
			inner = v.m
		}
		fd, release, err := t.m.HoldInner(inner)
		if err != nil {
			return err
		}
		defer release()
		value = fd
	}
	return t.m.Update(unwrap(key), unwrap(value))
}

// SetFunction stores fn in a prog array at index idx so that BPF programs
// can tail-call it with table.call(ctx, idx); it is Update(idx, fn). fn must
// be loaded with the program type of the functions that call it.
func (t *Table) SetFunction(idx int, fn *Function) error {
	if t.mapType != MapProgArray {
		return fmt.Errorf("table %s is a %s, not a prog_array: %w", t.name, t.mapType, ErrWrongTableType)
	}
	return t.Update(idx, fn)
}

// Delete removes key (BCC's del table[key]). For array tables, whose
// entries cannot be removed, it zeroes the entry as BCC does.
func (t *Table) Delete(key any) error { return t.m.Delete(unwrap(key)) }

// Clear removes every entry (BCC's clear()); for arrays, whose entries
// cannot be removed, it zeroes every entry. It uses batch operations where
// the kernel has them: one update-batch call per 4096 array entries, one
// lookup-and-delete-batch call per 4096 hash entries.
func (t *Table) Clear() error { return t.m.Clear() }

// Zero sets every value to zero and keeps the keys (BCC's zero()): for
// arrays every index, for hash-type tables every key present when it reads
// them (read first, as BCC does, so that updates cannot disturb a walk in
// progress); a key deleted after that read stays deleted. Tables whose
// values are handles (prog arrays, maps of maps, ...) give an error
// wrapping ErrWrongTableType.
func (t *Table) Zero() error { return t.m.Zero() }

// ItemsLookupBatch reads every entry with BPF_MAP_LOOKUP_BATCH only (BCC's
// items_lookup_batch()). Unlike Items it does not fall back to walking the
// keys: map types without batch lookup (and kernels before 5.6) give an
// error wrapping ErrWrongTableType.
func (t *Table) ItemsLookupBatch() ([]Item, error) { return t.items(t.m.LookupBatch()) }

// ItemsLookupAndDeleteBatch reads and removes every entry with
// BPF_MAP_LOOKUP_AND_DELETE_BATCH (BCC's items_lookup_and_delete_batch()),
// returning what it removed. Hash-type tables have it; arrays, whose
// entries cannot be removed, give an error wrapping ErrWrongTableType.
// Entries BPF programs add meanwhile may stay.
func (t *Table) ItemsLookupAndDeleteBatch() ([]Item, error) {
	return t.items(t.m.LookupAndDeleteBatch())
}

// ItemsDeleteBatch removes keys with one BPF_MAP_DELETE_BATCH call (BCC's
// items_delete_batch(keys)). With nil keys it empties the table as
// ItemsLookupAndDeleteBatch does. A key that is not in the table stops the
// batch with an error wrapping ErrKeyNotExist; the keys before it are gone.
func (t *Table) ItemsDeleteBatch(keys []any) error {
	if keys == nil {
		return t.m.DeleteBatch(nil)
	}
	return t.m.DeleteBatch(unwrap(keys).([]any))
}

// ItemsUpdateBatch stores values[i] under keys[i] with one
// BPF_MAP_UPDATE_BATCH call (BCC's items_update_batch(keys, values)). Keys
// and values take the Go forms Update takes (for per-CPU tables, one value
// for every CPU or a slice of them). The lists must have the same length,
// from 1 to MaxEntries.
func (t *Table) ItemsUpdateBatch(keys, values []any) error {
	return t.m.UpdateBatch(unwrap(keys).([]any), unwrap(values).([]any))
}

// Sum adds key's values over every possible CPU (BCC's PerCpuHash.sum and
// PerCpuArray.sum). The result is a value of the leaf type, wrapping at its
// width as BCC's does. Unlike BCC it works for integer leaves of any size.
func (t *Table) Sum(key any) (Value, error) {
	v, err := t.m.Sum(unwrap(key))
	return Value{v}, err
}

// Max returns key's largest value over every possible CPU (BCC's max()).
func (t *Table) Max(key any) (Value, error) {
	v, err := t.m.Max(unwrap(key))
	return Value{v}, err
}

// Average is Sum divided by the number of possible CPUs (BCC's average()).
func (t *Table) Average(key any) (float64, error) { return t.m.Average(unwrap(key)) }

// PossibleCPUs is the number of values a per-CPU table keeps per key (0 for
// other tables).
func (t *Table) PossibleCPUs() int {
	if !t.mapType.PerCPU() {
		return 0
	}
	return t.m.PossibleCPUs()
}

// Flags for Push.
const (
	// PushAny adds a value and fails when the queue or stack is full.
	PushAny uint64 = 0
	// PushExist makes room in a full queue or stack by dropping its oldest
	// value (BPF_EXIST; BCC's QueueStack.BPF_EXIST).
	PushExist uint64 = 2
)

// Push adds a value to a BPF_QUEUE or BPF_STACK table (BCC's push). value
// is encoded from the C value type as Update encodes values. flags is
// PushAny or PushExist; a full table without PushExist fails with an
// error matching unix.E2BIG.
func (t *Table) Push(value any, flags uint64) error { return t.m.Push(unwrap(value), flags) }

// Pop removes and returns the next value: the oldest of a queue, the
// newest of a stack (BCC's pop). An empty table gives an error wrapping
// ErrKeyNotExist.
func (t *Table) Pop() (Value, error) {
	v, err := t.m.Pop()
	return Value{v}, err
}

// Peek returns the value Pop would return without removing it (BCC's
// peek). An empty table gives an error wrapping ErrKeyNotExist.
func (t *Table) Peek() (Value, error) {
	v, err := t.m.Peek()
	return Value{v}, err
}
