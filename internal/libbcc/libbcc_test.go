package libbcc

import (
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

func TestParseVersion(t *testing.T) {
	for _, c := range []struct {
		file string
		want Version
	}{
		{"libbcc.so.0.26.0", Version{0, 26, 0}},
		{"libbcc.so.0.29.1", Version{0, 29, 1}},
		{"libbcc.so.0", Version{}},
		{"libbcc.so", Version{}},
		{"libbcc.so.0.x.1", Version{}},
	} {
		if got := ParseVersion(c.file); got != c.want {
			t.Errorf("ParseVersion(%q) = %v, want %v", c.file, got, c.want)
		}
	}
	if !(Version{0, 25, 0}).AtLeast(0, 25) || (Version{0, 24, 0}).AtLeast(0, 25) || !(Version{1, 0, 0}).AtLeast(0, 25) {
		t.Error("AtLeast")
	}
	if !(Version{}).AtLeast(0, 28) {
		t.Error("an unknown version must count as the newest")
	}
}

func TestOpenFindsVersionAndSignature(t *testing.T) {
	lib, err := Open()
	if err != nil {
		testutil.RequireKernel(t, "libbcc not installed: %v", err)
	}
	if !strings.Contains(lib.Path, "libbcc.so.") || lib.Version == (Version{}) {
		t.Fatalf("path %q version %v", lib.Path, lib.Version)
	}
	// Debian 12 ships 0.26, whose bcc_func_load takes attach_type.
	if lib.Version.AtLeast(0, 25) != lib.FuncLoadHasAttachType() {
		t.Error("FuncLoadHasAttachType disagrees with the version")
	}
	t.Logf("libbcc %v at %s", lib.Version, lib.Path)
}
