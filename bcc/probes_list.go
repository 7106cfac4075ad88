package bcc

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gobcc/gobcc/internal/features"
	"github.com/gobcc/gobcc/internal/tracefs"
)

// This file lists what can be probed, for `gobcc list` (bpftrace -l) and
// for programs that choose probes at run time. Patterns are shell globs
// (path.Match: *, ?, [...]).

// matchGlob reports whether glob matches s; a malformed glob is an error.
func matchGlob(glob, s string) (bool, error) {
	ok, err := path.Match(glob, s)
	if err != nil {
		return false, fmt.Errorf("pattern %q: %w", glob, err)
	}
	return ok, nil
}

// ListTracepoints returns "category:event" for every tracepoint whose
// name matches pattern, sorted. pattern is "category:event" with globs
// in either part ("sched:*", "*:sys_enter_open*"), or a glob for the
// event alone ("sched_process_*").
func ListTracepoints(pattern string) ([]string, error) {
	dir, err := tracefs.Dir()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSupported, err)
	}
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
		if ok, err := matchGlob(catGlob, c.Name()); err != nil {
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
			if ok, err := matchGlob(evGlob, e.Name()); err != nil {
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

// TracepointField is one field of a tracepoint's record as a
// TRACEPOINT_PROBE sees it in args: libbcc turns "__data_loc char[]
// filename" into "int data_loc_filename" (read it with
// TP_DATA_LOC_READ), and leaves the common_ fields out.
type TracepointField struct {
	// Type and Name as the program declares them: "pid_t", "pid";
	// "char", "comm[16]" is given as Type "char", Name "comm[16]".
	Type, Name string
	// Decl is the field as the format file declares it.
	Decl         string
	Offset, Size int
	Signed       bool
}

// String is the declaration as args has it: "pid_t pid".
func (f TracepointField) String() string { return f.Type + " " + f.Name }

// TracepointFields returns the fields of tracepoint "category:event"
// from its format file, as the program sees them in args. A missing
// tracepoint is an error wrapping ErrTracepointNotFound.
func TracepointFields(tp string) ([]TracepointField, error) {
	cat, ev, ok := strings.Cut(tp, ":")
	if !ok || cat == "" || ev == "" || strings.ContainsAny(tp, "/") {
		return nil, fmt.Errorf("tracepoint %q: want category:event", tp)
	}
	dir, err := tracefs.Dir()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSupported, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "events", cat, ev, "format"))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("%w: %s", ErrTracepointNotFound, tp)
		}
		return nil, fmt.Errorf("tracepoint %s: %w", tp, err)
	}
	return parseTracepointFormat(string(data)), nil
}

// parseTracepointFormat reads the "field:" lines of a format file.
func parseTracepointFormat(format string) []TracepointField {
	var out []TracepointField
	for _, line := range strings.Split(format, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "field:") {
			continue
		}
		var f TracepointField
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
// trace event's name, as AttachRawTracepoint takes it) that match
// pattern, sorted and without duplicates.
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
// pattern, from tracefs available_filter_functions: what kprobes could
// attach to, sorted and without duplicates. Whether the kernel has
// kprobes at all is KprobesSupported's question (this kernel lists
// functions but has no kprobes).
func ListKernelFunctions(pattern string) ([]string, error) {
	if pattern == "" {
		pattern = "*"
	}
	dir, err := tracefs.Dir()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSupported, err)
	}
	return kernelFunctionsFrom(filepath.Join(dir, "available_filter_functions"), pattern)
}

// kernelFunctionsFrom reads an available_filter_functions file.
func kernelFunctionsFrom(file, pattern string) ([]string, error) {
	f, err := os.Open(file)
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("%w: kernel functions: %w (the kernel has no function tracer)", ErrNotSupported, err)
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
		if ok, err := matchGlob(pattern, name); err != nil {
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

// KprobesSupported returns nil when kprobes can be attached (through the
// kprobe PMU or tracefs kprobe_events), else an error wrapping
// ErrNotSupported that says why (here: CONFIG_KPROBES is not set).
func KprobesSupported() error {
	_, err := features.Kprobe() // wraps ErrNotSupported (the same sentinel)
	return err
}

// ListUserFunctions returns the distinct function names of binary name
// (a path, a library name such as "c", or an executable on $PATH) that
// match pattern, sorted, and the file they were found in.
func ListUserFunctions(name, pattern string) (string, []string, error) {
	if pattern == "" {
		pattern = "*"
	}
	if _, err := matchGlob(pattern, ""); err != nil {
		return "", nil, err
	}
	binPath, err := resolveBinary(name)
	if err != nil {
		return "", nil, err
	}
	// Every name, aliases included (GetUserFunctions keeps one per address).
	fns, err := GetUserFunctionsAndAddresses(binPath, "")
	if err != nil {
		return "", nil, err
	}
	var out []string
	for _, fn := range fns {
		if ok, _ := path.Match(pattern, fn.Name); ok {
			out = append(out, fn.Name)
		}
	}
	slices.Sort(out)
	return binPath, slices.Compact(out), nil
}

// resolveBinary finds a binary as uprobes do: a path, a library name, or
// an executable on $PATH.
func resolveBinary(name string) (string, error) {
	if strings.Contains(name, "/") {
		if _, err := os.Stat(name); err != nil {
			return "", fmt.Errorf("binary %s: %w", name, err)
		}
		return name, nil
	}
	if p, err := FindLibrary(name); err == nil {
		return p, nil
	}
	p, err := FindExe(name)
	if err != nil {
		return "", fmt.Errorf("binary %q: neither a library nor on $PATH: %w", name, err)
	}
	return p, nil
}
