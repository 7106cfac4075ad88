package ctype

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"slices"
	"testing"
)

const (
	descKey = `["key", [["pid","unsigned int"], ["prio","signed char"], ["__pad_2","char",[3]], ["comm","char",[16]], ["ts","unsigned long long"], ["delta","long long"] ], "struct_packed"]`
	// struct bf { u8 a:4; u64 b:64; int c:5; _Bool d:1; char e:3 } __attribute__((packed)): b spans 9 bytes.
	descPackedBits = `["bf", [["a","unsigned char", 4], ["b","unsigned long long", 64], ["c","int", 5], ["d","_Bool", 1], ["e","char", 3] ], "struct"]`
	descAnon       = `["anon", [["k","int"], ["", [["x","unsigned int"], ["y","unsigned short"] ], "union"], ["", [["p","char"], ["q","char"] ], "struct_packed"], ["__pad_end","char",[2]] ], "struct_packed"]`
	descWide       = `["wide", [["c","char"], ["__pad_1","char",[15]], ["v","__int128"], ["u","unsigned __int128"], ["ld","long double"], ["f","float"], ["__pad_end","char",[12]] ], "struct_packed"]`
)

func TestDecodeStruct(t *testing.T) {
	typ := mustParse(descKey, 40)
	if got, want := typ.String(), "struct key { unsigned int pid; signed char prio; char comm[16]; unsigned long long ts; long long delta; }"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	b := make([]byte, 40)
	b[0], b[1] = 0x39, 0x30 // 12345
	b[4] = 0xfe             // -2
	copy(b[8:], "bash\x00junk")
	b[24] = 7
	for i := 32; i < 40; i++ {
		b[i] = 0xff // -1
	}
	v, err := typ.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.String(), `{pid: 12345, prio: -2, comm: "bash", ts: 7, delta: -1}`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	js, err := json.Marshal(v)
	if err != nil || string(js) != `{"pid":12345,"prio":-2,"comm":"bash","ts":7,"delta":-1}` {
		t.Errorf("MarshalJSON = %s, %v", js, err)
	}
	prio, ok := v.Field("prio")
	if !ok || prio.Int64() != -2 || prio.Uint64() != math.MaxUint64-1 {
		t.Errorf("prio = %v %d %d", ok, prio.Int64(), prio.Uint64())
	}
	if _, ok := v.Field("nope"); ok {
		t.Error("Field(nope) found something")
	}
	if v.FieldAt(2).Str() != "bash" || v.FieldAt(9).IsValid() || v.Len() != 5 {
		t.Errorf("FieldAt/Len wrong: %q %v %d", v.FieldAt(2).Str(), v.FieldAt(9).IsValid(), v.Len())
	}
	m := v.Interface().(map[string]any)
	if m["pid"] != uint64(12345) || m["prio"] != int64(-2) || m["comm"] != "bash" || m["delta"] != int64(-1) {
		t.Errorf("Interface() = %#v", m)
	}
	if _, err := typ.Decode(b[:39]); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short Decode: %v", err)
	}
	// Encode from the natural form loses what follows comm's NUL only.
	enc, err := typ.Encode(m)
	want := slices.Clone(b)
	clear(want[13:24])
	if err != nil || !bytes.Equal(enc, want) {
		t.Errorf("Encode(Interface()) = %x, %v; want %x", enc, err, want)
	}
	if enc, err := typ.Encode(v); err != nil || !bytes.Equal(enc, b) {
		t.Errorf("Encode(Value) = %x, %v", enc, err)
	}
}

func TestBitfields(t *testing.T) {
	typ := mustParse(descPackedBits, 10)
	if !typ.Packed || typ.Size != 10 {
		t.Fatalf("%s: packed=%v size=%d", typ, typ.Packed, typ.Size)
	}
	in := map[string]any{"a": 9, "b": uint64(0xfedcba9876543210), "c": -16, "d": true, "e": -3}
	b, err := typ.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := typ.Decode(b)
	if got, want := v.String(), `{a: 9, b: 18364758544493064720, c: -16, d: true, e: "\xfd"}`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	e, _ := v.Field("e")
	if e.Int64() != -3 {
		t.Errorf("e = %d", e.Int64())
	}
	if bf, w := e.IsBitfield(); !bf || w != 3 {
		t.Errorf("IsBitfield = %v %d", bf, w)
	}
	for _, bad := range []map[string]any{
		{"a": 16}, {"a": -1}, {"c": 16}, {"c": -17}, {"d": 2}, {"e": 4}, {"e": "xy"}, {"zz": 1},
	} {
		if _, err := typ.Encode(bad); !errors.Is(err, ErrEncode) {
			t.Errorf("Encode(%v) = %v, want ErrEncode", bad, err)
		}
	}
}

func TestAnonymousMembers(t *testing.T) {
	typ := mustParse(descAnon, 12)
	b, err := typ.Encode(map[string]any{"k": -7, "x": 0x12345678, "p": "p", "q": int8('q')})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := typ.Decode(b)
	if got, want := v.String(), `{k: -7, x: 305419896, y: 22136, p: "p", q: "q"}`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	if f, ok := typ.FieldByName("q"); !ok || f.Offset != 9 {
		t.Errorf("FieldByName(q) = %+v %v", f, ok)
	}
	if v.Len() != 3 || v.FieldAt(1).Kind() != Union {
		t.Errorf("anonymous members should stay single fields: len %d kind %s", v.Len(), v.FieldAt(1).Kind())
	}
}

func TestWideAndFloat(t *testing.T) {
	typ := mustParse(descWide, 80)
	minI128 := new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 127))
	maxU128 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	b, err := typ.Encode(map[string]any{"c": "w", "v": minI128, "u": maxU128, "ld": -0.1, "f": float32(1.5)})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := typ.Decode(b)
	vv, _ := v.Field("v")
	uu, _ := v.Field("u")
	ld, _ := v.Field("ld")
	if vv.Big().Cmp(minI128) != 0 || uu.Big().Cmp(maxU128) != 0 || ld.Float64() != -0.1 {
		t.Errorf("got v=%s u=%s ld=%v", vv.Big(), uu.Big(), ld.Float64())
	}
	js, _ := json.Marshal(v)
	want := `{"c":"w","v":"-170141183460469231731687303715884105728","u":"340282366920938463463374607431768211455","ld":-0.1,"f":1.5}`
	if string(js) != want {
		t.Errorf("MarshalJSON = %s\nwant          %s", js, want)
	}
	for _, x := range []float64{0, 1, -2.5, 1e300, -1e-300, 5e-324, math.Inf(1), math.Inf(-1)} {
		enc, err := typ.Encode(map[string]any{"ld": x})
		v, _ := typ.Decode(enc)
		ld, _ := v.Field("ld")
		if err != nil || ld.Float64() != x {
			t.Errorf("long double %v round trip = %v, %v", x, ld.Float64(), err)
		}
	}
	tooBig := new(big.Int).Add(maxU128, big.NewInt(1))
	if _, err := typ.Encode(map[string]any{"u": tooBig}); !errors.Is(err, ErrEncode) {
		t.Errorf("2^128 into unsigned __int128: %v", err)
	}
	if _, err := typ.Encode(map[string]any{"f": 1e39}); !errors.Is(err, ErrEncode) {
		t.Errorf("1e39 into float: %v", err)
	}
	nan := mustParse(`"double"`, 8)
	nb, _ := nan.Encode(math.NaN())
	nv, _ := nan.Decode(nb)
	if js, _ := json.Marshal(nv); string(js) != `"NaN"` {
		t.Errorf("NaN JSON = %s", js)
	}
}

func TestEncodeScalars(t *testing.T) {
	ok := []struct {
		desc string
		in   any
		want []byte
	}{
		{`"unsigned char"`, 255, []byte{255}},
		{`"signed char"`, -128, []byte{0x80}},
		{`"short"`, json.Number("-2"), []byte{0xfe, 0xff}},
		{`"unsigned int"`, 3.0, []byte{3, 0, 0, 0}},
		{`"_Bool"`, true, []byte{1}},
		{`"char"`, "A", []byte{'A'}},
		{`"long long"`, int64(math.MinInt64), []byte{0, 0, 0, 0, 0, 0, 0, 0x80}},
		{`"float"`, 2, []byte{0, 0, 0, 0x40}},
		{`["a", [["x","unsigned short", [3]]], "struct_packed"]`, map[string][]int{"x": {1, 2}}, []byte{1, 0, 2, 0, 0, 0}},
		{`["a", [["s","char", [4]]], "struct_packed"]`, map[string]any{"s": []byte("ab")}, []byte("ab\x00\x00")},
		{`"unsigned int"`, []byte{1, 2, 3, 4}, []byte{1, 2, 3, 4}},
	}
	for _, tc := range ok {
		typ := mustParse(tc.desc, 0)
		got, err := typ.Encode(tc.in)
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("%s.Encode(%v) = %x, %v; want %x", typ, tc.in, got, err, tc.want)
		}
	}
	bad := []struct {
		desc string
		in   any
	}{
		{`"unsigned char"`, 256}, {`"unsigned char"`, -1}, {`"signed char"`, 128}, {`"int"`, 1.5},
		{`"unsigned long long"`, -1}, {`"unsigned int"`, "7"}, {`"_Bool"`, 2}, {`"char"`, ""},
		{`"int"`, []byte{1, 2}}, {`"int"`, math.NaN()}, {`"int"`, nil},
		{`["a", [["s","char", [4]]], "struct_packed"]`, map[string]any{"s": "abcde"}},
		{`["a", [["x","int", [2]]], "struct_packed"]`, map[string]any{"x": []int{1, 2, 3}}},
		{`["a", [["x","int", [2]]], "struct_packed"]`, []int{1}},
		{`["a", [["x","int", [2]]], "struct_packed"]`, map[string]any{"x": 5}},
	}
	for _, tc := range bad {
		typ := mustParse(tc.desc, 0)
		if got, err := typ.Encode(tc.in); !errors.Is(err, ErrEncode) {
			t.Errorf("%s.Encode(%#v) = %x, %v; want ErrEncode", typ, tc.in, got, err)
		}
	}
	if err := mustParse(`"int"`, 4).EncodeTo(make([]byte, 3), 1); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("EncodeTo short: %v", err)
	}
}

func TestCompareOrdersLikeSorted(t *testing.T) {
	enc := func(desc string, size int, x any) Value {
		typ := mustParse(desc, size)
		b, err := typ.Encode(x)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := typ.Decode(b)
		return v
	}
	huge := new(big.Int).Lsh(big.NewInt(1), 100)
	// In ascending order.
	vals := []Value{
		enc(`"double"`, 8, math.NaN()),
		enc(`"__int128"`, 16, new(big.Int).Neg(huge)),
		enc(`"long long"`, 8, int64(math.MinInt64)),
		enc(`"int"`, 4, -1),
		enc(`"unsigned char"`, 1, 0),
		enc(`"double"`, 8, 0.5),
		enc(`"_Bool"`, 1, true),
		enc(`"unsigned long long"`, 8, uint64(math.MaxUint64)),
		enc(`"unsigned __int128"`, 16, huge),
		enc(`"char"`, 16, ""),
		enc(`"char"`, 16, "a"),
		enc(`"char"`, 16, "ab"),
		enc(`"char"`, 16, "b"),
		enc(`"int"`, 8, []int{1, 2}),
		enc(`"int"`, 8, []int{2, 1}),
		enc(descKey, 40, map[string]any{"pid": 1, "comm": "z"}),
		enc(descKey, 40, map[string]any{"pid": 2, "comm": "a"}),
	}
	for i := range vals {
		for j := range vals {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := Compare(vals[i], vals[j]); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", vals[i], vals[j], got, want)
			}
		}
	}
}

func TestIndexAndZeroValue(t *testing.T) {
	typ := mustParse(`"unsigned short"`, 6)
	v, _ := typ.Decode([]byte{1, 0, 2, 0, 3, 0})
	if v.Len() != 3 || v.Index(2).Uint64() != 3 || v.Index(3).IsValid() || v.Index(-1).IsValid() {
		t.Errorf("Index: %s", v)
	}
	var zero Value
	if zero.IsValid() || zero.Uint64() != 0 || zero.String() != "<invalid>" || zero.Interface() != nil || zero.Big() != nil {
		t.Error("zero Value is not inert")
	}
	if js, _ := zero.MarshalJSON(); string(js) != "null" {
		t.Errorf("zero MarshalJSON = %s", js)
	}
}

// mustParse is Parse for descriptions the test knows to be good.
func mustParse(desc string, size int) *Type {
	t, err := Parse(desc, size)
	if err != nil {
		panic(err)
	}
	return t
}
