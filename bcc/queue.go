package bcc

import (
	"errors"
	"fmt"

	"github.com/gobcc/gobcc/internal/bpfsys"
)

// Flags for Push.
const (
	// PushAny adds a value and fails when the queue or stack is full.
	PushAny uint64 = 0
	// PushExist makes room in a full queue or stack by dropping its oldest
	// value (BPF_EXIST; BCC's QueueStack.BPF_EXIST).
	PushExist uint64 = 2
)

func (t *Table) checkQueueStack() error {
	if t.mapType != MapQueue && t.mapType != MapStack {
		return fmt.Errorf("table %s is a %s, not a queue or stack: %w", t.name, t.mapType, ErrWrongTableType)
	}
	return nil
}

// Push adds a value to a BPF_QUEUE or BPF_STACK table (BCC's push). value
// is encoded from the C value type as Update encodes values. flags is
// PushAny or PushExist; a full table without PushExist fails with an
// error matching unix.E2BIG.
func (t *Table) Push(value any, flags uint64) error {
	if err := t.checkQueueStack(); err != nil {
		return err
	}
	v, err := t.leafType.Encode(unwrap(value))
	if err != nil {
		return fmt.Errorf("table %s: value: %w", t.name, errors.Join(ErrTypeMismatch, err))
	}
	if err := t.withFD(func(fd int) error { return bpfsys.MapUpdate(fd, nil, v, flags) }); err != nil {
		return t.wrap("push", err)
	}
	return nil
}

// Pop removes and returns the next value: the oldest of a queue, the
// newest of a stack (BCC's pop). An empty table gives an error wrapping
// ErrKeyNotExist.
func (t *Table) Pop() (Value, error) {
	if err := t.checkQueueStack(); err != nil {
		return Value{}, err
	}
	v := make([]byte, t.leafSize)
	if err := t.withFD(func(fd int) error { return bpfsys.MapLookupAndDelete(fd, nil, v) }); err != nil {
		return Value{}, t.wrap("pop", err)
	}
	val, err := t.leafType.Decode(v)
	return Value{val}, err
}

// Peek returns the value Pop would return without removing it (BCC's
// peek). An empty table gives an error wrapping ErrKeyNotExist.
func (t *Table) Peek() (Value, error) {
	if err := t.checkQueueStack(); err != nil {
		return Value{}, err
	}
	v := make([]byte, t.leafSize)
	if err := t.withFD(func(fd int) error { return bpfsys.MapLookup(fd, nil, v) }); err != nil {
		return Value{}, t.wrap("peek", err)
	}
	val, err := t.leafType.Decode(v)
	return Value{val}, err
}

// popValues pops until the table is empty, at most MaxEntries values so
// that a program pushing as fast as we pop cannot keep it going (BCC's
// QueueStack.values).
func (t *Table) popValues() ([]Value, error) {
	var out []Value
	for range t.maxEntries {
		v, err := t.Pop()
		if errors.Is(err, ErrKeyNotExist) {
			break
		}
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}
