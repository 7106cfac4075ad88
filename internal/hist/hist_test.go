package hist

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
)

func TestPyRepr(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{[]byte("bash"), `b'bash'`},
		{[]byte("it's"), `b"it's"`},
		{[]byte(`q"'x`), `b'q"\'x'`},
		{[]byte("a\x00\x7f\xff\t\\"), `b'a\x00\x7f\xff\t\\'`},
		{"str", `'str'`},
		{"é", `'é'`},
		{uint64(5), "5"},
		{int64(-5), "-5"},
		{2.0, "2.0"},
		{true, "True"},
	} {
		if got := PyRepr(c.in); got != c.want {
			t.Errorf("PyRepr(%#v) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestGroup(t *testing.T) {
	errRange := errors.New("range")
	p := func(bucket any, slot, count int64) Point {
		return Point{Bucket: bucket, Slot: big.NewInt(slot), Count: big.NewInt(count)}
	}
	points := []Point{p(uint64(2), 1, 5), p([]byte("a"), 3, 1), p(uint64(2), 1, 7), p(uint64(1), 0, 2)}
	got, err := Group(points, 4, true, nil, errRange)
	if err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprint(len(got))
	for _, s := range got {
		text += fmt.Sprintf(" %v:%v", s.Bucket, s.Counts)
	}
	// First-appearance order; a later point in the same slot wins.
	if want := "3 2:[0 7 0 0] [97]:[0 0 0 1] 1:[2 0 0 0]"; text != want {
		t.Errorf("Group = %s, want %s", text, want)
	}
	got, err = Group(points, 4, true, func(bs []any) []any { return []any{uint64(1), uint64(2)} }, errRange)
	if err != nil || len(got) != 2 || got[0].Bucket != uint64(1) {
		t.Errorf("sorted: %v, %v", got, err)
	}
	if _, err := Group(points, 4, true, func([]any) []any { return []any{"x"} }, errRange); err == nil {
		t.Errorf("unknown bucket from the sort function accepted")
	}
	if _, err := Group([]Point{p(nil, 4, 1)}, 4, false, nil, errRange); !errors.Is(err, errRange) {
		t.Errorf("slot 4 of 4: %v", err)
	}
	if got, _ := Group(nil, 65, false, nil, errRange); len(got) != 1 || len(got[0].Counts) != 65 {
		t.Errorf("empty unkeyed table: %v", got)
	}
}

func TestPrintLog2Wide(t *testing.T) {
	vals := make([]*big.Int, Log2Slots)
	for i := range vals {
		vals[i] = new(big.Int)
	}
	vals[64].SetUint64(1 << 63)
	vals[1].SetInt64(1)
	var b strings.Builder
	PrintLog2(&b, vals, "ns", true)
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 65 || !strings.HasPrefix(lines[0], "               ns ") ||
		!strings.Contains(lines[64], "9223372036854775808 -> 18446744073709551615 : 9223372036854775808 |********************|") {
		t.Errorf("wide log2:\n%s", b.String())
	}
}
