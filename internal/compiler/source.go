package compiler

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gobcc/gobcc/cflags"
)

// ReadRequest makes the Request for a program given as text (named name in
// messages, default "<text>") or, when text is empty, read from srcFile,
// whose directory is searched for #include "...". It checks the extra clang
// flags and returns the file name for messages. The caller rules out a
// program with neither text nor srcFile.
func ReadRequest(text, srcFile, name string, flags []string, debugFlags uint) (Request, string, error) {
	file := name
	switch {
	case text != "":
		if file == "" {
			file = "<text>"
		}
	default:
		data, err := os.ReadFile(srcFile)
		if err != nil {
			return Request{}, "", fmt.Errorf("read program: %w", err)
		}
		text, file = string(data), srcFile
	}
	flags = append([]string(nil), flags...)
	if err := cflags.Validate(flags); err != nil {
		return Request{}, "", err
	}
	if srcFile != "" {
		// libbcc compiles text under a virtual name; keep quoted includes
		// relative to the real file working.
		// libbcc runs clang from the kernel tree: the path must be absolute.
		dir, err := filepath.Abs(filepath.Dir(srcFile))
		if err != nil {
			return Request{}, "", fmt.Errorf("read program: %w", err)
		}
		flags = append(flags, "-iquote"+dir)
	}
	return Request{Text: text, CFlags: flags, DebugFlags: debugFlags}, file, nil
}

// FunctionInsns returns the named function's instructions, and whether the
// program has that function.
func (r *Result) FunctionInsns(name string) ([]byte, bool) {
	for _, f := range r.Functions {
		if f.Name == name {
			return f.Insns, true
		}
	}
	return nil, false
}
