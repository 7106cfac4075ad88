// Package maps is the table engine behind bcc.Table: one BPF map with its
// descriptor, sizes and C types (internal/ctype), and every operation BCC's
// table classes offer on it — lookups, updates, deletes, batch commands,
// chunked iteration, clearing and zeroing, per-CPU sums, queue and stack
// operations, stack-trace reads and fixed-size Go views. The syscalls are
// internal/bpfsys's; this package adds the map-type rules, the encoding of
// keys and values, and the lock that lets Close wait for calls in flight.
package maps

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/ctype"
)

// Sentinel errors, re-exported by package bcc under the same names.
var (
	// ErrClosed means the map (its BPF object) was closed.
	ErrClosed = errors.New("BPF object closed")
	// ErrTypeMismatch means Go and C types or sizes disagree.
	ErrTypeMismatch = errors.New("type mismatch")
	// ErrWrongTableType means the operation does not apply to the map type.
	ErrWrongTableType = errors.New("operation not valid for this table type")
	// ErrBatchSize means a batch call got no entries, more entries than the
	// map holds, or key and value lists of different lengths (BCC raises
	// ValueError for the same cases).
	ErrBatchSize = errors.New("batch size out of range")
)

// Spec describes a map as the compiler created it.
type Spec struct {
	Name                                     string
	Type                                     Type
	FD, MaxEntries, Flags, KeySize, LeafSize int
	KeyDesc, LeafDesc                        string // libbcc's JSON descriptions
	PossibleCPUs                             int    // values per key of per-CPU maps
}

// Map is one BPF map. Its methods are safe for concurrent use.
//
// Locking: mu is read-held for the duration of every syscall on fd and
// write-held by Close, so Close waits for operations in flight instead of
// closing the descriptor under them. No method read-locks a map it already
// holds.
type Map struct {
	mu                                   sync.RWMutex
	fd                                   int // -1 once closed
	name                                 string
	typ                                  Type
	maxEntries, flags, keySize, leafSize int
	ncpu                                 int
	key, leaf                            *ctype.Type
}

// New wraps the descriptor of s, which the Map owns from now on. A key or
// leaf description that cannot be read leaves the type as opaque bytes.
func New(s Spec) *Map {
	ncpu := 1
	if s.Type.PerCPU() {
		ncpu = s.PossibleCPUs
	}
	return &Map{fd: s.FD, name: s.Name, typ: s.Type, maxEntries: s.MaxEntries, flags: s.Flags,
		keySize: s.KeySize, leafSize: s.LeafSize, ncpu: ncpu,
		key: parseOrRaw(s.KeyDesc, s.KeySize), leaf: parseOrRaw(s.LeafDesc, s.LeafSize)}
}

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

// Close closes the descriptor, waiting for operations in flight.
func (m *Map) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fd >= 0 {
		unix.Close(m.fd)
		m.fd = -1
	}
}

// FD is the descriptor, -1 after Close. Callers that make syscalls on it
// use WithFD, so that Close waits for them.
func (m *Map) FD() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.fd
}

// WithFD runs op with the descriptor, holding the read lock so that Close
// cannot close it meanwhile; after Close it returns an error wrapping
// ErrClosed. op must not call methods of m that lock it. Raw readers use
// it with KeySize and LeafSize (ValueStride for per-CPU maps).
func (m *Map) WithFD(op func(fd int) error) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.fd < 0 {
		return fmt.Errorf("table %s: %w", m.name, ErrClosed)
	}
	return op(m.fd)
}

// Hold read-locks the map and returns its descriptor until release, for
// storing it in another map (maps of maps): Close waits for the release.
func (m *Map) Hold() (fd int, release func(), err error) {
	m.mu.RLock()
	if m.fd < 0 {
		m.mu.RUnlock()
		return -1, nil, fmt.Errorf("table %s: %w", m.name, ErrClosed)
	}
	return m.fd, m.mu.RUnlock, nil
}

// Name is the map's name in the C program.
func (m *Map) Name() string { return m.name }

// Type is the map type.
func (m *Map) Type() Type { return m.typ }

// MaxEntries is the map's capacity.
func (m *Map) MaxEntries() int { return m.maxEntries }

// Flags are the map's creation flags.
func (m *Map) Flags() int { return m.flags }

// KeySize is the key's size in bytes.
func (m *Map) KeySize() int { return m.keySize }

// LeafSize is the value's size in bytes (per CPU, for per-CPU maps).
func (m *Map) LeafSize() int { return m.leafSize }

// ValueStride is the size of one entry's value as the kernel reads and
// writes it: LeafSize, or PossibleCPUs values 8-byte aligned for per-CPU maps.
func (m *Map) ValueStride() int {
	return bpfsys.ValueStride(m.leafSize, m.typ.PerCPU(), m.ncpu)
}

// PossibleCPUs is the number of values a per-CPU map keeps per key, 1 for
// other maps.
func (m *Map) PossibleCPUs() int { return m.ncpu }

// Key is the key's C type.
func (m *Map) Key() *ctype.Type { return m.key }

// Leaf is the value's C type (per CPU, for per-CPU maps).
func (m *Map) Leaf() *ctype.Type { return m.leaf }

// wrap prefixes err with the map's name and the operation, unless it is
// already a closed map's error.
func (m *Map) wrap(op string, err error) error {
	if errors.Is(err, ErrClosed) {
		return err
	}
	if op == "" {
		return fmt.Errorf("table %s: %w", m.name, err)
	}
	return fmt.Errorf("table %s: %s: %w", m.name, op, err)
}

// refuse is the error for an operation the map type cannot do.
func (m *Map) refuse(why string) error {
	return fmt.Errorf("table %s is a %s: %s: %w", m.name, m.typ, why, ErrWrongTableType)
}

// op is a kind of operation, for checking that the map type admits it
// before asking the kernel.
type op int

const (
	opRead    op = iota // Lookup, Items, batch lookups
	opWrite             // Update, batch updates
	opDelete            // Delete, batch deletes
	opIterate           // Len: walking the keys only
	opClear             // Clear
	opZero              // Zero
)

// check returns ErrClosed after Close, and an error wrapping
// ErrWrongTableType when the map type cannot do o: the kernel would refuse
// it, or another API owns it (queues and stacks: Push/Pop; ring buffers and
// perf buffers: the events API).
func (m *Map) check(o op) error {
	if m.FD() < 0 {
		return fmt.Errorf("table %s: %w", m.name, ErrClosed)
	}
	switch m.typ {
	case Ringbuf, Queue, Stack:
		return m.refuse("it has no keys; use its own read and write methods")
	case StackTrace:
		if o == opWrite || o == opZero {
			return m.refuse("only BPF programs write stack traces")
		}
	}
	if m.typ.HoldsHandles() {
		switch o {
		case opRead:
			if !m.typ.readableHandles() {
				return m.refuse("the kernel does not let user space read its entries")
			}
		case opZero:
			return m.refuse("its values are handles, not numbers; use Clear")
		}
	}
	return nil
}

// EncodeKey accepts what the key's C type accepts (Go integers, strings for
// char arrays, map[string]any for structs, a ctype.Value, or []byte of the
// exact size) and, for array maps, negative indexes counted from the end.
func (m *Map) EncodeKey(key any) ([]byte, error) {
	if m.typ.IsArray() {
		if i, ok := asInt(key); ok {
			if i < 0 {
				i += int64(m.maxEntries)
			}
			if i < 0 || i >= int64(m.maxEntries) {
				return nil, fmt.Errorf("table %s: index %v out of range [0, %d): %w", m.name, key, m.maxEntries, bpfsys.ErrKeyNotExist)
			}
			key = i
		}
	}
	b, err := m.key.Encode(key)
	if err != nil {
		return nil, fmt.Errorf("table %s: key: %w", m.name, errors.Join(ErrTypeMismatch, err))
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

// EncodeValue encodes a value as Update stores it: per-CPU maps take a
// slice with one value per possible CPU, or one value for every CPU.
func (m *Map) EncodeValue(value any) (v []byte, err error) {
	if m.typ.PerCPU() {
		v, err = m.leaf.EncodePerCPU(value, m.ncpu)
	} else {
		v, err = m.leaf.Encode(value)
	}
	if err != nil {
		return nil, fmt.Errorf("table %s: value: %w", m.name, errors.Join(ErrTypeMismatch, err))
	}
	return v, nil
}

// Entry is one decoded entry. For per-CPU maps Value is invalid and PerCPU
// holds one value per possible CPU.
type Entry struct {
	Key, Value ctype.Value
	PerCPU     []ctype.Value
}

// Decode decodes one packed key and value (ValueStride bytes); the values
// alias k and v.
func (m *Map) Decode(k, v []byte) (Entry, error) {
	key, err := m.key.Decode(k)
	if err != nil {
		return Entry{}, err
	}
	if !m.typ.PerCPU() {
		val, err := m.leaf.Decode(v)
		return Entry{Key: key, Value: val}, err
	}
	vals, err := m.leaf.DecodePerCPU(v, m.ncpu)
	return Entry{Key: key, PerCPU: vals}, err
}

// Chunk is n packed keys and values, as bpfsys reads them.
type Chunk struct {
	Keys, Values []byte
	N            int
}

// DecodeAll decodes every entry of c into what conv makes of it (package
// bcc's Item), in one allocation; the results own c's buffers. It is the
// hot loop of Items: the per-CPU test is hoisted out of it.
func DecodeAll[I any](m *Map, c Chunk, conv func(Entry) I) ([]I, error) {
	stride, perCPU := m.ValueStride(), m.typ.PerCPU()
	out := make([]I, c.N)
	for i := range out {
		var e Entry
		var err error
		if e.Key, err = m.key.Decode(c.Keys[i*m.keySize : (i+1)*m.keySize]); err == nil {
			v := c.Values[i*stride : (i+1)*stride]
			if perCPU {
				e.PerCPU, err = m.leaf.DecodePerCPU(v, m.ncpu)
			} else {
				e.Value, err = m.leaf.Decode(v)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", m.name, err)
		}
		out[i] = conv(e)
	}
	return out, nil
}
