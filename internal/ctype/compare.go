package ctype

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math"
)

// Compare orders two values the way BCC Python's sorted(items()) orders
// scalar keys and leaves, extended to a total order over everything:
//
//   - numbers (integers of any width and sign, _Bool, char, floats) by
//     numeric value, NaN before every other number;
//   - char arrays by their text up to the first NUL, byte-wise (Python
//     compares bytes);
//   - arrays element by element, then by length;
//   - structs and unions member by member in declaration order (Python
//     cannot order ctypes structures at all);
//   - values of different shapes by kind, then by raw bytes.
//
// It returns -1, 0 or +1 and does not allocate for values up to 64 bits.
func Compare(a, b Value) int {
	ca, cb := category(a), category(b)
	if ca != cb {
		return cmp.Compare(ca, cb)
	}
	switch ca {
	case catNumber:
		return compareNumbers(a, b)
	case catText:
		return bytes.Compare(textOf(a), textOf(b))
	case catArray:
		for i := 0; i < min(a.Len(), b.Len()); i++ {
			if c := Compare(a.Index(i), b.Index(i)); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.Len(), b.Len())
	case catAggregate:
		for i := 0; i < min(a.Len(), b.Len()); i++ {
			if c := Compare(a.FieldAt(i), b.FieldAt(i)); c != 0 {
				return c
			}
		}
		if c := cmp.Compare(a.Len(), b.Len()); c != 0 {
			return c
		}
	}
	return bytes.Compare(a.data, b.data)
}

const (
	catInvalid = iota
	catNumber
	catText
	catArray
	catAggregate
	catOpaque
)

func category(v Value) int {
	switch v.Kind() {
	case Bool, Int, Uint, Float:
		return catNumber
	case Char, CharArray:
		return catText
	case Array:
		return catArray
	case Struct, Union:
		return catAggregate
	case Opaque:
		return catOpaque
	}
	return catInvalid
}

func textOf(v Value) []byte {
	if v.Kind() == Char {
		if v.bitSize > 0 {
			return []byte{byte(v.Int64())}
		}
		return v.data[:1]
	}
	return cstring(v.data)
}

// int128 is a 128-bit integer value with its sign, enough to order any C
// integer (signed 128 down to -2^127, unsigned up to 2^128-1) exactly.
type int128 struct {
	neg    bool
	hi, lo uint64 // two's complement when neg
}

func toInt128(v Value) int128 {
	if v.is128() {
		lo := binary.LittleEndian.Uint64(v.data)
		hi := binary.LittleEndian.Uint64(v.data[8:])
		return int128{neg: v.typ.IsSigned() && int64(hi) < 0, hi: hi, lo: lo}
	}
	if v.typ.IsSigned() {
		x := v.Int64()
		if x < 0 {
			return int128{neg: true, hi: math.MaxUint64, lo: uint64(x)}
		}
		return int128{lo: uint64(x)}
	}
	return int128{lo: v.raw()}
}

func compareNumbers(a, b Value) int {
	if a.typ.Kind == Float || b.typ.Kind == Float {
		fa, fb := a.Float64(), b.Float64()
		switch na, nb := math.IsNaN(fa), math.IsNaN(fb); {
		case na && nb:
			return 0
		case na:
			return -1
		case nb:
			return 1
		}
		return cmp.Compare(fa, fb)
	}
	x, y := toInt128(a), toInt128(b)
	if x.neg != y.neg {
		if x.neg {
			return -1
		}
		return 1
	}
	// Same sign: two's complement words order like unsigned ones.
	if c := cmp.Compare(x.hi, y.hi); c != 0 {
		return c
	}
	return cmp.Compare(x.lo, y.lo)
}
