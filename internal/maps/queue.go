package maps

import (
	"errors"
	"fmt"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/ctype"
)

func (m *Map) checkQueueStack() error {
	if m.typ != Queue && m.typ != Stack {
		return fmt.Errorf("table %s is a %s, not a queue or stack: %w", m.name, m.typ, ErrWrongTableType)
	}
	return nil
}

// Push adds a value to a queue or stack map (BCC's push); flags 0 fails
// when it is full, BPF_EXIST drops the oldest value to make room.
func (m *Map) Push(value any, flags uint64) error {
	if err := m.checkQueueStack(); err != nil {
		return err
	}
	v, err := m.leaf.Encode(value)
	if err != nil {
		return fmt.Errorf("table %s: value: %w", m.name, errors.Join(ErrTypeMismatch, err))
	}
	if err := m.WithFD(func(fd int) error { return bpfsys.MapUpdate(fd, nil, v, flags) }); err != nil {
		return m.wrap("push", err)
	}
	return nil
}

// Pop removes and returns the next value: the oldest of a queue, the
// newest of a stack (BCC's pop); empty gives an error wrapping
// ErrKeyNotExist.
func (m *Map) Pop() (ctype.Value, error) { return m.next("pop", bpfsys.MapLookupAndDelete) }

// Peek returns the value Pop would return without removing it (BCC's peek).
func (m *Map) Peek() (ctype.Value, error) { return m.next("peek", bpfsys.MapLookup) }

func (m *Map) next(op string, read func(fd int, key, value []byte) error) (ctype.Value, error) {
	if err := m.checkQueueStack(); err != nil {
		return ctype.Value{}, err
	}
	v := make([]byte, m.leafSize)
	if err := m.WithFD(func(fd int) error { return read(fd, nil, v) }); err != nil {
		return ctype.Value{}, m.wrap(op, err)
	}
	return m.leaf.Decode(v)
}

// PopAll pops until the map is empty, at most MaxEntries values so that a
// program pushing as fast as we pop cannot keep it going (BCC's
// QueueStack.values).
func (m *Map) PopAll() ([]ctype.Value, error) {
	var out []ctype.Value
	for range m.maxEntries {
		v, err := m.Pop()
		if errors.Is(err, bpfsys.ErrKeyNotExist) {
			break
		}
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}
