// Package uprobe finds where a uprobe goes: the file a library name stands
// for (BCC's bcc_procutils_which_so, reading /etc/ld.so.cache in Go) and
// the file offset of a symbol or address in an ELF file (BCC's
// bcc_resolve_symname), without libbcc.
//
// It is a minimal resolver: it reads .symtab and .dynsym of the file itself
// and does not follow .gnu_debuglink or build-id debug files. The
// internal/usym package (issue 6) resolves those too and is meant to
// replace the symbol part of this one.
package uprobe

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// Sentinel errors.
var (
	// ErrLibraryNotFound means a library name matched no mapping of the
	// process and no ld.so.cache entry.
	ErrLibraryNotFound = errors.New("library not found")
	// ErrSymbolNotFound means the ELF file has no such symbol.
	ErrSymbolNotFound = errors.New("symbol not found")
	// ErrNotMapped means an address lies in no loadable segment.
	ErrNotMapped = errors.New("address in no loadable segment of the file")
)

// Symbol is an ELF symbol where a uprobe can go.
type Symbol struct {
	Name string
	// Value is the symbol's address in the file's layout (st_value).
	Value uint64
	// FileOffset is where Value lies in the file: what a uprobe attaches at.
	FileOffset uint64
	// IFUNC reports a GNU indirect function: Value is its resolver, which
	// runs once at load, not the implementation that calls reach.
	IFUNC bool
}

// WhichSO finds the file a library name stands for, as libbcc's
// bcc_procutils_which_so does: a name with a '/' is a path; with pid > 0,
// the first mapping of that process whose file is "lib<name>.so" followed
// by '.' or '-' (or the end); then the first x86-64/glibc entry of
// /etc/ld.so.cache whose name starts with "lib<name>.so".
func WhichSO(name string, pid int) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	soname := "lib" + name + ".so"
	if pid > 0 {
		if p, ok := whichSOInMaps(pid, soname); ok {
			return p, nil
		}
	}
	data, err := os.ReadFile(LDSOCache)
	if err != nil {
		return "", fmt.Errorf("library %q: %w", name, err)
	}
	entries, err := ParseLDSOCache(data)
	if err != nil {
		return "", fmt.Errorf("library %q: %w", name, err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name, soname) && e.nativeLibc6() {
			return e.Path, nil
		}
	}
	return "", fmt.Errorf("library %q: %w", name, ErrLibraryNotFound)
}

// FindBinary resolves name the way BCC resolves a uprobe's module: a path
// or library name through WhichSO, else an executable on $PATH.
func FindBinary(name string, pid int) (string, error) {
	p, err := WhichSO(name, pid)
	if err == nil {
		return p, nil
	}
	if lp, lerr := exec.LookPath(name); lerr == nil {
		return lp, nil
	}
	return "", err
}

func whichSOInMaps(pid int, soname string) (string, bool) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || !strings.HasPrefix(fields[5], "/") {
			continue
		}
		path := fields[5]
		i := strings.Index(path, "/"+soname)
		if i < 0 {
			continue
		}
		rest := path[i+1+len(soname):]
		if rest == "" || rest[0] == '.' || rest[0] == '-' {
			return path, true
		}
	}
	return "", false
}

// LDSOCache is the dynamic linker's cache of library paths.
const LDSOCache = "/etc/ld.so.cache"

// LibEntry is one /etc/ld.so.cache entry.
type LibEntry struct {
	Name, Path string
	Flags      int32
}

// Flag values from glibc's ldconfig.h.
const (
	flagTypeMask    = 0x00ff
	flagELFLibc6    = 0x0003
	flagRequiredMsk = 0xff00
	flagX8664Lib64  = 0x0300
	flagAArch64     = 0x0a00
)

// nativeLibc6 is libbcc's match_so_flags: a glibc library for this
// machine's word size and ABI.
func (e LibEntry) nativeLibc6() bool {
	if e.Flags&flagTypeMask != flagELFLibc6 {
		return false
	}
	switch want := e.Flags & flagRequiredMsk; want {
	case flagX8664Lib64, flagAArch64, 0:
		// 0: other 64-bit ABIs ldconfig marks with no required flag.
		return true
	}
	return false
}

const (
	oldCacheMagic = "ld.so-1.7.0"
	newCacheMagic = "glibc-ld.so.cache1.1"
)

// ParseLDSOCache reads an ld.so.cache in the new format ("glibc-ld.so.cache1.1"),
// alone or after an old-format ("ld.so-1.7.0") table, as libbcc does.
func ParseLDSOCache(data []byte) ([]LibEntry, error) {
	base := 0
	if bytes.HasPrefix(data, []byte(oldCacheMagic)) {
		// Old header: magic (11 bytes, padded to 12), nlibs; entries of
		// three int32s; the new table follows, 8-byte aligned.
		if len(data) < 16 {
			return nil, errors.New("ld.so.cache: truncated old header")
		}
		n := int(binary.LittleEndian.Uint32(data[12:]))
		base = 16 + n*12
		base = (base + 7) &^ 7
	}
	if base+48 > len(data) || !bytes.Equal(data[base:base+len(newCacheMagic)], []byte(newCacheMagic)) {
		return nil, errors.New("ld.so.cache: no glibc-ld.so.cache1.1 table")
	}
	le := binary.LittleEndian
	n := int(le.Uint32(data[base+20:]))
	entries := data[base+48:]
	if n < 0 || n*24 > len(entries) {
		return nil, errors.New("ld.so.cache: truncated entry table")
	}
	// String offsets count from the start of the new table (glibc's
	// cache_data), which is the start of the file when no old table leads.
	str := func(off uint32) (string, bool) {
		i := base + int(off)
		if off == 0 || i >= len(data) {
			return "", false
		}
		j := bytes.IndexByte(data[i:], 0)
		if j < 0 {
			return "", false
		}
		return string(data[i : i+j]), true
	}
	out := make([]LibEntry, 0, n)
	for k := 0; k < n; k++ {
		e := entries[k*24:]
		name, ok1 := str(le.Uint32(e[4:]))
		path, ok2 := str(le.Uint32(e[8:]))
		if !ok1 || !ok2 {
			continue
		}
		out = append(out, LibEntry{Name: name, Path: path, Flags: int32(le.Uint32(e[0:]))})
	}
	return out, nil
}

// symbols reads .symtab then .dynsym, as libbcc does.
func symbols(f *elf.File) []elf.Symbol {
	var out []elf.Symbol
	if s, err := f.Symbols(); err == nil {
		out = append(out, s...)
	}
	if s, err := f.DynamicSymbols(); err == nil {
		out = append(out, s...)
	}
	return out
}

// FileOffset converts an address in the file's layout to the file offset
// of the loadable segment containing it (libbcc's _find_load).
func FileOffset(f *elf.File, vaddr uint64) (uint64, error) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		if vaddr >= p.Vaddr && vaddr < p.Vaddr+p.Memsz {
			return vaddr - p.Vaddr + p.Off, nil
		}
	}
	return 0, fmt.Errorf("%#x: %w", vaddr, ErrNotMapped)
}

// ResolveSymbol finds sym in the ELF file path and returns it with its file
// offset. Any symbol type matches, the first in .symtab, then .dynsym.
func ResolveSymbol(path, sym string) (Symbol, error) {
	f, err := elf.Open(path)
	if err != nil {
		return Symbol{}, err
	}
	defer f.Close()
	for _, s := range symbols(f) {
		if s.Name != sym || s.Value == 0 {
			continue
		}
		off, err := FileOffset(f, s.Value)
		if err != nil {
			return Symbol{}, fmt.Errorf("%s in %s: %w", sym, path, err)
		}
		return Symbol{Name: s.Name, Value: s.Value, FileOffset: off, IFUNC: elf.ST_TYPE(s.Info) == elf.STT_GNU_IFUNC}, nil
	}
	return Symbol{}, fmt.Errorf("%s in %s: %w", sym, path, ErrSymbolNotFound)
}

// ResolveAddress converts an address in the file's layout (BCC's addr=)
// to a file offset.
func ResolveAddress(path string, vaddr uint64) (uint64, error) {
	f, err := elf.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return FileOffset(f, vaddr)
}

// FunctionSymbols lists the function symbols (STT_FUNC, STT_GNU_IFUNC) of
// path whose names re matches, once per address (BCC's get_user_addresses
// probes each address once), in file order.
func FunctionSymbols(path string, re *regexp.Regexp) ([]Symbol, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seen := make(map[uint64]bool)
	var out []Symbol
	for _, s := range symbols(f) {
		t := elf.ST_TYPE(s.Info)
		if (t != elf.STT_FUNC && t != elf.STT_GNU_IFUNC) || s.Value == 0 || seen[s.Value] {
			continue
		}
		if re != nil && !re.MatchString(s.Name) {
			continue
		}
		off, err := FileOffset(f, s.Value)
		if err != nil {
			continue
		}
		seen[s.Value] = true
		out = append(out, Symbol{Name: s.Name, Value: s.Value, FileOffset: off, IFUNC: t == elf.STT_GNU_IFUNC})
	}
	return out, nil
}
