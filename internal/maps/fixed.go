package maps

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Fixed views a map through fixed-size (encoding/binary) Go types K and V
// whose sizes equal the C key and value sizes.
type Fixed[K, V any] struct{ m *Map }

// NewFixed checks K and V against the map: a type that is not fixed-size,
// or whose size is not the C type's, is an error wrapping ErrTypeMismatch
// (a wrong type must be an error, not garbage); per-CPU maps wrap
// ErrWrongTableType.
func NewFixed[K, V any](m *Map) (*Fixed[K, V], error) {
	var k K
	var v V
	if n := binary.Size(k); n != m.keySize {
		return nil, fmt.Errorf("table %s: Go key type %T is %s, C key %s is %d bytes: %w", m.name, k, SizeText(n), m.key, m.keySize, ErrTypeMismatch)
	}
	if n := binary.Size(v); n != m.leafSize {
		return nil, fmt.Errorf("table %s: Go value type %T is %s, C value %s is %d bytes: %w", m.name, v, SizeText(n), m.leaf, m.leafSize, ErrTypeMismatch)
	}
	if m.typ.PerCPU() {
		return nil, fmt.Errorf("table %s is per-CPU: use Items/LookupPerCPU: %w", m.name, ErrWrongTableType)
	}
	return &Fixed[K, V]{m: m}, nil
}

// SizeText describes binary.Size's answer n for an error message.
func SizeText(n int) string {
	if n < 0 {
		return "not a fixed-size type"
	}
	return fmt.Sprintf("%d bytes", n)
}

// EncodeFixed returns the bytes of x, a value of a type whose size NewFixed
// (or the caller) checked, so that writing cannot fail.
func EncodeFixed(x any, size int) []byte {
	buf := bytes.NewBuffer(make([]byte, 0, size))
	binary.Write(buf, binary.NativeEndian, x)
	return buf.Bytes()
}

// Lookup returns the value for k, or an error wrapping ErrKeyNotExist.
func (f *Fixed[K, V]) Lookup(k K) (V, error) {
	var v V
	buf := make([]byte, f.m.leafSize)
	if err := f.m.LookupRaw(EncodeFixed(k, f.m.keySize), buf); err != nil {
		return v, err
	}
	_, err := binary.Decode(buf, binary.NativeEndian, &v)
	return v, err
}

// Update sets k to v.
func (f *Fixed[K, V]) Update(k K, v V) error {
	if err := f.m.check(opWrite); err != nil {
		return err
	}
	return f.m.UpdateRaw(EncodeFixed(k, f.m.keySize), EncodeFixed(v, f.m.leafSize), 0)
}

// Delete removes k (zeroes it, for arrays).
func (f *Fixed[K, V]) Delete(k K) error { return f.m.Delete(EncodeFixed(k, f.m.keySize)) }

// Items returns every key and value.
func (f *Fixed[K, V]) Items() ([]K, []V, error) {
	c, err := f.m.ReadAll()
	if err != nil {
		return nil, nil, err
	}
	return f.Decode(c)
}

// Decode decodes the entries of c.
func (f *Fixed[K, V]) Decode(c Chunk) ([]K, []V, error) {
	ks, vs := f.m.keySize, f.m.leafSize
	keys := make([]K, c.N)
	vals := make([]V, c.N)
	for i := range c.N {
		if _, err := binary.Decode(c.Keys[i*ks:(i+1)*ks], binary.NativeEndian, &keys[i]); err != nil {
			return nil, nil, err
		}
		if _, err := binary.Decode(c.Values[i*vs:(i+1)*vs], binary.NativeEndian, &vals[i]); err != nil {
			return nil, nil, err
		}
	}
	return keys, vals, nil
}
