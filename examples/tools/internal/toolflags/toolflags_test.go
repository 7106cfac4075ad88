package toolflags

import "testing"

func TestIntervalDuration(t *testing.T) {
	for _, c := range []struct {
		i, d         string
		wantI, wantD int
		bad          bool
	}{
		{"", "", Forever, 0, false},
		{"5", "", 5, 0, false},
		{"", "10", 10, 10, false},
		{"2", "10", 2, 10, false},
		{"0", "", 0, 0, true},
		{"x", "", 0, 0, true},
		{"", "-3", 0, 0, true},
	} {
		i, d, err := IntervalDuration(c.i, c.d)
		if (err != nil) != c.bad || (!c.bad && (i != c.wantI || d != c.wantD)) {
			t.Errorf("IntervalDuration(%q, %q) = %d, %d, %v", c.i, c.d, i, d, err)
		}
	}
}
