// Package rawfield reads scalar fields straight from a table entry's raw
// bytes at offsets known from its C type, so that a scrape of a large
// table decodes no entry as a whole: the exporter reads a histogram's slot
// and a counter's value this way, entry after entry, from the buffers the
// table was read into.
package rawfield

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Kind says how a field's bytes are read.
type Kind int

// Kinds of fields.
const (
	// Unsigned integers and _Bool: zero-extended.
	Unsigned Kind = iota
	// Signed integers: sign-extended.
	Signed
	// Float is an IEEE float or double.
	Float
)

// ErrUnsupported means a field cannot be read raw (a size other than 1,
// 2, 4 or 8, a float that is neither 4 nor 8 bytes); callers decode it the
// slow way instead.
var ErrUnsupported = errors.New("field cannot be read raw")

// Field is a scalar at Offset, Size bytes, in host byte order (the
// kernel's, as BPF maps store it).
type Field struct {
	Offset, Size int
	Kind         Kind
}

// New returns the field, or ErrUnsupported.
func New(offset, size int, kind Kind) (Field, error) {
	switch {
	case offset < 0:
		return Field{}, fmt.Errorf("%w: offset %d", ErrUnsupported, offset)
	case kind == Float && size != 4 && size != 8:
		return Field{}, fmt.Errorf("%w: float of %d bytes", ErrUnsupported, size)
	case size != 1 && size != 2 && size != 4 && size != 8:
		return Field{}, fmt.Errorf("%w: integer of %d bytes", ErrUnsupported, size)
	}
	return Field{Offset: offset, Size: size, Kind: kind}, nil
}

// bits returns the field's bytes as an unsigned number.
func (f Field) bits(b []byte) uint64 {
	b = b[f.Offset : f.Offset+f.Size]
	switch f.Size {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.NativeEndian.Uint16(b))
	case 4:
		return uint64(binary.NativeEndian.Uint32(b))
	}
	return binary.NativeEndian.Uint64(b)
}

// Int64 returns the field as a signed integer (a float truncated).
func (f Field) Int64(b []byte) int64 {
	x := f.bits(b)
	switch f.Kind {
	case Signed:
		w := 8 * f.Size
		return int64(x<<(64-w)) >> (64 - w)
	case Float:
		return int64(f.Float64(b))
	}
	return int64(x)
}

// Uint64 returns the field as an unsigned integer: a signed one
// sign-extended and reinterpreted, a float truncated (as bcc's
// Value.Uint64).
func (f Field) Uint64(b []byte) uint64 {
	switch f.Kind {
	case Signed:
		return uint64(f.Int64(b))
	case Float:
		v := f.Float64(b)
		if v < 0 {
			return uint64(int64(v))
		}
		return uint64(v)
	}
	return f.bits(b)
}

// Float64 returns the field's value as a float64.
func (f Field) Float64(b []byte) float64 {
	switch f.Kind {
	case Signed:
		return float64(f.Int64(b))
	case Float:
		if f.Size == 4 {
			return float64(math.Float32frombits(uint32(f.bits(b))))
		}
		return math.Float64frombits(f.bits(b))
	}
	return float64(f.bits(b))
}
