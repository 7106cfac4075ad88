package libbcc

import "testing"

func TestParseVersion(t *testing.T) {
	for file, want := range map[string]Version{
		"libbcc.so.0.26.0": {0, 26, 0},
		"libbcc.so.0.29.1": {0, 29, 1},
		"libbcc.so.0":      {},
		"libbcc.so":        {},
	} {
		if got := ParseVersion(file); got != want {
			t.Errorf("ParseVersion(%q) = %v, want %v", file, got, want)
		}
	}
	if v := ParseVersion("libbcc.so.0.26.0"); !v.AtLeast(0, 25) || v.AtLeast(0, 28) {
		t.Errorf("0.26.0 AtLeast wrong")
	}
}
