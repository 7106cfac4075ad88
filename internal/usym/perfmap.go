package usym

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// PerfMap is a parsed /tmp/perf-PID.map: lines "START SIZE name" in hex,
// written by JIT compilers (V8, the JVM with perf-map-agent, LuaJIT ...).
type PerfMap struct {
	Path string
	syms []Symbol
	size int
}

// ReadPerfMap parses a perf map file. Malformed lines are skipped, as
// libbcc skips them.
func ReadPerfMap(path string) (*PerfMap, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("perf map: %w", err)
	}
	defer f.Close()
	pm := &PerfMap{Path: path}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		a, rest, ok := strings.Cut(strings.TrimLeft(line, " \t"), " ")
		if !ok {
			continue
		}
		sz, name, ok := strings.Cut(strings.TrimLeft(rest, " \t"), " ")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(strings.TrimPrefix(a, "0x"), 16, 64)
		size, err2 := strconv.ParseUint(strings.TrimPrefix(sz, "0x"), 16, 64)
		name = strings.TrimRight(name, "\r")
		if err1 != nil || err2 != nil || name == "" {
			continue
		}
		pm.syms = append(pm.syms, Symbol{Name: name, Value: start, Size: size})
		pm.size += len(name)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("perf map %s: %w", path, err)
	}
	pm.syms = sortSymbols(pm.syms)
	return pm, nil
}

// Lookup finds the perf map entry covering addr.
func (pm *PerfMap) Lookup(addr uint64) (Symbol, uint64, bool) { return lookupSorted(pm.syms, addr) }

// Symbols returns the entries sorted by address (shared; do not modify).
func (pm *PerfMap) Symbols() []Symbol { return pm.syms }

func (pm *PerfMap) memSize() int { return len(pm.syms)*40 + pm.size }
