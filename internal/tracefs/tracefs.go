package tracefs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Errors callers can test with errors.Is.
var (
	// ErrNoTracefs means tracefs is mounted at none of the usual places.
	ErrNoTracefs = errors.New("tracefs is not mounted")
	// ErrUnexpectedFormat means a tracefs file held something this package
	// does not know how to read.
	ErrUnexpectedFormat = errors.New("unexpected tracefs file format")
)

// tracefsCandidates are the places tracefs lives, preferred first:
// /sys/kernel/tracing since Linux 4.1, and the debugfs automount that older
// tools (and older kernels, where tracing was part of debugfs) use.
var tracefsCandidates = []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}

// Dir returns the directory where tracefs is mounted: /sys/kernel/tracing,
// else /sys/kernel/debug/tracing. When neither holds tracefs it returns an
// error wrapping ErrNoTracefs that says how to mount it.
func Dir() (string, error) {
	return findTracefs(tracefsCandidates)
}

func findTracefs(candidates []string) (string, error) {
	for _, dir := range candidates {
		if isTracefs(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("no tracefs at %s (mount it with: mount -t tracefs nodev /sys/kernel/tracing): %w",
		strings.Join(candidates, " or "), ErrNoTracefs)
}

// isTracefs reports whether dir holds a mounted tracefs. An unmounted
// /sys/kernel/tracing still exists as an empty directory, so existence is
// not enough: the file system type says whether it is mounted.
func isTracefs(dir string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false
	}
	switch st.Type {
	case unix.TRACEFS_MAGIC:
		return true
	case unix.DEBUGFS_MAGIC:
		// Before Linux 4.1 the tracing files were plain debugfs files.
		_, err := os.Stat(filepath.Join(dir, "trace_pipe"))
		return err == nil
	}
	return false
}

// BufferSizeKB reads buffer_size_kb, the size of each CPU's trace ring
// buffer in KiB. Until the kernel expands the buffer the file reads
// "7 (expanded: 1408)": perCPU is the current size and expanded the size the
// buffer will take once expanded. After expansion both are the same.
func BufferSizeKB() (perCPU, expanded int, err error) {
	dir, err := Dir()
	if err != nil {
		return 0, 0, err
	}
	return bufferSizeKBAt(dir)
}

func bufferSizeKBAt(dir string) (perCPU, expanded int, err error) {
	path := filepath.Join(dir, "buffer_size_kb")
	content, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, fmt.Errorf("read buffer size: %w", err)
	}
	perCPU, expanded, err = parseBufferSizeKB(string(content))
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	return perCPU, expanded, nil
}

// parseBufferSizeKB parses "1408", "7 (expanded: 1408)" or "X".
func parseBufferSizeKB(content string) (perCPU, expanded int, err error) {
	content = strings.TrimSpace(content)
	if content == "X" {
		return 0, 0, fmt.Errorf("CPUs have different buffer sizes (the file reads X; see per_cpu/cpu*/buffer_size_kb): %w",
			ErrUnexpectedFormat)
	}
	sizeText, expandedText, isUnexpanded := strings.Cut(content, " ")
	perCPU, err = strconv.Atoi(sizeText)
	if err != nil {
		return 0, 0, fmt.Errorf("buffer size %q: %w", content, ErrUnexpectedFormat)
	}
	if !isUnexpanded {
		return perCPU, perCPU, nil
	}
	expandedText, ok := strings.CutPrefix(expandedText, "(expanded: ")
	if ok {
		expandedText, ok = strings.CutSuffix(expandedText, ")")
	}
	if ok {
		expanded, err = strconv.Atoi(expandedText)
	}
	if !ok || err != nil {
		return 0, 0, fmt.Errorf("buffer size %q: %w", content, ErrUnexpectedFormat)
	}
	return perCPU, expanded, nil
}

// SetBufferSizeKB sets the trace ring buffer of every CPU to kb KiB by
// writing buffer_size_kb; the kernel rounds up to whole pages, so
// BufferSizeKB may then read a little more. It needs root and changes the
// buffer for every user of the global trace buffer, bpf_trace_printk
// included.
func SetBufferSizeKB(kb int) error {
	dir, err := Dir()
	if err != nil {
		return err
	}
	return setBufferSizeKBAt(dir, kb)
}

func setBufferSizeKBAt(dir string, kb int) error {
	if kb <= 0 {
		return fmt.Errorf("set buffer size to %d KiB: size must be positive: %w", kb, os.ErrInvalid)
	}
	path := filepath.Join(dir, "buffer_size_kb")
	if err := os.WriteFile(path, []byte(strconv.Itoa(kb)), 0); err != nil {
		return fmt.Errorf("set buffer size to %d KiB: %w", kb, err)
	}
	return nil
}
