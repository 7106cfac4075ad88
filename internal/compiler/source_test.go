package compiler

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestReadRequestFromTextAndFile(t *testing.T) {
	req, file, err := ReadRequest("int x;", "", "", []string{"-DX=1"}, 2)
	if err != nil || file != "<text>" || req.Text != "int x;" || len(req.CFlags) != 1 || req.DebugFlags != 2 {
		t.Errorf("text: %+v, %q, %v", req, file, err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "prog.c")
	if err := os.WriteFile(src, []byte("int y;"), 0o600); err != nil {
		t.Fatal(err)
	}
	req, file, err = ReadRequest("", src, "ignored", nil, 0)
	if err != nil || file != src || req.Text != "int y;" || len(req.CFlags) != 1 || req.CFlags[0] != "-iquote"+dir {
		t.Errorf("file: %+v, %q, %v", req, file, err)
	}
	if _, _, err := ReadRequest("", filepath.Join(dir, "missing.c"), "", nil, 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
