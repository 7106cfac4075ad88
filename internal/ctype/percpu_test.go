package ctype

import (
	"bytes"
	"errors"
	"math/big"
	"testing"
)

func TestPerCPURoundTrip(t *testing.T) {
	u16, err := Parse(`"unsigned short"`, 2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := u16.EncodePerCPU([]any{1, 2, 65535}, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Each CPU's value is padded to 8 bytes, as the kernel lays them out.
	want := []byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0}
	if !bytes.Equal(b, want) {
		t.Fatalf("EncodePerCPU = %x, want %x", b, want)
	}
	vals, err := u16.DecodePerCPU(b, 3)
	if err != nil || len(vals) != 3 || vals[2].Uint64() != 65535 {
		t.Fatalf("DecodePerCPU = %v, %v", vals, err)
	}
	if b, err := u16.EncodePerCPU(7, 2); err != nil || !bytes.Equal(b, []byte{7, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("one value for every CPU: %x, %v", b, err)
	}
	if _, err := u16.EncodePerCPU([]any{1}, 2); !errors.Is(err, ErrEncode) {
		t.Errorf("1 value for 2 CPUs: %v", err)
	}
	if _, err := u16.DecodePerCPU(b[:9], 2); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short per-CPU buffer: %v", err)
	}
}

func TestFromBigWrapsLikeC(t *testing.T) {
	s8, _ := Parse(`"signed char"`, 1)
	u32, _ := Parse(`"unsigned int"`, 4)
	for _, c := range []struct {
		typ  *Type
		n    int64
		want string
	}{{s8, 127, "127"}, {s8, 128, "-128"}, {s8, -1, "-1"}, {u32, 1 << 32, "0"}, {u32, -1, "4294967295"}} {
		v, err := c.typ.FromBig(big.NewInt(c.n))
		if err != nil || v.String() != c.want {
			t.Errorf("%s FromBig(%d) = %v, %v; want %s", c.typ, c.n, v, err, c.want)
		}
	}
}
