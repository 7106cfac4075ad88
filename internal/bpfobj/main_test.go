package bpfobj

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

func TestMain(m *testing.M) { testutil.LeakCheckMain(m) }

func TestReadFileChecksTrust(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.o")
	if err := os.WriteFile(good, []byte("obj"), 0o644); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadFile(good); err != nil || string(data) != "obj" {
		t.Fatalf("ReadFile(good) = %q, %v", data, err)
	}
	writable := filepath.Join(dir, "w.o")
	if err := os.WriteFile(writable, []byte("obj"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(writable, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(writable); err == nil || !strings.Contains(err.Error(), "writable by group or others") {
		t.Errorf("group-writable: %v", err)
	}
	link := filepath.Join(dir, "link.o")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(link); err == nil {
		t.Error("a symbolic link was followed")
	}
	if _, err := ReadFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory: %v", err)
	}
}
