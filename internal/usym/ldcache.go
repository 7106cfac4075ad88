package usym

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"unsafe"
)

// LDSOCache is the path of the dynamic linker's cache.
const LDSOCache = "/etc/ld.so.cache"

// LibEntry is one library of /etc/ld.so.cache.
type LibEntry struct {
	Name  string // soname, "libc.so.6"
	Path  string // "/lib/x86_64-linux-gnu/libc.so.6"
	Flags int32  // type and ABI, as ldconfig records them
}

// matchesThisABI is libbcc's match_so_flags: an ELF libc6 library of this
// process's word size.
func (e LibEntry) matchesThisABI() bool {
	const typeMask, elfLibc6, abiMask = 0x00ff, 0x0003, 0xff00
	if e.Flags&typeMask != elfLibc6 {
		return false
	}
	is64 := unsafe.Sizeof(uintptr(0)) == 8
	switch e.Flags & abiMask {
	case 0x0100, 0x0200, 0x0300, 0x0400, 0x0500: // sparc64, ia64, x86-64, s390x, ppc64
		return is64
	}
	return !is64
}

const (
	cacheOldMagic = "ld.so-1.7.0"
	cacheNewMagic = "glibc-ld.so.cache"
)

// ParseLDSOCache parses the old ("ld.so-1.7.0") and new
// ("glibc-ld.so.cache1.1") formats of /etc/ld.so.cache.
func ParseLDSOCache(data []byte) ([]LibEntry, error) {
	bad := fmt.Errorf("ld.so.cache: %w", ErrLibraryNotFound)
	if bytes.HasPrefix(data, []byte(cacheOldMagic)) {
		if len(data) < 16 {
			return nil, bad
		}
		n := binary.LittleEndian.Uint32(data[12:16])
		oldLen := 16 + uint64(n)*12
		newStart := (oldLen + 7) &^ 7
		if uint64(len(data)) > newStart+48 && bytes.HasPrefix(data[newStart:], []byte(cacheNewMagic)) {
			return parseNewCache(data[newStart:])
		}
		if uint64(len(data)) < oldLen {
			return nil, bad
		}
		strs := data[oldLen:]
		out := make([]LibEntry, 0, n)
		for i := uint64(0); i < uint64(n); i++ {
			e := data[16+i*12:]
			out = append(out, LibEntry{
				Flags: int32(binary.LittleEndian.Uint32(e[0:4])),
				Name:  cstring(strs, uint64(binary.LittleEndian.Uint32(e[4:8]))),
				Path:  cstring(strs, uint64(binary.LittleEndian.Uint32(e[8:12]))),
			})
		}
		return out, nil
	}
	if bytes.HasPrefix(data, []byte(cacheNewMagic)) {
		return parseNewCache(data)
	}
	return nil, bad
}

// parseNewCache reads the new format; string offsets count from its
// header.
func parseNewCache(data []byte) ([]LibEntry, error) {
	const hdr, entSize = 48, 24
	if len(data) < hdr {
		return nil, fmt.Errorf("ld.so.cache: short header: %w", ErrLibraryNotFound)
	}
	n := uint64(binary.LittleEndian.Uint32(data[20:24]))
	if uint64(len(data)) < hdr+n*entSize {
		return nil, fmt.Errorf("ld.so.cache: truncated: %w", ErrLibraryNotFound)
	}
	out := make([]LibEntry, 0, n)
	for i := uint64(0); i < n; i++ {
		e := data[hdr+i*entSize:]
		out = append(out, LibEntry{
			Flags: int32(binary.LittleEndian.Uint32(e[0:4])),
			Name:  cstring(data, uint64(binary.LittleEndian.Uint32(e[4:8]))),
			Path:  cstring(data, uint64(binary.LittleEndian.Uint32(e[8:12]))),
		})
	}
	return out, nil
}

func cstring(b []byte, off uint64) string {
	if off >= uint64(len(b)) {
		return ""
	}
	s := b[off:]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return string(s)
}

// ReadLDSOCache reads and parses /etc/ld.so.cache.
func ReadLDSOCache() ([]LibEntry, error) {
	data, err := os.ReadFile(LDSOCache)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLibraryNotFound, err)
	}
	return ParseLDSOCache(data)
}

// whichSOInCache is the ld.so.cache half of bcc_procutils_which_so: the
// first entry whose name starts with "libNAME.so" for this ABI.
func whichSOInCache(entries []LibEntry, libname string) (string, bool) {
	soname := "lib" + libname + ".so"
	for _, e := range entries {
		if strings.HasPrefix(e.Name, soname) && e.matchesThisABI() {
			return e.Path, true
		}
	}
	return "", false
}

// whichSOInMaps is the process half of bcc_procutils_which_so: the first
// mapped path containing ".so" and "/libNAME." or "/libNAME-".
func whichSOInMaps(maps []Mapping, libname string) (string, bool) {
	s1, s2 := "/lib"+libname+".", "/lib"+libname+"-"
	for _, m := range maps {
		if strings.Contains(m.Path, ".so") && (strings.Contains(m.Path, s1) || strings.Contains(m.Path, s2)) {
			return m.Path, true
		}
	}
	return "", false
}

// WhichSO finds a library by short name as BCC's find_library does
// (bcc_procutils_which_so): a name with a '/' is returned as is; with
// pid > 0, the library mapped by that process; else the first matching
// entry of /etc/ld.so.cache ("c" -> "/lib/x86_64-linux-gnu/libc.so.6").
// It reads the cache on every call; a Resolver caches it.
func WhichSO(libname string, pid int) (string, error) {
	return whichSO(libname, pid, ReadLDSOCache)
}

func whichSO(libname string, pid int, cache func() ([]LibEntry, error)) (string, error) {
	if strings.Contains(libname, "/") {
		return libname, nil
	}
	if pid > 0 {
		if maps, err := ReadMaps(pid); err == nil {
			if p, ok := whichSOInMaps(maps, libname); ok {
				return p, nil
			}
		}
	}
	entries, err := cache()
	if err != nil {
		return "", fmt.Errorf("library %q: %w", libname, err)
	}
	if p, ok := whichSOInCache(entries, libname); ok {
		return p, nil
	}
	return "", fmt.Errorf("library %q: %w", libname, ErrLibraryNotFound)
}
