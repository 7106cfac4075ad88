package bcc

import (
	"iter"

	"github.com/gobcc/gobcc/internal/maps"
)

// TypedTable is a Table read and written as Go types K and V, which must be
// fixed-size (encoding/binary) types whose sizes equal the C key and value
// sizes: uint64 for u64, [16]byte for char[16], a struct with the same
// fields for a C struct, with explicit `_ [N]byte` fields where C pads.
type TypedTable[K, V any] struct {
	t *Table
	f *maps.Fixed[K, V]
}

// TableOf views t through Go types. It returns an error wrapping
// ErrTypeMismatch when a type is not fixed-size or its size is not the C
// type's, so that a wrong type is an error, not garbage.
func TableOf[K, V any](t *Table) (*TypedTable[K, V], error) {
	f, err := maps.NewFixed[K, V](t.m)
	if err != nil {
		return nil, err
	}
	return &TypedTable[K, V]{t: t, f: f}, nil
}

// sizeText describes binary.Size's answer for an error message.
func sizeText(n int) string { return maps.SizeText(n) }

// Table returns the untyped table.
func (tt *TypedTable[K, V]) Table() *Table { return tt.t }

// Lookup returns the value for k, or an error wrapping ErrKeyNotExist.
func (tt *TypedTable[K, V]) Lookup(k K) (V, error) { return tt.f.Lookup(k) }

// Update sets k to v.
func (tt *TypedTable[K, V]) Update(k K, v V) error { return tt.f.Update(k, v) }

// Delete removes k (zeroes it, for arrays).
func (tt *TypedTable[K, V]) Delete(k K) error { return tt.f.Delete(k) }

// TypedItem is one entry of a TypedTable.
type TypedItem[K, V any] struct {
	Key   K
	Value V
}

// All iterates over the entries as Table.All does, a chunk at a time; a
// read error is yielded once, with a zero item, and ends the iteration.
func (tt *TypedTable[K, V]) All() iter.Seq2[TypedItem[K, V], error] {
	return func(yield func(TypedItem[K, V], error) bool) {
		for c, err := range tt.t.m.Chunks() {
			var keys []K
			var vals []V
			if err == nil {
				keys, vals, err = tt.f.Decode(c)
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
func (tt *TypedTable[K, V]) Items() ([]K, []V, error) { return tt.f.Items() }
