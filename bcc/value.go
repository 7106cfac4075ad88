package bcc

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/gobcc/gobcc/internal/ctype"
)

// Kind says how a CType's bytes are interpreted.
type Kind uint8

// The kinds of C types libbcc's descriptions produce. Enums arrive as their
// integer type and pointers as "unsigned long long", so neither has a kind.
const (
	KindInvalid   Kind = Kind(ctype.Invalid)
	KindBool      Kind = Kind(ctype.Bool)      // _Bool
	KindInt       Kind = Kind(ctype.Int)       // signed integers, __int128 included
	KindUint      Kind = Kind(ctype.Uint)      // unsigned integers and pointers
	KindFloat     Kind = Kind(ctype.Float)     // float, double, long double, _Float16
	KindChar      Kind = Kind(ctype.Char)      // one plain char: a one-byte string, as BCC
	KindCharArray Kind = Kind(ctype.CharArray) // char[N]: a string up to the first NUL
	KindArray     Kind = Kind(ctype.Array)     // T[N] for any T but plain char
	KindStruct    Kind = Kind(ctype.Struct)    // struct, packed or not
	KindUnion     Kind = Kind(ctype.Union)     // union
	KindOpaque    Kind = Kind(ctype.Opaque)    // bytes of no known structure
)

// String returns a lower-case name of the kind ("uint", "char-array", ...).
func (k Kind) String() string { return ctype.Kind(k).String() }

// CType describes a C type with its x86-64 layout, as libbcc declared it for
// a table's key or leaf (BCC Python's t.Key and t.Leaf) or as an event
// struct. CTypes come from Table.KeyType, LeafType, EventType and
// Value.Type; the BPF object shares them and they stay valid after Close.
// Treat them as read-only: the decoder does not see changes to the fields.
type CType struct {
	// Name is the C spelling of a scalar ("unsigned int"), the tag of a
	// struct or union ("" when anonymous), and "" for arrays and opaque bytes.
	Name string
	// Kind says how the bytes are interpreted.
	Kind Kind
	// Size and Align are the size and alignment in bytes.
	Size, Align int
	// Fields are a struct's or union's members in declaration order, without
	// libbcc's padding members and unnamed bitfields.
	Fields []CField
	// Elem and Len describe arrays and char arrays: Len elements of Elem.
	Elem *CType
	Len  int
	// Packed reports a struct laid out without alignment; libbcc describes
	// most structs so, with explicit padding members.
	Packed bool
	// Lossy reports that libbcc's description did not match the size libbcc
	// created the map with, so part of the type was reconstructed or became
	// opaque bytes (2-D arrays, top-level arrays).
	Lossy bool

	t *ctype.Type
}

// CField is one member of a struct or union.
type CField struct {
	// Name is the member's name, "" for an anonymous struct or union.
	Name string
	// Type is the member's type; for a bitfield, its declared type.
	Type *CType
	// Offset is the byte offset of the member's first byte in its parent.
	Offset int
	// BitOffset (0-7, from the least significant bit of byte Offset) and
	// BitSize locate a bitfield; BitSize is 0 for other members.
	BitOffset, BitSize int
}

// describe returns the public description of t, building it (for the whole
// tree at once, before anyone can read it concurrently) on first use.
func describe(t *ctype.Type) *CType {
	if t == nil {
		return nil
	}
	if c, ok := t.Ext.(*CType); ok {
		return c
	}
	c := &CType{Name: t.Name, Kind: Kind(t.Kind), Size: t.Size, Align: t.Align, Len: t.Len,
		Packed: t.Packed, Lossy: t.Lossy, t: t}
	t.Ext = c
	c.Elem = describe(t.Elem)
	for _, f := range t.Fields {
		c.Fields = append(c.Fields, CField{Name: f.Name, Type: describe(f.Type), Offset: f.Offset,
			BitOffset: f.BitOffset, BitSize: f.BitSize})
	}
	return c
}

// IsInteger reports whether the type is an integer, _Bool or a single char.
func (c *CType) IsInteger() bool { return c != nil && c.t != nil && c.t.IsInteger() }

// IsSigned reports whether an integer type is signed (plain char is).
func (c *CType) IsSigned() bool { return c != nil && c.t != nil && c.t.IsSigned() }

// FieldByName returns the member called name, looking into anonymous
// members as C does, with its offset from the start of c.
func (c *CType) FieldByName(name string) (CField, bool) {
	if c == nil || c.t == nil {
		return CField{}, false
	}
	f, ok := c.t.FieldByName(name)
	return CField{Name: f.Name, Type: describe(f.Type), Offset: f.Offset, BitOffset: f.BitOffset, BitSize: f.BitSize}, ok
}

// String spells the type as C declares it, e.g.
// "struct key { unsigned int pid; char comm[16]; }".
func (c *CType) String() string {
	if c == nil || c.t == nil {
		return "<invalid>"
	}
	return c.t.String()
}

// ErrNotDescribed is wrapped by CType.Decode on a CType that did not come
// from gobcc (built by hand), which has no layout to decode with.
var ErrNotDescribed = errors.New("C type has no layout")

// Decode views b as a value of the type. b must hold at least Size bytes;
// the Value aliases b, so copy b first if it will be reused.
func (c *CType) Decode(b []byte) (Value, error) {
	if c == nil || c.t == nil {
		return Value{}, ErrNotDescribed
	}
	v, err := c.t.Decode(b)
	if err != nil {
		return Value{}, fmt.Errorf("%w: %w", ErrTypeMismatch, err)
	}
	return Value{v}, nil
}

// Encode returns the bytes of a Go value in the type's layout: Go integers,
// floats and bools for scalars, a string for char arrays, a slice for
// arrays, map[string]any for structs, a Value, or exactly Size bytes.
func (c *CType) Encode(v any) ([]byte, error) {
	if c == nil || c.t == nil {
		return nil, ErrNotDescribed
	}
	b, err := c.t.Encode(unwrap(v))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTypeMismatch, err)
	}
	return b, nil
}

// unwrap turns public Values (also inside slices and maps given to Encode)
// into the decoder's.
func unwrap(v any) any {
	switch x := v.(type) {
	case Value:
		return x.v
	case []Value:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e.v
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = unwrap(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = unwrap(e)
		}
		return out
	}
	return v
}

// Value is a key, leaf or event decoded from its C type: a view of the
// bytes that reads them lazily, so reading a u64 costs a few nanoseconds
// and no allocation. Values returned by tables own their bytes and stay
// valid after Close. The zero Value is invalid (IsValid reports false).
type Value struct{ v ctype.Value }

// Type returns the value's C type, nil for the zero Value.
func (v Value) Type() *CType { return describe(v.v.Type()) }

// IsValid reports whether v holds a value.
func (v Value) IsValid() bool { return v.v.IsValid() }

// Kind returns the kind of the value's type, KindInvalid for the zero Value.
func (v Value) Kind() Kind { return Kind(v.v.Kind()) }

// IsBitfield reports whether v is a bitfield member, and its width in bits.
func (v Value) IsBitfield() (bool, int) { return v.v.IsBitfield() }

// Bytes returns the value's bytes (for a bitfield, the bytes its bits
// touch). They alias the value's buffer: do not modify them.
func (v Value) Bytes() []byte { return v.v.Bytes() }

// Uint64 returns an integer, bool or char as C converts it to uint64 (a
// 128-bit integer gives its low 64 bits; use Big), a float truncated toward
// zero, and 0 for other kinds.
func (v Value) Uint64() uint64 { return v.v.Uint64() }

// Int64 returns an integer, bool or char sign-extended as its type says (a
// 128-bit integer gives its low 64 bits; use Big), a float truncated toward
// zero, and 0 for other kinds.
func (v Value) Int64() int64 { return v.v.Int64() }

// Float64 returns a float (long double and _Float16 converted) or an
// integer as float64, and 0 for other kinds.
func (v Value) Float64() float64 { return v.v.Float64() }

// Bool reports whether a scalar is non-zero; false for other kinds.
func (v Value) Bool() bool { return v.v.Bool() }

// Big returns an integer of any width (notably __int128) exactly, and nil
// for other kinds.
func (v Value) Big() *big.Int { return v.v.Big() }

// Str returns a char array's text up to its first NUL (BCC Python's bytes
// value), a single char as a one-byte string, and "" for other kinds. The
// bytes are returned as they are, not necessarily UTF-8.
func (v Value) Str() string { return v.v.Str() }

// Len returns the number of elements of an array or char array, the number
// of Fields of a struct or union, and 0 otherwise.
func (v Value) Len() int { return v.v.Len() }

// Index returns element i of an array or char array, and the zero Value
// when i is out of range or v is not an array.
func (v Value) Index(i int) Value { return Value{v.v.Index(i)} }

// FieldAt returns member Type().Fields[i] of a struct or union, and the
// zero Value when i is out of range.
func (v Value) FieldAt(i int) Value { return Value{v.v.FieldAt(i)} }

// Field returns the member called name, looking into anonymous structs and
// unions as C (and ctypes' _anonymous_) does.
func (v Value) Field(name string) (Value, bool) {
	f, ok := v.v.Field(name)
	return Value{f}, ok
}

// Interface returns the value in its natural Go form: int64 for signed
// integers, uint64 for unsigned ones (pointers too), *big.Int for 128-bit
// integers, bool, float64, string for chars and char arrays, []any for
// arrays, map[string]any for structs and unions, []byte for opaque bytes.
func (v Value) Interface() any { return v.v.Interface() }

// String formats the value: numbers in decimal, char arrays as their text
// (quoted inside arrays and structs), arrays as [1, 2], structs as
// {pid: 1, comm: "bash"} in declaration order, opaque bytes in hex.
func (v Value) String() string { return v.v.String() }

// MarshalJSON encodes the value as JSON: numbers (128-bit ones exact),
// strings, arrays, and objects with the members in declaration order.
func (v Value) MarshalJSON() ([]byte, error) { return v.v.MarshalJSON() }

// Compare orders v and w as BCC Python's sorted(items()) orders scalars
// (numbers by value, char arrays by text), extended to a total order over
// arrays, structs (member by member) and mixed kinds. It returns -1, 0 or
// +1, for slices.SortFunc.
func (v Value) Compare(w Value) int { return ctype.Compare(v.v, w.v) }
