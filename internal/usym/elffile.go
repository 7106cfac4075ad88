package usym

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Symbol is one function symbol of an ELF file.
type Symbol struct {
	Name  string // as stored, mangled
	Value uint64 // st_value: the address in the file's own layout
	Size  uint64
	Type  elf.SymType
	Bind  elf.SymBind
}

// IFUNC reports whether the symbol is a GNU indirect function: its address
// is a resolver that returns the implementation, so a uprobe on it fires
// once per binding rather than once per call.
func (s Symbol) IFUNC() bool { return s.Type == elf.STT_GNU_IFUNC }

// File is the function symbol table of one ELF file (with its separate
// debug file merged in) and the layout needed to map process addresses
// into it. A File is immutable and safe for concurrent use.
type File struct {
	// Path is the file the symbols were read from.
	Path string
	// DebugPath is the separate debug file whose symbols were added, or "".
	DebugPath string
	// Type is elf.ET_EXEC (fixed addresses) or elf.ET_DYN (PIE executable
	// or shared object, loaded at a bias).
	Type elf.Type
	// BuildID is the GNU build id in lower-case hex, or "".
	BuildID string

	syms      []Symbol // function symbols sorted by Value
	loads     []elf.ProgHeader
	textAddr  uint64
	textOff   uint64
	hasText   bool
	nameBytes int
}

// DebugOptions say how to look for separate debug files.
type DebugOptions struct {
	// NoDebugFile skips separate debug files.
	NoDebugFile bool
	// NoCRC accepts a .gnu_debuglink target without checking its CRC.
	NoCRC bool
	// DebugDir replaces /usr/lib/debug (tests use it).
	DebugDir string
}

func (o DebugOptions) debugDir() string {
	if o.DebugDir != "" {
		return o.DebugDir
	}
	return "/usr/lib/debug"
}

// isFuncType is libbcc's default use_symbol_type for address lookups:
// (1 << STT_FUNC) | (1 << STT_GNU_IFUNC).
func isFuncType(t elf.SymType) bool { return t == elf.STT_FUNC || t == elf.STT_GNU_IFUNC }

// OpenFile reads the function symbols of the ELF file at path. nsDir is
// the directory the file has inside its own mount namespace (for the
// /usr/lib/debug/DIR/NAME debuglink rule); "" means filepath.Dir(path).
func OpenFile(path, nsDir string, opts DebugOptions) (*File, error) {
	ef, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, errors.Join(ErrNotELF, err))
	}
	defer ef.Close()
	f := &File{Path: path, Type: ef.Type, BuildID: buildID(ef)}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD {
			f.loads = append(f.loads, p.ProgHeader)
		}
	}
	if s := ef.Section(".text"); s != nil {
		f.textAddr, f.textOff, f.hasText = s.Addr, s.Offset, true
	}
	var all []Symbol
	if !opts.NoDebugFile {
		if dbg := findDebugFile(ef, path, nsDir, opts); dbg != "" {
			if df, err := elf.Open(dbg); err == nil {
				all = appendSymbols(all, df, isFuncType)
				df.Close()
				f.DebugPath = dbg
			}
		}
	}
	all = appendSymbols(all, ef, isFuncType)
	f.syms = sortSymbols(all)
	for _, s := range f.syms {
		f.nameBytes += len(s.Name)
	}
	return f, nil
}

// appendSymbols adds the named, non-zero symbols of .symtab then .dynsym
// that keep says to keep, in that order, as libbcc walks them.
func appendSymbols(out []Symbol, ef *elf.File, keep func(elf.SymType) bool) []Symbol {
	for _, read := range []func() ([]elf.Symbol, error){ef.Symbols, ef.DynamicSymbols} {
		syms, err := read()
		if err != nil {
			continue
		}
		for _, s := range syms {
			t := elf.ST_TYPE(s.Info)
			if s.Name == "" || s.Value == 0 || !keep(t) {
				continue
			}
			// .dynsym names carry "@VERSION" in newer debug/elf; libbcc
			// reports the bare name.
			name := s.Name
			if i := strings.IndexByte(name, '@'); i > 0 && s.Version != "" {
				name = name[:i]
			}
			out = append(out, Symbol{Name: name, Value: s.Value, Size: s.Size, Type: t, Bind: elf.ST_BIND(s.Info)})
		}
	}
	return out
}

// sortSymbols orders by address and drops exact duplicates (the same
// symbol in .symtab, .dynsym and the debug file). Among aliases at one
// address the preferred name sorts last, because lookups take the last
// candidate: global before weak before local, then fewer leading
// underscores ("getpid" over "__getpid"). libbcc's pick among aliases
// depends on std::sort and is not specified.
func sortSymbols(syms []Symbol) []Symbol {
	rank := func(s Symbol) int {
		r := 0
		switch s.Bind {
		case elf.STB_GLOBAL:
			r = 200
		case elf.STB_WEAK:
			r = 100
		}
		return r - (len(s.Name) - len(strings.TrimLeft(s.Name, "_")))
	}
	sort.SliceStable(syms, func(i, j int) bool {
		a, b := syms[i], syms[j]
		if a.Value != b.Value {
			return a.Value < b.Value
		}
		ra, rb := rank(a), rank(b)
		if ra != rb {
			return ra < rb
		}
		return a.Name > b.Name
	})
	out := syms[:0]
	for i, s := range syms {
		if i > 0 {
			p := out[len(out)-1]
			if p.Value == s.Value && p.Name == s.Name && p.Size == s.Size {
				continue
			}
		}
		out = append(out, s)
	}
	return append([]Symbol(nil), out...)
}

// Aliases returns every function name the file gives address vaddr.
func (f *File) Aliases(vaddr uint64) []string {
	var out []string
	i := sort.Search(len(f.syms), func(i int) bool { return f.syms[i].Value >= vaddr })
	for ; i < len(f.syms) && f.syms[i].Value == vaddr; i++ {
		out = append(out, f.syms[i].Name)
	}
	return out
}

// Symbols returns the file's function symbols sorted by address. The
// slice is shared: do not modify it.
func (f *File) Symbols() []Symbol { return f.syms }

// Lookup finds the function symbol covering vaddr (an address in the
// file's layout) the way libbcc's Module::find_addr does: the innermost
// of nested symbols, and none past the end of the last symbol that could
// cover it.
func (f *File) Lookup(vaddr uint64) (Symbol, uint64, bool) {
	return lookupSorted(f.syms, vaddr)
}

func lookupSorted(syms []Symbol, off uint64) (Symbol, uint64, bool) {
	i := sort.Search(len(syms), func(i int) bool { return syms[i].Value > off })
	if i == 0 {
		return Symbol{}, 0, false
	}
	i--
	limit := syms[i].Value
	for ; i >= 0 && off >= syms[i].Value; i-- {
		s := syms[i]
		if off < s.Value+s.Size {
			return s, off - s.Value, true
		}
		if limit > s.Value+s.Size {
			break
		}
	}
	return Symbol{}, 0, false
}

// VAddrOfFileOffset maps a file offset to the address the file's PT_LOAD
// segments give it.
func (f *File) VAddrOfFileOffset(off uint64) (uint64, bool) {
	for _, p := range f.loads {
		if off >= p.Off && off < p.Off+p.Filesz {
			return p.Vaddr + off - p.Off, true
		}
	}
	return 0, false
}

// FileOffsetOfVAddr maps an address in the file's layout to its file
// offset through the executable PT_LOAD segments, as uprobes need it
// (libbcc's _find_load).
func (f *File) FileOffsetOfVAddr(vaddr uint64) (uint64, bool) {
	for _, p := range f.loads {
		if p.Flags&elf.PF_X == 0 {
			continue
		}
		if vaddr >= p.Vaddr && vaddr < p.Vaddr+p.Memsz {
			return vaddr - p.Vaddr + p.Off, true
		}
	}
	return 0, false
}

// moduleVAddr turns an address inside a mapping of this file into an
// address in the file's layout: through the PT_LOAD segment holding the
// mapped file offset, or, failing that, through .text as libbcc does.
func (f *File) moduleVAddr(addr, mapStart, mapOffset uint64) uint64 {
	fileOff := addr - mapStart + mapOffset
	if v, ok := f.VAddrOfFileOffset(fileOff); ok {
		return v
	}
	if f.hasText {
		return addr - (mapStart - mapOffset) + (f.textAddr - f.textOff)
	}
	return fileOff
}

// memSize estimates the heap the symbol table holds.
func (f *File) memSize() int {
	const symSize = 16 + 8 + 8 + 1 + 1 + 6 // string header, value, size, type, bind, padding
	return len(f.syms)*symSize + f.nameBytes + len(f.loads)*56
}

func buildID(ef *elf.File) string {
	s := ef.Section(".note.gnu.build-id")
	var data []byte
	if s != nil {
		data, _ = s.Data()
	} else {
		for _, p := range ef.Progs {
			if p.Type == elf.PT_NOTE {
				b, err := io.ReadAll(p.Open())
				if err == nil && bytes.Contains(b, []byte("GNU\x00")) {
					data = b
					break
				}
			}
		}
	}
	for len(data) >= 12 {
		order := ef.ByteOrder
		namesz := order.Uint32(data[0:4])
		descsz := order.Uint32(data[4:8])
		typ := order.Uint32(data[8:12])
		nameEnd := 12 + align4(namesz)
		descEnd := nameEnd + align4(descsz)
		if uint64(len(data)) < uint64(nameEnd)+uint64(descsz) {
			return ""
		}
		if typ == 3 && namesz == 4 && string(data[12:15]) == "GNU" {
			return hex.EncodeToString(data[nameEnd : nameEnd+descsz])
		}
		if uint64(len(data)) < uint64(descEnd) {
			return ""
		}
		data = data[descEnd:]
	}
	return ""
}

func align4(n uint32) uint32 { return (n + 3) &^ 3 }

// findDebugFile looks for a separate debug file as libbcc (and gdb) do:
// by build id first, then by .gnu_debuglink, checking the link's CRC.
func findDebugFile(ef *elf.File, path, nsDir string, opts DebugOptions) string {
	dir := opts.debugDir()
	if id := buildID(ef); len(id) > 2 {
		p := filepath.Join(dir, ".build-id", id[:2], id[2:]+".debug")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	s := ef.Section(".gnu_debuglink")
	if s == nil {
		return ""
	}
	data, err := s.Data()
	if err != nil || len(data) <= 5 {
		return ""
	}
	nul := bytes.IndexByte(data, 0)
	if nul <= 0 {
		return ""
	}
	name := string(data[:nul])
	crc := binary.LittleEndian.Uint32(data[len(data)-4:])
	if ef.ByteOrder == binary.BigEndian {
		crc = binary.BigEndian.Uint32(data[len(data)-4:])
	}
	bindir := filepath.Dir(path)
	if nsDir == "" {
		nsDir = bindir
	}
	var found string
	for _, cand := range []string{
		filepath.Join(bindir, name),
		filepath.Join(bindir, ".debug", name),
		filepath.Join(dir, nsDir, name),
	} {
		if sameFile(cand, path) {
			// The binary names itself: its own symbols are read anyway.
			continue
		}
		if _, err := os.Stat(cand); err == nil {
			found = cand
			break
		}
	}
	if found == "" {
		return ""
	}
	if !opts.NoCRC {
		got, err := fileCRC(found)
		if err != nil || got != crc {
			return ""
		}
	}
	return found
}

func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// fileCRC is the CRC-32 (IEEE) .gnu_debuglink records.
func fileCRC(path string) (uint32, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, f); err != nil {
		return 0, err
	}
	return h.Sum32(), nil
}
