package events

import "testing"

func TestEventFieldTypes(t *testing.T) {
	typ, err := TypeFromFields([]string{"a#u8", "b#u64", "c#char[5]", "d#int [3]", "e#enum foo", "f#void *", "g#unsigned __int128", "h#pid_t"})
	if err != nil {
		t.Fatal(err)
	}
	offsets := []int{0, 8, 16, 24, 36, 40, 48, 64}
	for i, f := range typ.Fields {
		if f.Offset != offsets[i] {
			t.Errorf("%s at %d, want %d", f.Name, f.Offset, offsets[i])
		}
	}
	if typ.Size != 80 {
		t.Errorf("size %d, want 80", typ.Size)
	}
	if _, err := TypeFromFields([]string{"s#struct foo"}); err == nil {
		t.Error("nested struct accepted")
	}
}

type withBool struct {
	A uint32
	B bool
	_ [3]byte
}

type plain struct {
	A uint32
	B [4]byte
	C uint64
}

type padded struct {
	A uint8
	B uint64 // Go pads before B; binary.Size does not
}

// TestCopier copies byte for byte only where Go's layout is the binary
// one, and decodes the same values either way.
func TestCopier(t *testing.T) {
	rec := []byte{1, 0, 0, 0, 1, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9}
	if c := NewCopier[plain](); !c.direct || c.Size != 16 {
		t.Errorf("plain: direct %v, size %d", c.direct, c.Size)
	} else {
		var v plain
		if err := c.Decode(rec, &v); err != nil || v.A != 1 || v.B != [4]byte{1} || v.C != 0x0909090909090909 {
			t.Errorf("plain: %+v, %v", v, err)
		}
	}
	if c := NewCopier[withBool](); c.direct || c.Size != 8 {
		t.Errorf("withBool: direct %v, size %d", c.direct, c.Size)
	} else {
		var v withBool
		if err := c.Decode(rec, &v); err != nil || v.A != 1 || !v.B {
			t.Errorf("withBool: %+v, %v", v, err)
		}
	}
	if c := NewCopier[padded](); c.direct || c.Size != 9 {
		t.Errorf("padded: direct %v, size %d", c.direct, c.Size)
	}
	if c := NewCopier[[]byte](); c.Size > 0 {
		t.Errorf("slice: size %d", c.Size)
	}
}
