package bcc

import (
	"errors"
	"fmt"
	"iter"
	"sort"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/ctype"
)

// Item is one table entry. For per-CPU tables Value is invalid and PerCPU
// holds one value per possible CPU.
type Item struct {
	Key    Value
	Value  Value
	PerCPU []Value
}

// Table is one of the program's maps (BCC's b["name"]). It is valid until
// the BPF object is closed; its methods are safe for concurrent use.
//
// Locking: mu is read-held for the duration of every syscall on fd and
// write-held by close, so Close waits for operations in flight instead of
// closing the descriptor under them. The order is BPF.mu, then Table.mu
// (Close holds BPF.mu when it closes tables; Update with a *Function takes
// BPF.mu before Table.mu); no Table method takes BPF.mu while it holds
// Table.mu, and none read-locks a table it already holds.
type Table struct {
	b          *BPF
	mu         sync.RWMutex
	name       string
	fd         int // -1 once closed; written under both BPF.mu and mu
	mapType    MapType
	maxEntries int
	flags      int
	keySize    int
	leafSize   int
	keyType    *ctype.Type
	leafType   *ctype.Type
	keyCType   *CType // public descriptions of keyType and leafType
	leafCType  *CType
	keyDesc    string
	leafDesc   string
	fields     []string
	ncpu       int // possible CPUs, for per-CPU tables
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
		t := &Table{
			b: b, name: ct.Name, fd: ct.FD, mapType: MapType(ct.Type), maxEntries: ct.MaxEntries,
			flags: ct.Flags, keySize: ct.KeySize, leafSize: ct.LeafSize, keyDesc: ct.KeyDesc,
			leafDesc: ct.LeafDesc, fields: ct.Fields, ncpu: ncpu,
		}
		t.keyType = parseOrRaw(ct.KeyDesc, ct.KeySize)
		t.leafType = parseOrRaw(ct.LeafDesc, ct.LeafSize)
		// Described now, before the table is shared, so that Value.Type
		// only ever reads the descriptions.
		t.keyCType, t.leafCType = describe(t.keyType), describe(t.leafType)
		b.tables[ct.Name] = t
	}
	return nil
}

// parseOrRaw keeps a table usable (as bytes) when its description is one
// we cannot read.
func parseOrRaw(desc string, size int) *ctype.Type {
	if desc == "" {
		return ctype.Raw(size)
	}
	t, err := ctype.Parse(desc, size)
	if err != nil {
		return ctype.Raw(size)
	}
	return t
}

// close closes the map, waiting for operations in flight; the BPF object
// calls it holding its own mutex.
func (t *Table) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fd >= 0 {
		unix.Close(t.fd)
		t.fd = -1
	}
}

// withFD runs op with the map's descriptor, holding the read lock so that
// Close cannot close it meanwhile. op must not call other Table methods
// that lock t.
func (t *Table) withFD(op func(fd int) error) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.fd < 0 {
		return fmt.Errorf("table %s: %w", t.name, ErrClosed)
	}
	return op(t.fd)
}

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
func (t *Table) FD() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.fd
}

// Type is the map type.
func (t *Table) Type() MapType { return t.mapType }

// MaxEntries is the map's capacity.
func (t *Table) MaxEntries() int { return t.maxEntries }

// Flags are the map's creation flags.
func (t *Table) Flags() int { return t.flags }

// KeySize is the key's size in bytes, as libbcc created the map.
func (t *Table) KeySize() int { return t.keySize }

// LeafSize is the value's size in bytes (per CPU, for per-CPU maps).
func (t *Table) LeafSize() int { return t.leafSize }

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

func (t *Table) valueStride() int {
	return bpfsys.ValueStride(t.leafSize, t.mapType.PerCPU(), t.ncpu)
}

func (t *Table) decodeItem(k, v []byte) (Item, error) {
	key, err := t.keyType.Decode(k)
	if err != nil {
		return Item{}, err
	}
	if !t.mapType.PerCPU() {
		val, err := t.leafType.Decode(v)
		return Item{Key: Value{key}, Value: Value{val}}, err
	}
	vals, err := t.leafType.DecodePerCPU(v, t.ncpu)
	per := make([]Value, len(vals))
	for c, val := range vals {
		per[c] = Value{val}
	}
	return Item{Key: Value{key}, PerCPU: per}, err
}

// decodeAll decodes n packed keys and values; the Values own the buffers.
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

// Items reads every entry (BCC's items()). It uses batch lookups where the
// kernel has them and falls back to key iteration. Entries added or removed
// while it runs may or may not be seen.
func (t *Table) Items() ([]Item, error) {
	if err := t.checkOp(opRead); err != nil {
		return nil, err
	}
	var keys, vals []byte
	var n int
	err := t.withFD(func(fd int) (err error) {
		if t.mapType.holdsHandles() {
			// Empty slots of handle arrays are missing keys, which the
			// key walk steps over (BCC's items() does the same through
			// KeyError); these maps have no batch lookup anyway.
			keys, vals, n, err = bpfsys.LookupAllNextKey(fd, t.keySize, t.leafSize, t.maxEntries, false, 1)
		} else {
			keys, vals, n, err = bpfsys.LookupAll(fd, t.keySize, t.leafSize, t.maxEntries, t.mapType.PerCPU(), t.ncpu)
		}
		return err
	})
	if err != nil {
		return nil, t.wrap("", err)
	}
	return t.decodeAll(keys, vals, n)
}

// wrap prefixes err with the table's name and the operation, unless it is
// already a closed table's error.
func (t *Table) wrap(op string, err error) error {
	if errors.Is(err, ErrClosed) {
		return err
	}
	if op == "" {
		return fmt.Errorf("table %s: %w", t.name, err)
	}
	return fmt.Errorf("table %s: %s: %w", t.name, op, err)
}

// iterChunk is how many entries an iterator reads per syscall (batch) or
// per lock hold (key walk).
const iterChunk = 256

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
		for c, err := range t.chunks() {
			if err != nil {
				yield(Item{}, err)
				return
			}
			items, err := t.decodeAll(c.keys, c.vals, c.n)
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

// chunk is n packed keys and values, as bpfsys reads them.
type chunk struct {
	keys, vals []byte
	n          int
}

// chunks reads the table iterChunk entries at a time with a
// bpfsys.Walker, holding the table's lock for one chunk at a time. An error
// is the last thing it yields.
func (t *Table) chunks() iter.Seq2[chunk, error] {
	return func(yield func(chunk, error) bool) {
		if err := t.checkOp(opRead); err != nil {
			yield(chunk{}, err)
			return
		}
		handles := t.mapType.holdsHandles()
		w, err := bpfsys.NewWalker(t.keySize, t.leafSize, t.mapType.PerCPU() && !handles, t.ncpu, iterChunk, handles)
		if err != nil {
			yield(chunk{}, err)
			return
		}
		for {
			var keys, vals []byte
			var n int
			err := t.withFD(func(fd int) (err error) {
				keys, vals, n, err = w.Next(fd)
				return err
			})
			if err != nil {
				yield(chunk{}, t.wrap("", err))
				return
			}
			if n == 0 || !yield(chunk{keys, vals, n}, nil) {
				return
			}
		}
	}
}

// Keys returns every key.
func (t *Table) Keys() ([]Value, error) {
	items, err := t.Items()
	if err != nil {
		return nil, err
	}
	out := make([]Value, len(items))
	for i, it := range items {
		out[i] = it.Key
	}
	return out, nil
}

// Values returns every value (per-CPU tables: use Items). For queue and
// stack tables it pops them, at most MaxEntries, as BCC's values() does.
func (t *Table) Values() ([]Value, error) {
	if t.mapType == MapQueue || t.mapType == MapStack {
		return t.popValues()
	}
	items, err := t.Items()
	if err != nil {
		return nil, err
	}
	out := make([]Value, len(items))
	for i, it := range items {
		out[i] = it.Value
	}
	return out, nil
}

// Len counts the entries. For array types it is MaxEntries, as BCC's len().
func (t *Table) Len() (int, error) {
	if err := t.checkOp(opIterate); err != nil {
		return 0, err
	}
	if t.mapType.IsArray() {
		return t.maxEntries, nil
	}
	var n int
	err := t.withFD(func(fd int) (err error) {
		n, err = bpfsys.CountKeys(fd, t.keySize)
		return err
	})
	if err != nil {
		return n, t.wrap("", err)
	}
	return n, nil
}

// encodeKey accepts what the key's C type accepts (Go integers, strings for
// char arrays, map[string]any for structs, a Value, or []byte of the exact
// size) and, for array tables, negative indexes counted from the end.
func (t *Table) encodeKey(key any) ([]byte, error) {
	if t.mapType.IsArray() {
		if i, ok := asInt(key); ok {
			if i < 0 {
				i += int64(t.maxEntries)
			}
			if i < 0 || i >= int64(t.maxEntries) {
				return nil, fmt.Errorf("table %s: index %v out of range [0, %d): %w", t.name, key, t.maxEntries, ErrKeyNotExist)
			}
			key = i
		}
	}
	b, err := t.keyType.Encode(unwrap(key))
	if err != nil {
		return nil, fmt.Errorf("table %s: key: %w", t.name, errors.Join(ErrTypeMismatch, err))
	}
	return b, nil
}

func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	}
	return 0, false
}

// Lookup returns the value for key, or an error wrapping ErrKeyNotExist.
// For per-CPU tables use LookupPerCPU.
func (t *Table) Lookup(key any) (Value, error) {
	if t.mapType.PerCPU() {
		return Value{}, fmt.Errorf("table %s is per-CPU: use LookupPerCPU: %w", t.name, ErrWrongTableType)
	}
	it, err := t.lookup(key)
	return it.Value, err
}

// LookupPerCPU returns one value per possible CPU for key.
func (t *Table) LookupPerCPU(key any) ([]Value, error) {
	if !t.mapType.PerCPU() {
		return nil, fmt.Errorf("table %s is not per-CPU: %w", t.name, ErrWrongTableType)
	}
	it, err := t.lookup(key)
	return it.PerCPU, err
}

func (t *Table) lookup(key any) (Item, error) {
	if err := t.checkOp(opRead); err != nil {
		return Item{}, err
	}
	k, err := t.encodeKey(key)
	if err != nil {
		return Item{}, err
	}
	v := make([]byte, t.valueStride())
	if err := t.withFD(func(fd int) error { return bpfsys.MapLookup(fd, k, v) }); err != nil {
		return Item{}, t.wrap("lookup", err)
	}
	return t.decodeItem(k, v)
}

// Update sets key to value (BCC's table[key] = value). value is encoded
// from its C type as keys are; per-CPU tables take a []any or []Value with
// one value per possible CPU, or a single value for every CPU. Handle
// tables take what resolveHandle lists (a *Function, a *Table, a cgroup
// path, a descriptor).
func (t *Table) Update(key, value any) error {
	if err := t.checkOp(opWrite); err != nil {
		return err
	}
	k, err := t.encodeKey(key)
	if err != nil {
		return err
	}
	value, release, err := t.resolveHandle(value)
	if err != nil {
		return err
	}
	defer release()
	v, err := t.encodeValue(value)
	if err != nil {
		return err
	}
	if err := t.withFD(func(fd int) error { return bpfsys.MapUpdate(fd, k, v, 0) }); err != nil {
		return t.wrap("update", err)
	}
	return nil
}

func (t *Table) encodeValue(value any) (v []byte, err error) {
	if t.mapType.PerCPU() {
		v, err = t.leafType.EncodePerCPU(unwrap(value), t.ncpu)
	} else {
		v, err = t.leafType.Encode(unwrap(value))
	}
	if err != nil {
		return nil, fmt.Errorf("table %s: value: %w", t.name, errors.Join(ErrTypeMismatch, err))
	}
	return v, nil
}

// Delete removes key (BCC's del table[key]). For array tables, whose
// entries cannot be removed, it zeroes the entry as BCC does.
func (t *Table) Delete(key any) error {
	if err := t.checkOp(opDelete); err != nil {
		return err
	}
	k, err := t.encodeKey(key)
	if err != nil {
		return err
	}
	err = t.withFD(func(fd int) error {
		if t.mapType == MapArray || t.mapType == MapPercpuArray {
			return bpfsys.MapUpdate(fd, k, make([]byte, t.valueStride()), 0)
		}
		return bpfsys.MapDelete(fd, k)
	})
	if err != nil {
		return t.wrap("delete", err)
	}
	return nil
}

// Clear removes every entry (BCC's clear()); for arrays, whose entries
// cannot be removed, it zeroes every entry. It uses batch operations where
// the kernel has them: one update-batch call per 4096 array entries, one
// lookup-and-delete-batch call per 4096 hash entries.
func (t *Table) Clear() error {
	if err := t.checkOp(opClear); err != nil {
		return err
	}
	if err := t.withFD(t.clear); err != nil {
		return t.wrap("clear", err)
	}
	return nil
}
