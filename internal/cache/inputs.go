package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
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
// (-I, -isystem, -idirafter, -include, in joined or separate form)
// make visible to the compiler: path, size and modification time. Any change
// to such a file changes the stamp and so the cache key. Missing directories
// stamp as missing: creating one later changes the key too.
func IncludeStamps(flags []string) (string, error) {
	var paths []string
	// -iquote directories serve only #include "..." lines, which
	// QuotedIncludeStamps follows from the program's text: walking them
	// whole would stamp, say, all of /tmp for a program kept there.
	dirOpts := []string{"-I", "-isystem", "-idirafter", "--include-directory="}
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

var quotedInclude = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*include[ \t]*"([^"]+)"`)

// QuotedIncludeStamps follows the #include "..." lines of text, and of the
// files they name, through the directories quoteDirs (-iquote, the
// program's own directory first), and describes each file found (path,
// size, modification time) or missing. At most MaxStampedFiles files.
func QuotedIncludeStamps(text string, quoteDirs []string) (string, error) {
	var b strings.Builder
	seen := map[string]bool{}
	var follow func(text string, dirs []string) error
	follow = func(text string, dirs []string) error {
		for _, m := range quotedInclude.FindAllStringSubmatch(text, -1) {
			name := m[1]
			if seen[name] {
				continue
			}
			seen[name] = true
			if len(seen) > MaxStampedFiles {
				return fmt.Errorf("%w: more than %d quoted includes", ErrTooManyIncludes, MaxStampedFiles)
			}
			found := false
			for _, d := range dirs {
				p := name
				if !filepath.IsAbs(p) {
					p = filepath.Join(d, name)
				}
				fi, err := os.Stat(p)
				if err != nil || fi.IsDir() {
					continue
				}
				found = true
				fmt.Fprintf(&b, "%s %d %d\n", p, fi.Size(), fi.ModTime().UnixNano())
				data, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				if err := follow(string(data), append([]string{filepath.Dir(p)}, dirs...)); err != nil {
					return err
				}
				break
			}
			if !found {
				fmt.Fprintf(&b, "%s: missing\n", name)
			}
		}
		return nil
	}
	err := follow(text, quoteDirs)
	return b.String(), err
}

// QuoteDirs lists the -iquote directories of clang flags, in order: where
// #include "..." looks after the including file's directory.
func QuoteDirs(flags []string) []string {
	var dirs []string
	for i, f := range flags {
		switch {
		case f == "-iquote" && i+1 < len(flags):
			dirs = append(dirs, flags[i+1])
		case strings.HasPrefix(f, "-iquote") && f != "-iquote":
			dirs = append(dirs, strings.TrimPrefix(f, "-iquote"))
		}
	}
	return dirs
}

// sharedTableMarkers are the BCC macros whose tables live outside the
// program (pinned in bpffs, shared between programs of a process): a
// compiled object would create them afresh instead of opening them.
var sharedTableMarkers = []string{"BPF_TABLE_PINNED", "BPF_TABLE_SHARED", "BPF_TABLE_PUBLIC", `BPF_TABLE("extern"`}

// SharedTables names the BCC macro of a table the program shares with
// others ("BPF_TABLE_PINNED", ..., `BPF_TABLE`), or returns "" when its
// compiled form can stand alone and be cached.
func SharedTables(text string) string {
	for _, m := range sharedTableMarkers {
		if strings.Contains(text, m) {
			return strings.TrimSuffix(m, `("extern"`)
		}
	}
	return ""
}

// HeaderIdentity names the kernel header tree a compile uses, for the key.
// A tree generated from BTF lives in a directory named by the hash of
// everything it was made from (internal/kheaders), so its path
// (kernelSource) is its identity; the installed headers (kernelSource "")
// are named by the running release, where /lib/modules/RELEASE/build
// leads, and that tree's stamps. envSource is $BCC_KERNEL_SOURCE, which
// libbcc reads too.
func HeaderIdentity(release, kernelSource, envSource string) string {
	id := release + "\x00" + kernelSource + "\x00" + envSource
	if kernelSource != "" {
		return id
	}
	build := "/lib/modules/" + release + "/build"
	if target, err := filepath.EvalSymlinks(build); err == nil {
		id += "\x00" + target
	}
	for _, p := range []string{build + "/include/generated/autoconf.h", build + "/.config", build + "/include/config/kernel.release"} {
		if fi, err := os.Stat(p); err == nil {
			id += fmt.Sprintf("\x00%s %d %d", p, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return id
}
