package rawfield

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

func TestFields(t *testing.T) {
	b := make([]byte, 32)
	binary.NativeEndian.PutUint16(b[2:], 0xfffe)                  // -2 as s16
	binary.NativeEndian.PutUint32(b[4:], math.Float32bits(-2.5))  // float
	binary.NativeEndian.PutUint64(b[8:], 1<<63|5)                 // u64
	binary.NativeEndian.PutUint64(b[16:], math.Float64bits(1e10)) // double
	b[24] = 200
	for _, tc := range []struct {
		f     Field
		i     int64
		u     uint64
		float float64
	}{
		{Field{2, 2, Signed}, -2, math.MaxUint64 - 1, -2},
		{Field{2, 2, Unsigned}, 0xfffe, 0xfffe, 0xfffe},
		{Field{4, 4, Float}, -2, math.MaxUint64 - 1, -2.5},
		{Field{8, 8, Unsigned}, math.MinInt64 + 5, 1<<63 | 5, float64(uint64(1<<63 | 5))},
		{Field{16, 8, Float}, 1e10, 1e10, 1e10},
		{Field{24, 1, Signed}, -56, uint64(math.MaxUint64 - 55), -56},
		{Field{24, 1, Unsigned}, 200, 200, 200},
	} {
		if got := tc.f.Int64(b); got != tc.i {
			t.Errorf("%+v Int64 = %d, want %d", tc.f, got, tc.i)
		}
		if got := tc.f.Uint64(b); got != tc.u {
			t.Errorf("%+v Uint64 = %d, want %d", tc.f, got, tc.u)
		}
		if got := tc.f.Float64(b); got != tc.float {
			t.Errorf("%+v Float64 = %v, want %v", tc.f, got, tc.float)
		}
	}
}

func TestNewRefusesOddSizes(t *testing.T) {
	for _, tc := range []struct {
		size int
		kind Kind
	}{{3, Unsigned}, {16, Signed}, {2, Float}, {16, Float}} {
		if _, err := New(0, tc.size, tc.kind); !errors.Is(err, ErrUnsupported) {
			t.Errorf("New(0, %d, %v) = %v, want ErrUnsupported", tc.size, tc.kind, err)
		}
	}
	if f, err := New(4, 8, Signed); err != nil || f != (Field{4, 8, Signed}) {
		t.Errorf("New(4, 8, Signed) = %+v, %v", f, err)
	}
}
