package hist

import "testing"

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
