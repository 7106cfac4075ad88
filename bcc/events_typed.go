package bcc

import (
	"fmt"

	"github.com/gobcc/gobcc/internal/events"
)

// EventDecoder decodes a table's records into the Go type T.
type EventDecoder[T any] struct {
	table *Table
	c     events.Copier[T]
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
	c := events.NewCopier[T]()
	if c.Size <= 0 {
		return nil, fmt.Errorf("table %s: Go event type %T is %s: %w", t.name, v, sizeText(c.Size), ErrTypeMismatch)
	}
	if typ, err := t.EventType(); err == nil && typ.Size != c.Size {
		return nil, fmt.Errorf("table %s: Go event type %T is %d bytes, C event %s is %d bytes: %w", t.name, v, c.Size, typ, typ.Size, ErrTypeMismatch)
	}
	return &EventDecoder[T]{table: t, c: c}, nil
}

// Size is the size of T in bytes.
func (d *EventDecoder[T]) Size() int { return d.c.Size }

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
	if len(data) < d.c.Size {
		return fmt.Errorf("table %s: %d-byte record for a %d-byte %T: %w", d.table.name, len(data), d.c.Size, *v, ErrTypeMismatch)
	}
	return d.c.Decode(data, v)
}
