package ctype

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

var fuzzDescs = []string{
	descKey, descPackedBits, descAnon, descWide,
	`["arr2", [["m","int", [2]], ["after","char"], ["__pad_end","char",[3]] ], "struct_packed"]`,
	`["u2", [["m","int", [2]], ["x","unsigned long long"] ], "union"]`,
	`"char"`, `"__int128"`, `"long double"`, `"_Float16"`,
}

// FuzzParse checks that no description makes Parse panic, that every
// accepted type stays inside libbcc's size, and that decoding bytes of that
// size works and formats.
func FuzzParse(f *testing.F) {
	for _, d := range fuzzDescs {
		f.Add(d, 0)
		f.Add(d, 28)
	}
	for _, c := range layoutCases {
		f.Add(c.desc, 16)
	}
	f.Fuzz(func(t *testing.T, desc string, size int) {
		if size > 1<<16 {
			size %= 1 << 16
		}
		typ, err := Parse(desc, size)
		if err != nil {
			if !errors.Is(err, ErrBadDescription) {
				t.Fatalf("error does not wrap ErrBadDescription: %v", err)
			}
			return
		}
		if typ.Size > 1<<20 {
			return // valid but too big to decode quickly
		}
		if size != 0 && typ.Size != size {
			t.Fatalf("size %d, libbcc says %d", typ.Size, size)
		}
		checkInBounds(t, typ, typ.Size)
		b := bytes.Repeat([]byte{0xa5}, typ.Size)
		v, err := typ.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		exercise(t, v)
	})
}

// FuzzDecode checks that no bytes make decoding, formatting, comparing or
// re-encoding panic, and that a Value re-encodes to its own bytes.
func FuzzDecode(f *testing.F) {
	for i := range fuzzDescs {
		f.Add(uint8(i), []byte("some bytes that are long enough for any of the types in the list, really"))
	}
	types := make([]*Type, len(fuzzDescs))
	for i, d := range fuzzDescs {
		types[i] = mustParse(d, 0)
	}
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		typ := types[int(which)%len(types)]
		v, err := typ.Decode(b)
		if err != nil {
			if len(b) >= typ.Size || !errors.Is(err, ErrShortBuffer) {
				t.Fatalf("Decode(%d bytes) of %d-byte type: %v", len(b), typ.Size, err)
			}
			return
		}
		exercise(t, v)
		enc, err := typ.Encode(v)
		if err != nil || !bytes.Equal(enc, b[:typ.Size]) {
			t.Fatalf("Encode(Value) = %x, %v; want %x", enc, err, b[:typ.Size])
		}
		if Compare(v, v) != 0 {
			t.Fatalf("Compare(v, v) != 0 for %s", v)
		}
	})
}

// exercise calls every accessor, recursively, and checks the JSON is valid.
func exercise(t *testing.T, v Value) {
	t.Helper()
	budget := 2000
	exerciseBudget(t, v, &budget)
}

// exerciseBudget is exercise visiting at most *budget values, so that
// nested arrays cannot make one fuzz input take exponential time.
func exerciseBudget(t *testing.T, v Value, budget *int) {
	t.Helper()
	if *budget <= 0 {
		return
	}
	*budget--
	_ = v.String()
	_ = v.Interface()
	_, _, _, _ = v.Uint64(), v.Int64(), v.Float64(), v.Bool()
	_, _ = v.Big(), v.Str()
	js, err := v.MarshalJSON()
	if err != nil || !json.Valid(js) {
		t.Fatalf("MarshalJSON = %s, %v", js, err)
	}
	for i := 0; i < v.Len() && i < 64; i++ {
		exerciseBudget(t, v.Index(i), budget)
		exerciseBudget(t, v.FieldAt(i), budget)
	}
	if typ := v.Type(); typ != nil {
		for _, f := range typ.lookup {
			if fv, ok := v.Field(f.name); !ok || !fv.IsValid() {
				t.Fatalf("Field(%q) not found", f.name)
			}
		}
		if _, err := typ.Encode(v.Interface()); err != nil && !errors.Is(err, ErrEncode) {
			t.Fatalf("Encode(Interface()) error does not wrap ErrEncode: %v", err)
		}
	}
}
