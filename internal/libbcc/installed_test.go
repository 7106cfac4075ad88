package libbcc

import (
	"errors"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

func TestInstalledMatchesOpen(t *testing.T) {
	lib, err := Open()
	if err != nil {
		testutil.RequireKernel(t, "libbcc not installed: %v", err)
	}
	path, v, err := Installed()
	if err != nil {
		t.Fatal(err)
	}
	if path != lib.Path || v != lib.Version {
		t.Errorf("Installed() = %s %v, Open() loaded %s %v", path, v, lib.Path, lib.Version)
	}
}

func TestInstalledMissing(t *testing.T) {
	t.Setenv("GOBCC_LIBBCC", "/nonexistent/libbcc.so.0.99.0")
	if _, _, err := Installed(); !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}
