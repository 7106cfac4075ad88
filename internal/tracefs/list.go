package tracefs

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gobcc/gobcc/internal/bpfsys"
)

// This file lists what can be probed, for `gobcc list` (bpftrace -l) and
// for programs that choose probes at run time. Patterns are shell globs
// (path.Match: *, ?, [...]).

// MatchGlob reports whether glob matches s; a malformed glob is an error.
func MatchGlob(glob, s string) (bool, error) {
	ok, err := path.Match(glob, s)
	if err != nil {
		return false, fmt.Errorf("pattern %q: %w", glob, err)
	}
	return ok, nil
}

// supportedDir is Dir, with its failure wrapping bpfsys.ErrNotSupported.
func supportedDir() (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", fmt.Errorf("%w: %w", bpfsys.ErrNotSupported, err)
	}
	return dir, nil
}

// ListTracepoints returns "category:event" for every tracepoint whose
// name matches pattern, sorted. pattern is "category:event" with globs
// in either part, or a glob for the event alone.
func ListTracepoints(pattern string) ([]string, error) {
	dir, err := supportedDir()
	if err != nil {
		return nil, err
	}
	return listTracepointsAt(dir, pattern)
}

func listTracepointsAt(dir, pattern string) ([]string, error) {
	catGlob, evGlob, ok := strings.Cut(pattern, ":")
	if !ok {
		catGlob, evGlob = "*", pattern
	}
	if pattern == "" {
		catGlob, evGlob = "*", "*"
	}
	cats, err := os.ReadDir(filepath.Join(dir, "events"))
	if err != nil {
		return nil, fmt.Errorf("list tracepoints: %w", err)
	}
	var out []string
	for _, c := range cats {
		if !c.IsDir() {
			continue
		}
		if ok, err := MatchGlob(catGlob, c.Name()); err != nil {
			return nil, err
		} else if !ok {
			continue
		}
		evs, err := os.ReadDir(filepath.Join(dir, "events", c.Name()))
		if err != nil {
			continue // a category removed meanwhile
		}
		for _, e := range evs {
			if !e.IsDir() {
				continue
			}
			if ok, err := MatchGlob(evGlob, e.Name()); err != nil {
				return nil, err
			} else if !ok {
				continue
			}
			// ftrace's own events (ftrace:function, ...) have no
			// "enable": they are not tracepoints a program can attach to.
			if _, err := os.Stat(filepath.Join(dir, "events", c.Name(), e.Name(), "enable")); err != nil {
				continue
			}
			out = append(out, c.Name()+":"+e.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}

// Field is one field of a tracepoint's record as a TRACEPOINT_PROBE sees
// it in args (probes.TracepointField has the same layout).
type Field struct {
	Type, Name   string
	Decl         string
	Offset, Size int
	Signed       bool
}

// String is the declaration as args has it: "pid_t pid".
func (f Field) String() string { return f.Type + " " + f.Name }

// TracepointFields returns the fields of tracepoint "category:event"
// from its format file, as the program sees them in args. A missing
// tracepoint is an error wrapping ErrTracepointNotFound.
func TracepointFields(tp string) ([]Field, error) {
	cat, ev, ok := strings.Cut(tp, ":")
	if !ok || cat == "" || ev == "" || strings.ContainsAny(tp, "/") {
		return nil, fmt.Errorf("tracepoint %q: want category:event", tp)
	}
	dir, err := supportedDir()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, "events", cat, ev, "format"))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("%w: %s", ErrTracepointNotFound, tp)
		}
		return nil, fmt.Errorf("tracepoint %s: %w", tp, err)
	}
	return ParseFormat(string(data)), nil
}

// ParseFormat reads the "field:" lines of a format file the way libbcc
// presents them in args: "__data_loc char[] filename" becomes "int
// data_loc_filename", and the common_ fields are left out.
func ParseFormat(format string) []Field {
	var out []Field
	for _, line := range strings.Split(format, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "field:") {
			continue
		}
		var f Field
		for _, part := range strings.Split(line, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), ":")
			if !ok {
				continue
			}
			switch k {
			case "field":
				f.Decl = strings.TrimSpace(v)
			case "offset":
				f.Offset, _ = strconv.Atoi(v)
			case "size":
				f.Size, _ = strconv.Atoi(v)
			case "signed":
				f.Signed = v == "1"
			}
		}
		i := strings.LastIndexAny(f.Decl, " *")
		if i < 0 {
			continue
		}
		f.Type, f.Name = strings.TrimSpace(f.Decl[:i+1]), f.Decl[i+1:]
		if strings.HasPrefix(f.Name, "common_") {
			continue
		}
		if strings.HasPrefix(f.Type, "__data_loc") {
			f.Type, f.Name = "int", "data_loc_"+f.Name
		}
		out = append(out, f)
	}
	return out
}

// ListRawTracepoints returns the names raw tracepoints attach to (every
// trace event's name) that match pattern, sorted and without duplicates.
func ListRawTracepoints(pattern string) ([]string, error) {
	if pattern == "" {
		pattern = "*"
	}
	tps, err := ListTracepoints("*:" + pattern)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, tp := range tps {
		_, ev, _ := strings.Cut(tp, ":")
		out = append(out, ev)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// ListKernelFunctions returns the kernel functions whose names match
// pattern, from available_filter_functions: what kprobes could attach
// to, sorted and without duplicates.
func ListKernelFunctions(pattern string) ([]string, error) {
	if pattern == "" {
		pattern = "*"
	}
	dir, err := supportedDir()
	if err != nil {
		return nil, err
	}
	return KernelFunctionsFrom(filepath.Join(dir, "available_filter_functions"), pattern)
}

// KernelFunctionsFrom reads an available_filter_functions file; a missing
// one (no function tracer) is an error wrapping bpfsys.ErrNotSupported.
func KernelFunctionsFrom(file, pattern string) ([]string, error) {
	f, err := os.Open(file)
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("%w: kernel functions: %w (the kernel has no function tracer)", bpfsys.ErrNotSupported, err)
	}
	if err != nil {
		// EPERM: kernel lockdown hides the list.
		return nil, fmt.Errorf("kernel functions: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, _, _ := strings.Cut(sc.Text(), " ") // "name [module]"
		if ok, err := MatchGlob(pattern, name); err != nil {
			return nil, err
		} else if ok {
			out = append(out, name)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("kernel functions: %w", err)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
