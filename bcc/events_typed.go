package bcc

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"unsafe"
)

// EventDecoder decodes a table's records into the Go type T.
type EventDecoder[T any] struct {
	table *Table
	size  int
	// direct says T's Go memory layout is its binary layout (no implicit
	// padding, no bool, nothing but fixed-size data), so a record is
	// copied into it byte for byte instead of field by field.
	direct bool
}

// EventOf returns a decoder of the table's records into T, a fixed-size
// (encoding/binary) type laid out like the C event struct: the same fields
// in order, with explicit `_ [N]byte` fields where C pads. Its size must
// equal that of the table's EventType, so that a wrong struct is an error
// (wrapping ErrTypeMismatch), not garbage; when libbcc did not see the
// event's struct (the program submits a plain buffer), the size is checked
// against each record instead.
func EventOf[T any](t *Table) (*EventDecoder[T], error) {
	if t.mapType != MapPerfEventArray && t.mapType != MapRingbuf {
		return nil, fmt.Errorf("table %s is a %s, not a perf or ring buffer: %w", t.name, t.mapType, ErrWrongTableType)
	}
	var v T
	n := binary.Size(v)
	if n <= 0 {
		return nil, fmt.Errorf("table %s: Go event type %T is %s: %w", t.name, v, sizeText(n), ErrTypeMismatch)
	}
	if typ, err := t.EventType(); err == nil && typ.Size != n {
		return nil, fmt.Errorf("table %s: Go event type %T is %d bytes, C event %s is %d bytes: %w", t.name, v, n, typ, typ.Size, ErrTypeMismatch)
	}
	return &EventDecoder[T]{table: t, size: n, direct: int(unsafe.Sizeof(v)) == n && !hasBool(reflect.TypeOf(v))}, nil
}

// hasBool reports whether a bool hides in t: copying arbitrary bytes into
// a Go bool is not allowed, so such types decode field by field.
func hasBool(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool:
		return true
	case reflect.Array:
		return hasBool(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if hasBool(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// Size is the size of T in bytes.
func (d *EventDecoder[T]) Size() int { return d.size }

// Decode decodes one record. Records may be longer than T (perf buffers
// pad them to 8 bytes); shorter ones are an error wrapping ErrTypeMismatch.
func (d *EventDecoder[T]) Decode(data []byte) (T, error) {
	var v T
	err := d.DecodeInto(data, &v)
	return v, err
}

// DecodeInto decodes one record into *v, which saves a copy of T per
// record in hot loops.
func (d *EventDecoder[T]) DecodeInto(data []byte, v *T) error {
	if len(data) < d.size {
		return fmt.Errorf("table %s: %d-byte record for a %d-byte %T: %w", d.table.name, len(data), d.size, *v, ErrTypeMismatch)
	}
	if d.direct {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(v)), d.size), data)
		return nil
	}
	_, err := binary.Decode(data[:d.size], binary.NativeEndian, v)
	return err
}
