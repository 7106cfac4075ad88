package bcc

import (
	"errors"
	"fmt"
	"iter"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/ctype"
)

// Value is a key or leaf decoded from its C type. It reads its bytes
// lazily: Uint64, Int64, Str, Field, Index, String, Interface and
// MarshalJSON. The bytes it holds belong to it.
type Value = ctype.Value

// CType describes a C type as libbcc declared it to the table.
type CType = ctype.Type

// Item is one table entry. For per-CPU tables Value is invalid and PerCPU
// holds one value per possible CPU.
type Item struct {
	Key    Value
	Value  Value
	PerCPU []Value
}

// Table is one of the program's maps (BCC's b["name"]). It is valid until
// the BPF object is closed; its methods are safe for concurrent use.
type Table struct {
	b          *BPF
	name       string
	fd         int
	mapType    MapType
	maxEntries int
	flags      int
	keySize    int
	leafSize   int
	keyType    *ctype.Type
	leafType   *ctype.Type
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

func (t *Table) close() {
	if t.fd >= 0 {
		unix.Close(t.fd)
		t.fd = -1
	}
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

// FD is the map's file descriptor, owned by the BPF object.
func (t *Table) FD() int { return t.fd }

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

// KeyType is the key's C type.
func (t *Table) KeyType() *CType { return t.keyType }

// LeafType is the value's C type.
func (t *Table) LeafType() *CType { return t.leafType }

// KeyDesc is libbcc's JSON description of the key type.
func (t *Table) KeyDesc() string { return t.keyDesc }

// LeafDesc is libbcc's JSON description of the value type.
func (t *Table) LeafDesc() string { return t.leafDesc }

func (t *Table) valueStride() int {
	return bpfsys.ValueStride(t.leafSize, t.mapType.PerCPU(), t.ncpu)
}

func (t *Table) check() error {
	t.b.mu.Lock()
	closed := t.b.closed || t.fd < 0 // Close writes t.fd under b.mu
	t.b.mu.Unlock()
	if closed {
		return ErrClosed
	}
	switch t.mapType {
	case MapPerfEventArray, MapRingbuf, MapQueue, MapStack:
		return fmt.Errorf("table %s is a %s: %w", t.name, t.mapType, ErrWrongTableType)
	}
	return nil
}

func (t *Table) decodeItem(k, v []byte) (Item, error) {
	key, err := t.keyType.Decode(k)
	if err != nil {
		return Item{}, err
	}
	if !t.mapType.PerCPU() {
		val, err := t.leafType.Decode(v)
		if err != nil {
			return Item{}, err
		}
		return Item{Key: key, Value: val}, nil
	}
	stride := (t.leafSize + 7) &^ 7
	per := make([]Value, t.ncpu)
	for c := range per {
		per[c], err = t.leafType.Decode(v[c*stride : c*stride+t.leafSize])
		if err != nil {
			return Item{}, err
		}
	}
	return Item{Key: key, PerCPU: per}, nil
}

// Items reads every entry (BCC's items()). It uses batch lookups where the
// kernel has them and falls back to key iteration. Entries added or removed
// while it runs may or may not be seen.
func (t *Table) Items() ([]Item, error) {
	if err := t.checkOp(opRead); err != nil {
		return nil, err
	}
	if t.mapType.holdsHandles() {
		return t.itemsByIndex()
	}
	keys, vals, n, err := bpfsys.LookupAll(t.fd, t.keySize, t.leafSize, t.maxEntries, t.mapType.PerCPU(), t.ncpu)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", t.name, err)
	}
	stride := t.valueStride()
	items := make([]Item, n)
	for i := 0; i < n; i++ {
		items[i], err = t.decodeItem(keys[i*t.keySize:(i+1)*t.keySize], vals[i*stride:(i+1)*stride])
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", t.name, err)
		}
	}
	return items, nil
}

// All iterates over the entries, reading them in one pass first as Items
// does.
func (t *Table) All() iter.Seq2[Value, Value] {
	return func(yield func(Value, Value) bool) {
		items, err := t.Items()
		if err != nil {
			return
		}
		for _, it := range items {
			if !yield(it.Key, it.Value) {
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
	key := make([]byte, t.keySize)
	next := make([]byte, t.keySize)
	n := 0
	var prev []byte
	for {
		err := bpfsys.MapGetNextKey(t.fd, prev, next)
		if errors.Is(err, bpfsys.ErrKeyNotExist) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("table %s: %w", t.name, err)
		}
		n++
		copy(key, next)
		prev = key
	}
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
	b, err := t.keyType.Encode(key)
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
	if err := bpfsys.MapLookup(t.fd, k, v); err != nil {
		return Item{}, fmt.Errorf("table %s: lookup: %w", t.name, err)
	}
	return t.decodeItem(k, v)
}

// Update sets key to value (BCC's table[key] = value). value is encoded
// from its C type as keys are; per-CPU tables take a []any or []Value with
// one value per possible CPU, or a single value for every CPU.
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
	if err := bpfsys.MapUpdate(t.fd, k, v, 0); err != nil {
		return fmt.Errorf("table %s: update: %w", t.name, err)
	}
	return nil
}

func (t *Table) encodeValue(value any) ([]byte, error) {
	if !t.mapType.PerCPU() {
		v, err := t.leafType.Encode(value)
		if err != nil {
			return nil, fmt.Errorf("table %s: value: %w", t.name, errors.Join(ErrTypeMismatch, err))
		}
		return v, nil
	}
	stride := (t.leafSize + 7) &^ 7
	out := make([]byte, stride*t.ncpu)
	var each []any
	switch vs := value.(type) {
	case []any:
		each = vs
	case []Value:
		for _, v := range vs {
			each = append(each, v)
		}
	default:
		for c := 0; c < t.ncpu; c++ {
			each = append(each, value)
		}
	}
	if len(each) != t.ncpu {
		return nil, fmt.Errorf("table %s: %d per-CPU values for %d possible CPUs: %w", t.name, len(each), t.ncpu, ErrTypeMismatch)
	}
	for c, v := range each {
		if err := t.leafType.EncodeTo(out[c*stride:c*stride+t.leafSize], v); err != nil {
			return nil, fmt.Errorf("table %s: value for CPU %d: %w", t.name, c, errors.Join(ErrTypeMismatch, err))
		}
	}
	return out, nil
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
	if t.mapType == MapArray || t.mapType == MapPercpuArray {
		return bpfsys.MapUpdate(t.fd, k, make([]byte, t.valueStride()), 0)
	}
	if err := bpfsys.MapDelete(t.fd, k); err != nil {
		return fmt.Errorf("table %s: delete: %w", t.name, err)
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
	if err := t.clear(); err != nil {
		return fmt.Errorf("table %s: clear: %w", t.name, err)
	}
	return nil
}
