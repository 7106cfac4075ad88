package ctype

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Value is a typed view of bytes holding one C object. It decodes lazily:
// Decode only checks the length, each accessor reads the bytes it needs.
// A Value aliases the bytes it was made from and is small enough to pass by
// value. The zero Value is invalid; IsValid reports it.
type Value struct {
	typ  *Type
	data []byte
	// A bitfield's bits start at bit bitOff of data[0]; bitSize is 0 for
	// anything but a bitfield.
	bitOff, bitSize uint8
}

// Decode returns b viewed as a t. b must hold at least t.Size bytes; bytes
// after them are ignored (per-CPU values are padded to 8 bytes). The Value
// aliases b: copy b first if it will be reused.
func (t *Type) Decode(b []byte) (Value, error) {
	if len(b) < t.Size {
		return Value{}, fmt.Errorf("%w: %d bytes for %d-byte %s", ErrShortBuffer, len(b), t.Size, t.Kind)
	}
	return Value{typ: t, data: b[:t.Size:t.Size]}, nil
}

// Type returns the value's type, nil for the zero Value.
func (v Value) Type() *Type { return v.typ }

// IsValid reports whether v holds a value (the zero Value does not).
func (v Value) IsValid() bool { return v.typ != nil }

// Kind returns the kind of the value's type, Invalid for the zero Value.
func (v Value) Kind() Kind {
	if v.typ == nil {
		return Invalid
	}
	return v.typ.Kind
}

// IsBitfield reports whether v is a bitfield member, and its width.
func (v Value) IsBitfield() (bool, int) { return v.bitSize > 0, int(v.bitSize) }

// Bytes returns the bytes of the value (for a bitfield, the bytes its bits
// touch). They alias the decoded buffer.
func (v Value) Bytes() []byte { return v.data }

// raw returns the integer bits of a scalar of up to 8 bytes, or the low 64
// bits of a 128-bit integer, zero-extended.
func (v Value) raw() uint64 {
	if v.bitSize > 0 {
		return v.bits()
	}
	d := v.data
	switch len(d) {
	case 1:
		return uint64(d[0])
	case 2:
		return uint64(binary.LittleEndian.Uint16(d))
	case 4:
		return uint64(binary.LittleEndian.Uint32(d))
	case 8, 16:
		return binary.LittleEndian.Uint64(d)
	}
	return 0
}

// bits extracts a bitfield of up to 64 bits that may span 9 bytes.
func (v Value) bits() uint64 {
	var x uint64
	d := v.data
	if len(d) >= 8 {
		x = binary.LittleEndian.Uint64(d)
	} else {
		for i := len(d) - 1; i >= 0; i-- {
			x = x<<8 | uint64(d[i])
		}
	}
	x >>= v.bitOff
	if len(d) > 8 && v.bitOff > 0 {
		x |= uint64(d[8]) << (64 - v.bitOff)
	}
	if v.bitSize < 64 {
		x &= 1<<v.bitSize - 1
	}
	return x
}

// width is the value's width in bits for sign extension.
func (v Value) width() uint {
	if v.bitSize > 0 {
		return uint(v.bitSize)
	}
	return uint(len(v.data)) * 8
}

// Uint64 returns an integer, bool or char as C converts it to uint64 (a
// 128-bit integer gives its low 64 bits; use Big), a float truncated toward
// zero, and 0 for other kinds.
func (v Value) Uint64() uint64 {
	if v.typ == nil {
		return 0
	}
	switch v.typ.Kind {
	case Uint, Bool:
		return v.raw()
	case Int, Char:
		return uint64(v.Int64())
	case Float:
		f := v.Float64()
		if f < 0 {
			return uint64(int64(f))
		}
		return uint64(f)
	}
	return 0
}

// Int64 returns an integer, bool or char sign-extended as its type demands
// (a 128-bit integer gives its low 64 bits; use Big), a float truncated
// toward zero, and 0 for other kinds.
func (v Value) Int64() int64 {
	if v.typ == nil {
		return 0
	}
	switch v.typ.Kind {
	case Int, Char:
		w := v.width()
		if w > 64 {
			w = 64
		}
		x := v.raw()
		return int64(x<<(64-w)) >> (64 - w)
	case Uint, Bool:
		return int64(v.raw())
	case Float:
		return int64(v.Float64())
	}
	return 0
}

// Float64 returns a float (long double from its x87 80-bit format,
// _Float16 from IEEE half precision) or an integer converted to float64, and
// 0 for other kinds.
func (v Value) Float64() float64 {
	if v.typ == nil {
		return 0
	}
	switch v.typ.Kind {
	case Float:
		switch len(v.data) {
		case 2:
			return half(binary.LittleEndian.Uint16(v.data))
		case 4:
			return float64(math.Float32frombits(binary.LittleEndian.Uint32(v.data)))
		case 8:
			return math.Float64frombits(binary.LittleEndian.Uint64(v.data))
		case 16:
			return x87(v.data)
		}
	case Int, Char:
		if v.is128() {
			f, _ := new(big.Float).SetInt(v.Big()).Float64()
			return f
		}
		return float64(v.Int64())
	case Uint, Bool:
		if v.is128() {
			f, _ := new(big.Float).SetInt(v.Big()).Float64()
			return f
		}
		return float64(v.Uint64())
	}
	return 0
}

// half converts an IEEE 754 binary16 number.
func half(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 0x1f:
		if frac != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	}
	return sign * math.Ldexp(1+frac/1024, exp-15)
}

// x87 converts an x86 80-bit extended precision number, stored in the low
// 10 bytes of a 16-byte long double.
func x87(b []byte) float64 {
	mant := binary.LittleEndian.Uint64(b)
	se := binary.LittleEndian.Uint16(b[8:])
	sign := 1.0
	if se&0x8000 != 0 {
		sign = -1
	}
	exp := int(se & 0x7fff)
	switch {
	case exp == 0 && mant == 0:
		return math.Copysign(0, sign)
	case exp == 0x7fff:
		if mant<<1 != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	}
	if exp == 0 {
		exp = 1 // denormal: no explicit exponent bias change, integer bit 0
	}
	return sign * math.Ldexp(float64(mant), exp-16383-63)
}

// Bool returns whether a scalar is non-zero, false for other kinds.
func (v Value) Bool() bool {
	if v.typ == nil {
		return false
	}
	switch v.typ.Kind {
	case Float:
		return v.Float64() != 0
	case Bool, Int, Uint, Char:
		if v.is128() {
			return v.raw() != 0 || binary.LittleEndian.Uint64(v.data[8:]) != 0
		}
		return v.raw() != 0
	}
	return false
}

func (v Value) is128() bool { return v.bitSize == 0 && len(v.data) == 16 && v.typ.Kind != Float }

// Big returns an integer of any width (notably __int128) exactly, nil for
// other kinds.
func (v Value) Big() *big.Int {
	if v.typ == nil || !v.typ.IsInteger() {
		return nil
	}
	if !v.is128() {
		if v.typ.IsSigned() {
			return big.NewInt(v.Int64())
		}
		return new(big.Int).SetUint64(v.Uint64())
	}
	lo := binary.LittleEndian.Uint64(v.data)
	hi := binary.LittleEndian.Uint64(v.data[8:])
	x := new(big.Int).SetUint64(hi)
	x.Lsh(x, 64)
	x.Or(x, new(big.Int).SetUint64(lo))
	if v.typ.IsSigned() && int64(hi) < 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), 128))
	}
	return x
}

// Str returns a char array's text up to its first NUL (as BCC Python's
// bytes value), a single char as a one-byte string, and "" for other kinds.
// The bytes are returned as they are, not necessarily UTF-8.
func (v Value) Str() string {
	if v.typ == nil {
		return ""
	}
	switch v.typ.Kind {
	case CharArray:
		return string(cstring(v.data))
	case Char:
		if v.bitSize > 0 {
			return string([]byte{byte(v.Int64())})
		}
		return string(v.data[:1])
	}
	return ""
}

// cstring cuts b at its first NUL.
func cstring(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

// Len returns the number of elements of an array or char array, the number
// of Fields of a struct or union, and 0 otherwise.
func (v Value) Len() int {
	if v.typ == nil {
		return 0
	}
	switch v.typ.Kind {
	case Array, CharArray:
		return v.typ.Len
	case Struct, Union:
		return len(v.typ.Fields)
	}
	return 0
}

// Index returns element i of an array or char array (a char), and the zero
// Value when i is out of range or v is not an array.
func (v Value) Index(i int) Value {
	if v.typ == nil || (v.typ.Kind != Array && v.typ.Kind != CharArray) || i < 0 || i >= v.typ.Len {
		return Value{}
	}
	e := v.typ.Elem
	off := i * e.Size
	return Value{typ: e, data: v.data[off : off+e.Size : off+e.Size]}
}

// FieldAt returns Fields[i] of a struct or union (anonymous members are one
// field), and the zero Value when i is out of range.
func (v Value) FieldAt(i int) Value {
	if v.typ == nil || !v.typ.IsAggregate() || i < 0 || i >= len(v.typ.Fields) {
		return Value{}
	}
	f := &v.typ.Fields[i]
	return v.member(f.Type, f.Offset, f.BitOffset, f.BitSize)
}

// Field returns the member called name, including members of anonymous
// structs and unions as C (and ctypes' _anonymous_) allow.
func (v Value) Field(name string) (Value, bool) {
	if v.typ == nil {
		return Value{}, false
	}
	for i := range v.typ.lookup {
		f := &v.typ.lookup[i]
		if f.name == name {
			return v.member(f.typ, f.offset, int(f.bitOff), int(f.bitSize)), true
		}
	}
	return Value{}, false
}

func (v Value) member(t *Type, off, bitOff, bitSize int) Value {
	if bitSize > 0 {
		end := off + (bitOff+bitSize+7)/8
		return Value{typ: t, data: v.data[off:end:end], bitOff: uint8(bitOff), bitSize: uint8(bitSize)}
	}
	end := off + t.Size
	return Value{typ: t, data: v.data[off:end:end]}
}

// Interface returns the value in its natural Go form: int64 for signed
// integers, uint64 for unsigned ones (pointers too), *big.Int for 128-bit
// integers, bool, float64, string for chars and char arrays (up to the
// first NUL, bytes as they are), []any for arrays, map[string]any for
// structs and unions (anonymous members' fields flattened into it; use
// MarshalJSON or String for declaration order), and []byte for Opaque.
func (v Value) Interface() any {
	if v.typ == nil {
		return nil
	}
	switch v.typ.Kind {
	case Bool:
		return v.Bool()
	case Int:
		if v.is128() {
			return v.Big()
		}
		return v.Int64()
	case Uint:
		if v.is128() {
			return v.Big()
		}
		return v.Uint64()
	case Float:
		return v.Float64()
	case Char, CharArray:
		return v.Str()
	case Array:
		out := make([]any, v.typ.Len)
		for i := range out {
			out[i] = v.Index(i).Interface()
		}
		return out
	case Struct, Union:
		out := make(map[string]any, len(v.typ.lookup))
		for i := range v.typ.lookup {
			f := &v.typ.lookup[i]
			out[f.name] = v.member(f.typ, f.offset, int(f.bitOff), int(f.bitSize)).Interface()
		}
		return out
	case Opaque:
		return append([]byte(nil), v.data...)
	}
	return nil
}

// String formats the value: numbers in decimal, a char array or char as its
// text (quoted when inside an array or struct), arrays as [1, 2], structs
// and unions as {pid: 1, comm: "bash"} in declaration order with anonymous
// members' fields flattened, Opaque bytes in hex.
func (v Value) String() string {
	if v.typ == nil {
		return "<invalid>"
	}
	if v.typ.Kind == Char || v.typ.Kind == CharArray {
		return v.Str()
	}
	var sb strings.Builder
	v.format(&sb)
	return sb.String()
}

func (v Value) format(sb *strings.Builder) {
	var buf [48]byte
	switch v.typ.Kind {
	case Bool:
		sb.WriteString(strconv.FormatBool(v.Bool()))
	case Int, Uint:
		if v.is128() {
			sb.WriteString(v.Big().String())
		} else if v.typ.Kind == Int {
			sb.Write(strconv.AppendInt(buf[:0], v.Int64(), 10))
		} else {
			sb.Write(strconv.AppendUint(buf[:0], v.Uint64(), 10))
		}
	case Float:
		sb.Write(strconv.AppendFloat(buf[:0], v.Float64(), 'g', -1, 64))
	case Char, CharArray:
		sb.WriteString(strconv.Quote(v.Str()))
	case Array:
		sb.WriteByte('[')
		for i := 0; i < v.typ.Len; i++ {
			if i > 0 {
				sb.WriteString(", ")
			}
			v.Index(i).format(sb)
		}
		sb.WriteByte(']')
	case Struct, Union:
		sb.WriteByte('{')
		for i := range v.typ.lookup {
			f := &v.typ.lookup[i]
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(f.name)
			sb.WriteString(": ")
			v.member(f.typ, f.offset, int(f.bitOff), int(f.bitSize)).format(sb)
		}
		sb.WriteByte('}')
	case Opaque:
		sb.WriteString(hex.EncodeToString(v.data))
	}
}

// MarshalJSON encodes the value as JSON: numbers as numbers, except 128-bit
// integers, which are decimal strings because JSON readers commonly hold
// numbers in float64 (64-bit ones are numbers: decode them with
// json.Decoder.UseNumber to keep them exact); NaN and infinities as the
// strings "NaN", "+Inf", "-Inf"; chars and char arrays as strings (bytes
// that are not UTF-8 become U+FFFD, use Bytes for the exact bytes); arrays
// as arrays; structs and unions as objects in declaration order with
// anonymous members' fields flattened; Opaque bytes as a hex string.
func (v Value) MarshalJSON() ([]byte, error) {
	if v.typ == nil {
		return []byte("null"), nil
	}
	return v.appendJSON(make([]byte, 0, 64)), nil
}

func (v Value) appendJSON(b []byte) []byte {
	switch v.typ.Kind {
	case Bool:
		return strconv.AppendBool(b, v.Bool())
	case Int, Uint:
		if v.is128() {
			return strconv.AppendQuote(b, v.Big().String())
		}
		if v.typ.Kind == Int {
			return strconv.AppendInt(b, v.Int64(), 10)
		}
		return strconv.AppendUint(b, v.Uint64(), 10)
	case Float:
		f := v.Float64()
		switch {
		case math.IsNaN(f):
			return append(b, `"NaN"`...)
		case math.IsInf(f, 1):
			return append(b, `"+Inf"`...)
		case math.IsInf(f, -1):
			return append(b, `"-Inf"`...)
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	case Char, CharArray:
		return appendJSONString(b, v.Str())
	case Array:
		b = append(b, '[')
		for i := 0; i < v.typ.Len; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = v.Index(i).appendJSON(b)
		}
		return append(b, ']')
	case Struct, Union:
		b = append(b, '{')
		for i := range v.typ.lookup {
			f := &v.typ.lookup[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, f.name)
			b = append(b, ':')
			b = v.member(f.typ, f.offset, int(f.bitOff), int(f.bitSize)).appendJSON(b)
		}
		return append(b, '}')
	case Opaque:
		b = append(b, '"')
		b = hex.AppendEncode(b, v.data)
		return append(b, '"')
	}
	return append(b, "null"...)
}

// appendJSONString quotes s for JSON, replacing bytes that are not UTF-8.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
