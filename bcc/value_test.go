package bcc

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/gobcc/gobcc/internal/ctype"
	"github.com/gobcc/gobcc/internal/testutil"
)

// A libbcc description: struct key { u32 pid; u8 flags:3; u8 mode:5; char comm[4]; u64 vals[2]; }
const valueTestDesc = `["key", [["pid", "unsigned int"], ["flags", "unsigned char", 3], ["mode", "unsigned char", 5], ["comm", "char", [4]], ["vals", "unsigned long long", [2]]], "struct"]`

func TestCTypeDescribesTheDecoderLayout(t *testing.T) {
	it, err := ctype.Parse(valueTestDesc, 32)
	if err != nil {
		t.Fatal(err)
	}
	c := describe(it)
	if c.Kind != KindStruct || c.Name != "key" || c.Size != 32 || len(c.Fields) != 5 {
		t.Fatalf("struct: %+v", c)
	}
	type want struct {
		name            string
		kind            Kind
		off, bitOff, bw int
	}
	for i, w := range []want{{"pid", KindUint, 0, 0, 0}, {"flags", KindUint, 4, 0, 3}, {"mode", KindUint, 4, 3, 5}, {"comm", KindCharArray, 5, 0, 0}, {"vals", KindArray, 16, 0, 0}} {
		f := c.Fields[i]
		if f.Name != w.name || f.Type.Kind != w.kind || f.Offset != w.off || f.BitOffset != w.bitOff || f.BitSize != w.bw {
			t.Errorf("field %d = %+v (type %v), want %+v", i, f, f.Type, w)
		}
	}
	if e := c.Fields[4].Type; e.Len != 2 || e.Elem.Kind != KindUint || e.Elem.Size != 8 {
		t.Errorf("vals: %+v", e)
	}
	if f, ok := c.FieldByName("mode"); !ok || f.BitSize != 5 || f.Type != c.Fields[2].Type {
		t.Errorf("FieldByName(mode) = %+v, %v", f, ok)
	}

	b, err := c.Encode(map[string]any{"pid": 7, "flags": 5, "mode": 17, "comm": "ab", "vals": []any{1, uint64(1) << 63}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if v.Type() != c {
		t.Errorf("Value.Type() is not the table's description")
	}
	mode, ok := v.Field("mode")
	if !ok || mode.Uint64() != 17 || mode.Type() != c.Fields[2].Type {
		t.Errorf("mode = %v (%v)", mode, ok)
	}
	if bit, w := mode.IsBitfield(); !bit || w != 5 {
		t.Errorf("mode IsBitfield = %v, %d", bit, w)
	}
	if got := v.FieldAt(3).Str(); got != "ab" {
		t.Errorf("comm = %q", got)
	}
	if got := v.FieldAt(4).Index(1); got.Uint64() != 1<<63 || got.Type() != c.Fields[4].Type.Elem {
		t.Errorf("vals[1] = %v", got)
	}
	if got := v.String(); got != `{pid: 7, flags: 5, mode: 17, comm: "ab", vals: [1, 9223372036854775808]}` {
		t.Errorf("String = %s", got)
	}
	js, err := json.Marshal(v)
	if err != nil || string(js) != `{"pid":7,"flags":5,"mode":17,"comm":"ab","vals":[1,9223372036854775808]}` {
		t.Errorf("JSON = %s, %v", js, err)
	}
	// A Value encodes back to the same bytes; so does one inside a map.
	again, err := c.Encode(v)
	if err != nil || !slices.Equal(again, b) {
		t.Errorf("Encode(Value) = %x, %v; want %x", again, err, b)
	}
	if _, err := c.Decode(b[:8]); !errors.Is(err, ErrTypeMismatch) {
		t.Errorf("short Decode: %v", err)
	}
	if _, err := (&CType{Kind: KindUint, Size: 8}).Decode(make([]byte, 8)); !errors.Is(err, ErrNotDescribed) {
		t.Errorf("hand-made CType Decode: %v", err)
	}
	var zero Value
	if zero.IsValid() || zero.Type() != nil || zero.Kind() != KindInvalid || zero.String() != "<invalid>" {
		t.Errorf("zero Value: %v %v %v", zero.IsValid(), zero.Type(), zero.Kind())
	}
}

func TestValueCompareSortsLikeBCC(t *testing.T) {
	u64, _ := ctype.Parse(`"long long"`, 8)
	c := describe(u64)
	var vals []Value
	for _, n := range []int64{5, -3, 100, 0} {
		b, _ := c.Encode(n)
		v, _ := c.Decode(b)
		vals = append(vals, v)
	}
	slices.SortFunc(vals, Value.Compare)
	var got []int64
	for _, v := range vals {
		got = append(got, v.Int64())
	}
	if !slices.Equal(got, []int64{-3, 0, 5, 100}) {
		t.Errorf("sorted = %v", got)
	}
}

func TestTableKeyAndLeafTypes(t *testing.T) {
	testutil.RequireRoot(t)
	b, err := New(Options{Text: `struct k { u32 pid; char comm[16]; }; BPF_HASH(h, struct k, u64, 4);`, NoAutoAttach: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h := mustTable(t, b, "h")
	key, leaf := h.KeyType(), h.LeafType()
	if key.Kind != KindStruct || key.Size != 20 || len(key.Fields) != 2 || key.Fields[1].Name != "comm" || key.Fields[1].Type.Len != 16 {
		t.Errorf("key type %v: %+v", key, key)
	}
	if leaf.Kind != KindUint || leaf.Size != 8 || !leaf.IsInteger() || leaf.IsSigned() {
		t.Errorf("leaf type %v: %+v", leaf, leaf)
	}
	if err := h.Update(map[string]any{"pid": 1, "comm": "bash"}, 3); err != nil {
		t.Fatal(err)
	}
	items, err := h.Items()
	if err != nil || len(items) != 1 {
		t.Fatalf("items %v, %v", items, err)
	}
	if items[0].Key.Type() != key || items[0].Value.Type() != leaf {
		t.Errorf("item types are not the table's descriptions")
	}
	// A decoded key is a key again.
	if v, err := h.Lookup(items[0].Key); err != nil || v.Uint64() != 3 {
		t.Errorf("Lookup(decoded key) = %v, %v", v, err)
	}
}
