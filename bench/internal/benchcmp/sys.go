package benchcmp

// Small copies of what the harness needs below bcc's public API: filling a
// map in batches, listing /proc/kallsyms as BCC Python's benchmark scripts
// read it, and finding tracefs. They are copied rather than imported so
// that the bench module depends only on the public bcc package.

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapUpdateBatch stores count key/value pairs with BPF_MAP_UPDATE_BATCH and
// returns how many the kernel stored.
func mapUpdateBatch(fd int, keys, values []byte, count uint32) (uint32, error) {
	// union bpf_attr, the batch member.
	var attr struct {
		inBatch, outBatch, keys, values uint64
		count, mapFD                    uint32
		elemFlags, flags                uint64
	}
	attr.keys = uint64(uintptr(unsafe.Pointer(&keys[0])))
	attr.values = uint64(uintptr(unsafe.Pointer(&values[0])))
	attr.count = count
	attr.mapFD = uint32(fd)
	const bpfMapUpdateBatch = 26
	_, _, errno := unix.Syscall(unix.SYS_BPF, bpfMapUpdateBatch, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	if errno != 0 {
		return attr.count, fmt.Errorf("BPF_MAP_UPDATE_BATCH: %w", errno)
	}
	return attr.count, nil
}

// readTextSymbols lists the function symbols (types t and T) of
// /proc/kallsyms with non-zero addresses, except BPF programs, in file
// order: scripts/bench/benchlib.py's text_symbols, line for line.
func readTextSymbols() ([]TextSymbol, error) {
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var syms []TextSymbol
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 || (fields[1] != "t" && fields[1] != "T") {
			continue
		}
		// BPF programs and trampolines come and go with other processes'
		// programs; a lookup of one unloaded meanwhile fails.
		if len(fields) > 3 && fields[3] == "[bpf]" {
			continue
		}
		addr, err := strconv.ParseUint(fields[0], 16, 64)
		if err != nil || addr == 0 {
			continue
		}
		syms = append(syms, TextSymbol{addr, fields[2]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read /proc/kallsyms: %w", err)
	}
	if len(syms) == 0 {
		return nil, ErrNoSymbols
	}
	return syms, nil
}

// errNoTracefs means neither tracefs location holds a mounted tracefs.
var errNoTracefs = errors.New("no tracefs mounted at /sys/kernel/tracing or /sys/kernel/debug/tracing")

// tracefsDir is where tracefs is mounted, as scripts/bench/trace_fields.py
// finds it.
func tracefsDir() (string, error) {
	for _, dir := range []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"} {
		if _, err := os.Stat(dir + "/trace_pipe"); err == nil {
			return dir, nil
		}
	}
	return "", errNoTracefs
}
