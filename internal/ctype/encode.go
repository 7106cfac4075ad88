package ctype

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
)

// Encode returns the C bytes of v as a t. Accepted Go values:
//
//   - integers: any Go integer type, *big.Int or big.Int, json.Number, and
//     floats with an integral value (as JSON decoding produces); out of
//     range is an error, never truncation. Bitfields check their width.
//   - _Bool: bool, or the integers 0 and 1.
//   - char: a one-byte string, or an integer in [-128, 255].
//   - floats: any Go float or integer, json.Number.
//   - char arrays: a string or []byte of at most Len bytes, NUL-padded.
//   - arrays: []any or any other slice or Go array of at most Len elements;
//     missing elements are zero.
//   - structs and unions: map[string]any (or map[string]T) keyed by member
//     name, anonymous members' fields by their own names; missing members
//     are zero, unknown names an error. Union members are written in
//     declaration order, so name one.
//   - any type: a []byte of exactly Size bytes, copied as it is; a Value of
//     the same layout, copied, or otherwise re-encoded from its Interface.
func (t *Type) Encode(v any) ([]byte, error) {
	b := make([]byte, t.Size)
	if err := t.encode(b, 0, 0, v); err != nil {
		return nil, err
	}
	return b, nil
}

// EncodeTo is Encode into b, which must hold at least t.Size bytes; the
// first t.Size bytes are overwritten (zeroed where v says nothing).
func (t *Type) EncodeTo(b []byte, v any) error {
	if len(b) < t.Size {
		return fmt.Errorf("%w: %d bytes for %d-byte %s", ErrShortBuffer, len(b), t.Size, t.Kind)
	}
	b = b[:t.Size]
	clear(b)
	return t.encode(b, 0, 0, v)
}

func encErr(t *Type, format string, args ...any) error {
	what := t.Name
	if what == "" {
		what = t.Kind.String()
	}
	return fmt.Errorf("%w: %s: "+format, append([]any{ErrEncode, what}, args...)...)
}

// encode writes v into b, which is exactly the bytes of a t (for a bitfield,
// the bytes its bits touch; b is then already holding its neighbours).
func (t *Type) encode(b []byte, bitOff, bitSize int, v any) error {
	switch x := v.(type) {
	case Value:
		if x.typ == nil {
			return encErr(t, "invalid Value")
		}
		if x.bitSize == 0 && bitSize == 0 && equalLayout(x.typ, t) {
			copy(b, x.data)
			return nil
		}
		return t.encode(b, bitOff, bitSize, x.Interface())
	case *Value:
		return t.encode(b, bitOff, bitSize, *x)
	case []byte:
		if bitSize == 0 && len(x) == t.Size && t.Kind != CharArray {
			copy(b, x)
			return nil
		}
	}
	switch t.Kind {
	case Bool:
		if x, ok := v.(bool); ok {
			v = 0
			if x {
				v = 1
			}
		}
		return t.encodeInt(b, bitOff, bitSize, v, 0, 1)
	case Char:
		if s, ok := v.(string); ok {
			if len(s) != 1 {
				return encErr(t, "string %q is not one byte", s)
			}
			v = uint64(s[0])
		}
		return t.encodeInt(b, bitOff, bitSize, v, -128, 255)
	case Int, Uint:
		return t.encodeInt(b, bitOff, bitSize, v, 0, 0)
	case Float:
		return t.encodeFloat(b, v)
	case CharArray:
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case []byte:
			s = string(x)
		default:
			return t.encodeArray(b, v)
		}
		if len(s) > t.Len {
			return encErr(t, "%d bytes do not fit char[%d]", len(s), t.Len)
		}
		copy(b, s)
		return nil
	case Array:
		return t.encodeArray(b, v)
	case Struct, Union:
		return t.encodeAggregate(b, v)
	case Opaque:
		if x, ok := v.([]byte); ok && len(x) <= t.Size {
			copy(b, x)
			return nil
		}
		return encErr(t, "needs []byte of at most %d bytes, not %T", t.Size, v)
	}
	return encErr(t, "cannot encode kind %s", t.Kind)
}

// encodeInt writes an integer, checking its range: [lo, hi] when hi > 0,
// else the range of the type's width (or of the bitfield's).
func (t *Type) encodeInt(b []byte, bitOff, bitSize int, v any, lo, hi int64) error {
	n, err := toBig(v)
	if err != nil {
		return encErr(t, "%w", err)
	}
	width := t.Size * 8
	if bitSize > 0 {
		width = bitSize
	}
	var minV, maxV *big.Int
	switch {
	case hi > 0:
		minV, maxV = big.NewInt(lo), big.NewInt(hi)
		if bitSize > 0 && bitSize < 8 {
			minV, maxV = intRange(t.IsSigned() && t.Kind != Bool, width)
		}
	default:
		minV, maxV = intRange(t.IsSigned(), width)
	}
	if n.Cmp(minV) < 0 || n.Cmp(maxV) > 0 {
		return encErr(t, "%s does not fit in %d bits (range %s..%s)", n, width, minV, maxV)
	}
	// Two's complement of the low width bits.
	u := new(big.Int).Set(n)
	if u.Sign() < 0 {
		u.Add(u, new(big.Int).Lsh(big.NewInt(1), uint(width)))
	}
	if bitSize > 0 {
		putBits(b, bitOff, bitSize, u.Uint64())
		return nil
	}
	var buf [16]byte
	u.FillBytes(buf[:])
	for i := 0; i < t.Size; i++ {
		b[i] = buf[15-i]
	}
	return nil
}

// intRange returns the smallest and largest integers of a width.
func intRange(signed bool, width int) (*big.Int, *big.Int) {
	one := big.NewInt(1)
	if signed {
		m := new(big.Int).Lsh(one, uint(width-1))
		return new(big.Int).Neg(m), m.Sub(m, one)
	}
	m := new(big.Int).Lsh(one, uint(width))
	return big.NewInt(0), m.Sub(m, one)
}

// putBits stores the low size bits of x at bit off of b, little-endian.
func putBits(b []byte, off, size int, x uint64) {
	for i := 0; i < size; i++ {
		pos := off + i
		mask := byte(1) << (pos % 8)
		if x>>i&1 != 0 {
			b[pos/8] |= mask
		} else {
			b[pos/8] &^= mask
		}
	}
}

var errNotInteger = fmt.Errorf("not an integer")

// toBig converts a Go number to an exact integer.
func toBig(v any) (*big.Int, error) {
	switch x := v.(type) {
	case int:
		return big.NewInt(int64(x)), nil
	case int8:
		return big.NewInt(int64(x)), nil
	case int16:
		return big.NewInt(int64(x)), nil
	case int32:
		return big.NewInt(int64(x)), nil
	case int64:
		return big.NewInt(x), nil
	case uint:
		return new(big.Int).SetUint64(uint64(x)), nil
	case uint8:
		return new(big.Int).SetUint64(uint64(x)), nil
	case uint16:
		return new(big.Int).SetUint64(uint64(x)), nil
	case uint32:
		return new(big.Int).SetUint64(uint64(x)), nil
	case uint64:
		return new(big.Int).SetUint64(x), nil
	case uintptr:
		return new(big.Int).SetUint64(uint64(x)), nil
	case *big.Int:
		if x == nil {
			return nil, fmt.Errorf("nil *big.Int")
		}
		return x, nil
	case big.Int:
		return &x, nil
	case float32:
		return toBig(float64(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) || x != math.Trunc(x) {
			return nil, fmt.Errorf("%v: %w", x, errNotInteger)
		}
		n, _ := big.NewFloat(x).Int(nil)
		return n, nil
	case json.Number:
		if n, ok := new(big.Int).SetString(string(x), 10); ok {
			return n, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("%q: %w", x, errNotInteger)
		}
		return toBig(f)
	}
	return nil, fmt.Errorf("%T: %w", v, errNotInteger)
}

func (t *Type) encodeFloat(b []byte, v any) error {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case json.Number:
		var err error
		if f, err = strconv.ParseFloat(string(x), 64); err != nil {
			return encErr(t, "%q is not a number", x)
		}
	default:
		n, err := toBig(v)
		if err != nil {
			return encErr(t, "%T is not a number", v)
		}
		f, _ = new(big.Float).SetInt(n).Float64()
	}
	switch t.Size {
	case 4:
		if !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) > math.MaxFloat32 {
			return encErr(t, "%g overflows float", f)
		}
		binary.LittleEndian.PutUint32(b, math.Float32bits(float32(f)))
	case 8:
		binary.LittleEndian.PutUint64(b, math.Float64bits(f))
	case 16:
		putX87(b, f)
	default:
		return encErr(t, "encoding %d-byte floats is not supported", t.Size)
	}
	return nil
}

// putX87 stores f exactly in x86 80-bit extended precision.
func putX87(b []byte, f float64) {
	clear(b[:16])
	var se uint16
	if math.Signbit(f) {
		se = 0x8000
	}
	switch {
	case f == 0:
	case math.IsNaN(f):
		se |= 0x7fff
		binary.LittleEndian.PutUint64(b, 0xc000000000000000)
	case math.IsInf(f, 0):
		se |= 0x7fff
		binary.LittleEndian.PutUint64(b, 1<<63)
	default:
		frac, exp := math.Frexp(math.Abs(f)) // f = frac * 2^exp, frac in [0.5, 1)
		mant := uint64(math.Ldexp(frac, 64))
		se |= uint16(exp - 1 + 16383)
		binary.LittleEndian.PutUint64(b, mant)
	}
	binary.LittleEndian.PutUint16(b[8:], se)
}

func (t *Type) encodeArray(b []byte, v any) error {
	if xs, ok := v.([]any); ok {
		if len(xs) > t.Len {
			return encErr(t, "%d elements do not fit [%d]", len(xs), t.Len)
		}
		for i, x := range xs {
			off := i * t.Elem.Size
			if err := t.Elem.encode(b[off:off+t.Elem.Size], 0, 0, x); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return encErr(t, "needs a slice for an array, not %T", v)
	}
	if rv.Len() > t.Len {
		return encErr(t, "%d elements do not fit [%d]", rv.Len(), t.Len)
	}
	for i := 0; i < rv.Len(); i++ {
		off := i * t.Elem.Size
		if err := t.Elem.encode(b[off:off+t.Elem.Size], 0, 0, rv.Index(i).Interface()); err != nil {
			return fmt.Errorf("[%d]: %w", i, err)
		}
	}
	return nil
}

func (t *Type) encodeAggregate(b []byte, v any) error {
	set := func(name string, x any) error {
		f, ok := t.FieldByName(name)
		if !ok {
			return encErr(t, "no member %q", name)
		}
		var err error
		if f.BitSize > 0 {
			end := f.Offset + (f.BitOffset+f.BitSize+7)/8
			err = f.Type.encode(b[f.Offset:end], f.BitOffset, f.BitSize, x)
		} else {
			err = f.Type.encode(b[f.Offset:f.Offset+f.Type.Size], 0, 0, x)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	if m, ok := v.(map[string]any); ok {
		// Declaration order, so that union members overwrite predictably.
		seen := 0
		for i := range t.lookup {
			name := t.lookup[i].name
			if x, ok := m[name]; ok {
				seen++
				if err := set(name, x); err != nil {
					return err
				}
			}
		}
		if seen != len(m) {
			for name := range m {
				if _, ok := t.FieldByName(name); !ok {
					return encErr(t, "no member %q", name)
				}
			}
		}
		return nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return encErr(t, "needs map[string]any for a struct or union, not %T", v)
	}
	m := make(map[string]any, rv.Len())
	for it := rv.MapRange(); it.Next(); {
		m[it.Key().String()] = it.Value().Interface()
	}
	return t.encodeAggregate(b, m)
}
