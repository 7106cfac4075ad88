// Package ctype turns libbcc's JSON descriptions of a table's key and leaf
// types (bpf_table_key_desc, bpf_table_leaf_desc) into C type trees with
// their x86-64 (GCC/SysV) layout, and decodes and encodes table items with
// them.
//
// It is the Go counterpart of BCC Python's BPF._decode_table_type and the
// ctypes classes it builds. Differences from BCC Python, all deliberate:
//
//   - "signed char" decodes as a number (Python raises KeyError on it).
//   - __int128 and unsigned __int128 are one 16-byte, 16-aligned integer
//     (Python uses an array of two 64-bit halves aligned to 8).
//   - A description that disagrees with libbcc's authoritative size (libbcc
//     flattens 2-D arrays to their outer dimension, top-level arrays to their
//     element type, and drops flexible array members' nature) is repaired
//     where the repair is unambiguous, and otherwise the unknown part becomes
//     opaque bytes; see Parse. Python builds a type of the wrong size.
//   - A struct_packed type nested in a non-packed struct keeps the natural
//     alignment its explicit padding implies (Python aligns it to 1 and gets
//     the offsets of everything after it wrong).
//   - Bitfields of any integer type, char and _Bool are laid out as GCC does.
//
// Values are read as little-endian: gobcc runs on x86-64 and arm64.
package ctype

import (
	"errors"
	"strconv"
	"strings"
)

// ErrBadDescription is wrapped by every error Parse returns for a
// description it cannot understand.
var ErrBadDescription = errors.New("ctype: bad type description")

// ErrShortBuffer is wrapped by Decode when the bytes are fewer than the
// type's size.
var ErrShortBuffer = errors.New("ctype: buffer shorter than type")

// ErrEncode is wrapped by every error Encode returns: a Go value of the
// wrong kind, a number out of range, a string or slice too long, an unknown
// field name.
var ErrEncode = errors.New("ctype: cannot encode value")

// Kind says how a Type's bytes are interpreted.
type Kind uint8

// The kinds of C types a libbcc description can produce. Enums arrive as
// their integer type and pointers as "unsigned long long", so neither has a
// kind of its own.
const (
	Invalid   Kind = iota
	Bool           // _Bool
	Int            // signed integers, including signed char and __int128
	Uint           // unsigned integers, including pointers
	Float          // float, double, long double (x87 80-bit), _Float16
	Char           // a single plain char; decodes as a one-byte string like BCC
	CharArray      // char[N]; decodes as a string that stops at the first NUL
	Array          // T[N] for any T but plain char
	Struct         // struct, packed or not
	Union          // union
	Opaque         // bytes of no known structure (see Type.Lossy)
)

var kindNames = [...]string{
	Invalid:   "invalid",
	Bool:      "bool",
	Int:       "int",
	Uint:      "uint",
	Float:     "float",
	Char:      "char",
	CharArray: "char-array",
	Array:     "array",
	Struct:    "struct",
	Union:     "union",
	Opaque:    "opaque",
}

// String returns a lower-case name of the kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Type is a C type with its layout. Types returned by Parse are not shared:
// a caller may keep them, but must not modify them once Decode is in use.
type Type struct {
	// Name is the C spelling of a scalar ("unsigned int"), the tag of a
	// struct or union ("" when anonymous), and "" for arrays and opaque bytes.
	Name string
	// Kind says how the bytes are interpreted.
	Kind Kind
	// Size is the size in bytes, Align the alignment in bytes.
	Size, Align int
	// Fields are a struct's or union's members in declaration order, without
	// libbcc's "__pad_N"/"__pad_end" padding members and without unnamed
	// bitfields. An anonymous struct or union member has Name "".
	Fields []Field
	// Elem and Len describe Array and CharArray types.
	Elem *Type
	Len  int
	// Packed reports that the struct is laid out without alignment. libbcc
	// describes every struct without bitfields as "struct_packed" with
	// explicit padding members, so Packed is true for most structs.
	Packed bool
	// Lossy reports that the description did not match libbcc's size and
	// Parse had to reconstruct part of the type (a 2-D array's inner
	// dimension, a top-level array's length) or turn it into an Opaque
	// member named "__raw".
	Lossy bool
	// Ext belongs to the package that publishes the type (bcc keeps its
	// public description here); ctype never reads or writes it.
	Ext any

	members []member    // as described, with padding and unnamed bitfields
	lookup  []flatField // every name Field can find, anonymous members flattened
}

// Field is one member of a struct or union.
type Field struct {
	// Name is the member's name, "" for an anonymous struct or union.
	Name string
	// Type is the member's type; for a bitfield, its declared type.
	Type *Type
	// Offset is the byte offset of the member's first byte in its parent.
	Offset int
	// BitOffset (0-7) and BitSize locate a bitfield: its least significant
	// bit is bit BitOffset of byte Offset, counting from the least
	// significant bit (little-endian). BitSize is 0 for a member that is not
	// a bitfield.
	BitOffset, BitSize int
}

// member is one entry of a description's member list, before layout.
type member struct {
	name    string
	typ     *Type
	bits    int // bit width, or -1 when not a bitfield
	padding bool
}

// flatField is an accessible member name resolved to its place in the
// outermost type, so that Value.Field is one linear scan with no recursion.
type flatField struct {
	name    string
	typ     *Type
	offset  int
	bitOff  uint8
	bitSize uint8
}

// IsInteger reports whether the type is an integer (including _Bool and the
// single char), so Int64, Uint64 and Big are meaningful.
func (t *Type) IsInteger() bool {
	switch t.Kind {
	case Bool, Int, Uint, Char:
		return true
	}
	return false
}

// IsSigned reports whether an integer type is signed. Plain char is signed,
// as on x86-64.
func (t *Type) IsSigned() bool { return t.Kind == Int || t.Kind == Char }

// IsScalar reports whether the type is a single number, bool or char.
func (t *Type) IsScalar() bool { return t.IsInteger() || t.Kind == Float }

// IsAggregate reports whether the type is a struct or union.
func (t *Type) IsAggregate() bool { return t.Kind == Struct || t.Kind == Union }

// FieldByName returns the member called name, looking into anonymous
// members the way C does, with its offset from the start of t.
func (t *Type) FieldByName(name string) (Field, bool) {
	for i := range t.lookup {
		f := &t.lookup[i]
		if f.name == name {
			return Field{Name: f.name, Type: f.typ, Offset: f.offset,
				BitOffset: int(f.bitOff), BitSize: int(f.bitSize)}, true
		}
	}
	return Field{}, false
}

// String spells the type the way C would declare it, e.g.
// "struct key { unsigned int pid; char comm[16]; }".
func (t *Type) String() string {
	var sb strings.Builder
	t.writeDecl(&sb, "")
	return sb.String()
}

// writeDecl writes the declaration of an object called name of type t.
func (t *Type) writeDecl(sb *strings.Builder, name string) {
	dims := ""
	base := t
	for base.Kind == Array || base.Kind == CharArray {
		dims += "[" + strconv.Itoa(base.Len) + "]"
		base = base.Elem
	}
	switch base.Kind {
	case Struct, Union:
		if base.Kind == Struct {
			sb.WriteString("struct ")
		} else {
			sb.WriteString("union ")
		}
		if base.Name != "" {
			sb.WriteString(base.Name)
			sb.WriteByte(' ')
		}
		sb.WriteString("{ ")
		for _, f := range base.Fields {
			f.Type.writeDecl(sb, f.Name)
			if f.BitSize > 0 {
				sb.WriteByte(':')
				sb.WriteString(strconv.Itoa(f.BitSize))
			}
			sb.WriteString("; ")
		}
		sb.WriteByte('}')
	case Opaque:
		sb.WriteString("unsigned char")
		dims = "[" + strconv.Itoa(base.Size) + "]" + dims
	default:
		sb.WriteString(base.Name)
	}
	if name != "" {
		sb.WriteByte(' ')
		sb.WriteString(name)
	}
	sb.WriteString(dims)
}

// Raw returns an Opaque type of size bytes, for a table whose description is
// missing or unusable: its values decode as bytes.
func Raw(size int) *Type {
	if size < 0 {
		size = 0
	}
	return &Type{Kind: Opaque, Size: size, Align: 1}
}
