package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MaxStampedFiles bounds how many files IncludeStamps looks at: a compile
// whose -I directories hold more (say -I/usr/include) is not cached, since
// stamping them would cost more than compiling.
const MaxStampedFiles = 5000

// ErrTooManyIncludes means the include directories of a compile hold more
// than MaxStampedFiles files.
var ErrTooManyIncludes = errors.New("include directories too large to stamp")

// IncludeStamps describes every file that the include options in flags
// (-I, -iquote, -isystem, -idirafter, -include, in joined or separate form)
// make visible to the compiler: path, size and modification time. Any change
// to such a file changes the stamp and so the cache key. Missing directories
// stamp as missing: creating one later changes the key too.
func IncludeStamps(flags []string) (string, error) {
	var paths []string
	dirOpts := []string{"-I", "-iquote", "-isystem", "-idirafter", "--include-directory="}
	for i := 0; i < len(flags); i++ {
		f := flags[i]
		if f == "-include" && i+1 < len(flags) {
			paths = append(paths, flags[i+1])
			i++
			continue
		}
		for _, o := range dirOpts {
			if rest, ok := strings.CutPrefix(f, o); ok {
				if rest == "" && i+1 < len(flags) && !strings.HasSuffix(o, "=") {
					rest = flags[i+1]
					i++
				}
				if rest != "" {
					paths = append(paths, rest)
				}
				break
			}
		}
	}
	var b strings.Builder
	n := 0
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				fmt.Fprintf(&b, "%s: %v\n", path, errors.Unwrap(err))
				return nil
			}
			if d.IsDir() {
				return nil
			}
			if n++; n > MaxStampedFiles {
				return ErrTooManyIncludes
			}
			// os.Stat follows links: what they point to is what clang reads.
			fi, err := os.Stat(path)
			if err != nil {
				fmt.Fprintf(&b, "%s: %v\n", path, errors.Unwrap(err))
				return nil
			}
			fmt.Fprintf(&b, "%s %d %d\n", path, fi.Size(), fi.ModTime().UnixNano())
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("%w: %s holds more than %d files", err, p, MaxStampedFiles)
		}
	}
	return b.String(), nil
}
