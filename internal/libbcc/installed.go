package libbcc

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gobcc/gobcc/internal/usym"
)

// Installed finds the libbcc file Open would load and its version, without
// loading it: the compile cache keys entries by libbcc's version and must
// not pay for a dlopen of LLVM to learn it. It follows GOBCC_LIBBCC as Open
// does, else looks libbcc.so.0 up in the dynamic linker's cache.
func Installed() (path string, v Version, err error) {
	name := os.Getenv("GOBCC_LIBBCC")
	if name == "" || filepath.Base(name) == name {
		soname := name
		if soname == "" {
			soname = "libbcc.so.0"
		}
		entries, err := usym.ReadLDSOCache()
		if err != nil {
			return "", Version{}, fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		name = ""
		for _, e := range entries {
			if e.Name == soname {
				name = e.Path
				break
			}
		}
		if name == "" {
			return "", Version{}, fmt.Errorf("%w: %s is not in %s", ErrNotFound, soname, usym.LDSOCache)
		}
	}
	real, err := filepath.EvalSymlinks(name)
	if err != nil {
		return "", Version{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return real, ParseVersion(filepath.Base(real)), nil
}
