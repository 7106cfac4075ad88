package bcc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"iter"

	"github.com/gobcc/gobcc/internal/bpfsys"
)

// TypedTable is a Table read and written as Go types K and V, which must be
// fixed-size (encoding/binary) types whose sizes equal the C key and value
// sizes: uint64 for u64, [16]byte for char[16], a struct with the same
// fields for a C struct, with explicit `_ [N]byte` fields where C pads.
type TypedTable[K, V any] struct {
	t *Table
}

// TableOf views t through Go types. It returns an error wrapping
// ErrTypeMismatch when a type is not fixed-size or its size is not the C
// type's, so that a wrong type is an error, not garbage.
func TableOf[K, V any](t *Table) (*TypedTable[K, V], error) {
	var k K
	var v V
	if n := binary.Size(k); n != t.keySize {
		return nil, fmt.Errorf("table %s: Go key type %T is %s, C key %s is %d bytes: %w", t.name, k, sizeText(n), t.keyType, t.keySize, ErrTypeMismatch)
	}
	if n := binary.Size(v); n != t.leafSize {
		return nil, fmt.Errorf("table %s: Go value type %T is %s, C value %s is %d bytes: %w", t.name, v, sizeText(n), t.leafType, t.leafSize, ErrTypeMismatch)
	}
	if t.mapType.PerCPU() {
		return nil, fmt.Errorf("table %s is per-CPU: use Items/LookupPerCPU: %w", t.name, ErrWrongTableType)
	}
	return &TypedTable[K, V]{t: t}, nil
}

func sizeText(n int) string {
	if n < 0 {
		return "not a fixed-size type"
	}
	return fmt.Sprintf("%d bytes", n)
}

func encodeFixed(x any, size int) []byte {
	buf := bytes.NewBuffer(make([]byte, 0, size))
	// Sizes were checked in TableOf, so Write cannot fail.
	binary.Write(buf, binary.NativeEndian, x)
	return buf.Bytes()
}

// Table returns the untyped table.
func (tt *TypedTable[K, V]) Table() *Table { return tt.t }

// Lookup returns the value for k, or an error wrapping ErrKeyNotExist.
func (tt *TypedTable[K, V]) Lookup(k K) (V, error) {
	var v V
	t := tt.t
	if err := t.checkOp(opRead); err != nil {
		return v, err
	}
	buf := make([]byte, t.leafSize)
	kb := encodeFixed(k, t.keySize)
	if err := t.withFD(func(fd int) error { return bpfsys.MapLookup(fd, kb, buf) }); err != nil {
		return v, t.wrap("lookup", err)
	}
	_, err := binary.Decode(buf, binary.NativeEndian, &v)
	return v, err
}

// Update sets k to v.
func (tt *TypedTable[K, V]) Update(k K, v V) error {
	t := tt.t
	if err := t.checkOp(opWrite); err != nil {
		return err
	}
	kb, vb := encodeFixed(k, t.keySize), encodeFixed(v, t.leafSize)
	if err := t.withFD(func(fd int) error { return bpfsys.MapUpdate(fd, kb, vb, 0) }); err != nil {
		return t.wrap("update", err)
	}
	return nil
}

// Delete removes k (zeroes it, for arrays).
func (tt *TypedTable[K, V]) Delete(k K) error {
	return tt.t.Delete(encodeFixed(k, tt.t.keySize))
}

// TypedItem is one entry of a TypedTable.
type TypedItem[K, V any] struct {
	Key   K
	Value V
}

// All iterates over the entries as Table.All does, a chunk at a time; a
// read error is yielded once, with a zero item, and ends the iteration.
func (tt *TypedTable[K, V]) All() iter.Seq2[TypedItem[K, V], error] {
	return func(yield func(TypedItem[K, V], error) bool) {
		for c, err := range tt.t.chunks() {
			var keys []K
			var vals []V
			if err == nil {
				keys, vals, err = tt.decode(c.keys, c.vals, c.n)
			}
			if err != nil {
				yield(TypedItem[K, V]{}, err)
				return
			}
			for i := range keys {
				if !yield(TypedItem[K, V]{keys[i], vals[i]}, nil) {
					return
				}
			}
		}
	}
}

// Items returns every key and value.
func (tt *TypedTable[K, V]) Items() ([]K, []V, error) {
	t := tt.t
	if err := t.checkOp(opRead); err != nil {
		return nil, nil, err
	}
	var kb, vb []byte
	var n int
	err := t.withFD(func(fd int) (err error) {
		kb, vb, n, err = bpfsys.LookupAll(fd, t.keySize, t.leafSize, t.maxEntries, false, 1)
		return err
	})
	if err != nil {
		return nil, nil, t.wrap("", err)
	}
	return tt.decode(kb, vb, n)
}

// decode decodes n packed keys and values.
func (tt *TypedTable[K, V]) decode(kb, vb []byte, n int) ([]K, []V, error) {
	t := tt.t
	keys := make([]K, n)
	vals := make([]V, n)
	for i := range n {
		if _, err := binary.Decode(kb[i*t.keySize:(i+1)*t.keySize], binary.NativeEndian, &keys[i]); err != nil {
			return nil, nil, err
		}
		if _, err := binary.Decode(vb[i*t.leafSize:(i+1)*t.leafSize], binary.NativeEndian, &vals[i]); err != nil {
			return nil, nil, err
		}
	}
	return keys, vals, nil
}
