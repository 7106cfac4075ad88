package bpfobj

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// Instruction encoding, from the kernel's uapi/linux/bpf.h.
const (
	insnSize       = 8
	opLdImm64      = 0x18 // BPF_LD | BPF_IMM | BPF_DW
	pseudoMapFD    = 1    // BPF_PSEUDO_MAP_FD
	pseudoMapValue = 2    // BPF_PSEUDO_MAP_VALUE
	relBPF64       = 1    // R_BPF_64_64
	mapDefSize     = 40   // a BTF map definition: five pointers (type, key_size, value_size, max_entries, map_flags)
	symSize        = 24   // Elf64_Sym
	relSize        = 16   // Elf64_Rel
	sectionHdrSize = 64   // Elf64_Shdr
	fileHdrSize    = 64   // Elf64_Ehdr
)

// checksumText is the hex SHA-256 in the meta section; it is computed over
// the whole file with its own 64 digits written as zeros.
type checksumText string

var zeroChecksum = checksumText(strings.Repeat("0", 2*sha256.Size))

// SectionFor returns the ELF section name for a BCC function name: libbpf's
// conventional name where the name says where the function attaches, else
// "gobcc/NAME" (BCC decides a function's program type only when it is
// loaded).
func SectionFor(name string) string {
	for _, p := range []struct{ prefix, section string }{
		{"tracepoint__", "tracepoint/"},
		{"raw_tracepoint__", "raw_tracepoint/"},
		{"kretprobe__", "kretprobe/"},
		{"kprobe__", "kprobe/"},
		{"kretfunc__", "fexit/"},
		{"kfunc__", "fentry/"},
		{"lsm__", "lsm/"},
	} {
		if rest, ok := strings.CutPrefix(name, p.prefix); ok && rest != "" {
			if p.prefix == "tracepoint__" {
				rest = strings.Replace(rest, "__", "/", 1)
			}
			return p.section + rest
		}
	}
	return "gobcc/" + name
}

// Write encodes obj as an ELF BPF object. Map references in the
// instructions are turned into relocations against the maps' symbols; a
// 64-bit immediate load that names a descriptor not among obj.Maps, or that
// loads a map value address (not expressible in BCC's legacy map form), is
// an error.
func Write(obj *Object) ([]byte, error) {
	byFD := make(map[int]int, len(obj.Maps))
	for i, m := range obj.Maps {
		if m.Name == "" {
			return nil, fmt.Errorf("bpfobj: map %d has no name", i)
		}
		byFD[m.ModuleFD] = i
	}
	w := &elfWriter{strtab: []byte{0}}
	w.addSection(elfSection{}) // SHN_UNDEF
	strtabIdx := w.addSection(elfSection{name: ".strtab", typ: elf.SHT_STRTAB, align: 1})
	symtabIdx := w.addSection(elfSection{name: ".symtab", typ: elf.SHT_SYMTAB, align: 8, entsize: symSize, link: uint32(strtabIdx)})
	license := append([]byte(obj.License), 0)
	w.addSection(elfSection{name: "license", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_WRITE, align: 1, data: license})
	version := binary.LittleEndian.AppendUint32(nil, obj.KernVersion)
	w.addSection(elfSection{name: "version", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_WRITE, align: 4, data: version})

	var syms []byte
	syms = append(syms, make([]byte, symSize)...) // the null symbol
	mapSym := make([]uint32, len(obj.Maps))
	if len(obj.Maps) > 0 {
		// BTF-defined maps (libbpf 1.0 reads no other kind): the ".maps"
		// section holds one zeroed struct per map, and the ".BTF" section
		// describes each as struct { __uint(type, T); __uint(key_size, K);
		// ... }, BCC's definition in libbpf's words.
		btfData, err := mapsBTF(obj.Maps)
		if err != nil {
			return nil, err
		}
		mapsIdx := w.addSection(elfSection{name: ".maps", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_WRITE, align: 8, data: make([]byte, len(obj.Maps)*mapDefSize)})
		for i, m := range obj.Maps {
			mapSym[i] = uint32(len(syms) / symSize)
			syms = w.appendSym(syms, m.Name, elf.STT_OBJECT, mapsIdx, uint64(i*mapDefSize), mapDefSize)
		}
		w.addSection(elfSection{name: ".BTF", typ: elf.SHT_PROGBITS, align: 4, data: btfData})
	}
	mf := make([]metaFunc, 0, len(obj.Functions))
	seen := make(map[string]bool)
	for _, f := range obj.Functions {
		if len(f.Insns) == 0 || len(f.Insns)%insnSize != 0 {
			return nil, fmt.Errorf("bpfobj: function %s: %d bytes of instructions is not a positive multiple of 8", f.Name, len(f.Insns))
		}
		section := f.Section
		if section == "" {
			section = SectionFor(f.Name)
		}
		if seen[section] {
			return nil, fmt.Errorf("bpfobj: two functions in section %q", section)
		}
		seen[section] = true
		insns := bytes.Clone(f.Insns)
		var rels []byte
		for i := 0; i+2*insnSize <= len(insns); i += insnSize {
			if insns[i] != opLdImm64 {
				continue
			}
			src := insns[i+1] >> 4
			if src == pseudoMapValue {
				return nil, fmt.Errorf("bpfobj: function %s: instruction %d loads a map value address, which gobcc objects cannot express", f.Name, i/insnSize)
			}
			if src == pseudoMapFD {
				fd := int(int32(binary.LittleEndian.Uint32(insns[i+4:])))
				m, ok := byFD[fd]
				if !ok {
					return nil, fmt.Errorf("bpfobj: function %s: instruction %d refers to map descriptor %d, which is not one of the program's tables", f.Name, i/insnSize, fd)
				}
				insns[i+1] &= 0x0f // src_reg 0 and imm 0, as clang writes them; the relocation says which map
				binary.LittleEndian.PutUint32(insns[i+4:], 0)
				rels = binary.LittleEndian.AppendUint64(rels, uint64(i))
				rels = binary.LittleEndian.AppendUint64(rels, uint64(mapSym[m])<<32|relBPF64)
			}
			i += insnSize // the second half of the 16-byte instruction
		}
		progIdx := w.addSection(elfSection{name: section, typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, align: 8, data: insns})
		syms = w.appendSym(syms, f.Name, elf.STT_FUNC, progIdx, 0, uint64(len(insns)))
		if len(rels) > 0 {
			w.addSection(elfSection{name: ".rel" + section, typ: elf.SHT_REL, align: 8, entsize: relSize, link: uint32(symtabIdx), info: uint32(progIdx), data: rels})
		}
		mf = append(mf, metaFunc{Name: f.Name, Section: section})
	}
	w.sections[symtabIdx].data = syms
	w.sections[symtabIdx].info = 1 // every symbol after the null one is global

	maps := make([]Map, len(obj.Maps))
	copy(maps, obj.Maps)
	arch := obj.Arch
	if arch == "" {
		arch = hostArch
	}
	m := meta{
		Format: FormatVersion, Arch: arch, LibbccVersion: obj.LibbccVersion,
		KernelRelease: obj.KernelRelease, Source: obj.Source,
		Maps: maps, Functions: mf, Checksum: zeroChecksum,
	}
	metaJSON, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("bpfobj: encode meta: %w", err)
	}
	metaIdx := w.addSection(elfSection{name: MetaSection, typ: elf.SHT_PROGBITS, align: 1, data: metaJSON})
	out := w.bytes(strtabIdx)
	// Fill in the checksum over the file with zeros in its place.
	sum := sha256.Sum256(out)
	off := w.sections[metaIdx].offset + uint64(checksumIndex(metaJSON, zeroChecksum))
	hex.Encode(out[off:off+uint64(len(zeroChecksum))], sum[:])
	return out, nil
}

// checksumIndex is the offset of the checksum's digits in the meta JSON.
func checksumIndex(metaJSON []byte, sum checksumText) int {
	key := `"sha256":"` + string(sum) + `"`
	i := bytes.LastIndex(metaJSON, []byte(key))
	if i < 0 {
		return -1
	}
	return i + len(`"sha256":"`)
}

type elfSection struct {
	name         string
	typ          elf.SectionType
	flags        elf.SectionFlag
	align        uint64
	entsize      uint64
	link, info   uint32
	data         []byte
	nameOff      uint32
	offset, size uint64
}

type elfWriter struct {
	sections []elfSection
	strtab   []byte
}

func (w *elfWriter) str(s string) uint32 {
	if s == "" {
		return 0
	}
	off := uint32(len(w.strtab))
	w.strtab = append(append(w.strtab, s...), 0)
	return off
}

func (w *elfWriter) addSection(s elfSection) int {
	s.nameOff = w.str(s.name)
	w.sections = append(w.sections, s)
	return len(w.sections) - 1
}

func (w *elfWriter) appendSym(syms []byte, name string, typ elf.SymType, section int, value, size uint64) []byte {
	var b [symSize]byte
	binary.LittleEndian.PutUint32(b[0:], w.str(name))
	b[4] = byte(elf.STB_GLOBAL)<<4 | byte(typ)
	b[5] = byte(elf.STV_DEFAULT)
	binary.LittleEndian.PutUint16(b[6:], uint16(section))
	binary.LittleEndian.PutUint64(b[8:], value)
	binary.LittleEndian.PutUint64(b[16:], size)
	return append(syms, b[:]...)
}

// bytes lays the file out: header, section contents, section headers.
func (w *elfWriter) bytes(strtabIdx int) []byte {
	w.sections[strtabIdx].data = w.strtab
	out := make([]byte, fileHdrSize)
	for i := range w.sections {
		s := &w.sections[i]
		if i == 0 {
			continue
		}
		if s.align > 1 {
			for uint64(len(out))%s.align != 0 {
				out = append(out, 0)
			}
		}
		s.offset = uint64(len(out))
		s.size = uint64(len(s.data))
		out = append(out, s.data...)
	}
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	shoff := uint64(len(out))
	for _, s := range w.sections {
		var h [sectionHdrSize]byte
		binary.LittleEndian.PutUint32(h[0:], s.nameOff)
		binary.LittleEndian.PutUint32(h[4:], uint32(s.typ))
		binary.LittleEndian.PutUint64(h[8:], uint64(s.flags))
		binary.LittleEndian.PutUint64(h[24:], s.offset)
		binary.LittleEndian.PutUint64(h[32:], s.size)
		binary.LittleEndian.PutUint32(h[40:], s.link)
		binary.LittleEndian.PutUint32(h[44:], s.info)
		binary.LittleEndian.PutUint64(h[48:], s.align)
		binary.LittleEndian.PutUint64(h[56:], s.entsize)
		out = append(out, h[:]...)
	}
	h := out[:fileHdrSize]
	copy(h, "\x7fELF")
	h[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	h[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	h[elf.EI_OSABI] = byte(elf.ELFOSABI_NONE)
	binary.LittleEndian.PutUint16(h[16:], uint16(elf.ET_REL))
	binary.LittleEndian.PutUint16(h[18:], uint16(elf.EM_BPF))
	binary.LittleEndian.PutUint32(h[20:], uint32(elf.EV_CURRENT))
	binary.LittleEndian.PutUint64(h[40:], shoff)
	binary.LittleEndian.PutUint16(h[52:], fileHdrSize)
	binary.LittleEndian.PutUint16(h[58:], sectionHdrSize)
	binary.LittleEndian.PutUint16(h[60:], uint16(len(w.sections)))
	binary.LittleEndian.PutUint16(h[62:], uint16(strtabIdx))
	return out
}

// mapsBTF describes the maps as libbpf's BTF-defined maps: a variable of
// an anonymous struct per map in a ".maps" data section, each member a
// pointer to an int array whose length is the value (libbpf's __uint).
func mapsBTF(maps []Map) ([]byte, error) {
	intType := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	index := &btf.Int{Name: "__ARRAY_SIZE_TYPE__", Size: 4}
	uintMember := func(name string, v uint32, bits uint32) btf.Member {
		return btf.Member{Name: name, Offset: btf.Bits(bits), Type: &btf.Pointer{Target: &btf.Array{Index: index, Type: intType, Nelems: v}}}
	}
	ds := &btf.Datasec{Name: ".maps", Size: uint32(len(maps) * mapDefSize)}
	for i, m := range maps {
		st := &btf.Struct{Size: mapDefSize, Members: []btf.Member{
			uintMember("type", m.Type, 0),
			uintMember("key_size", m.KeySize, 64),
			uintMember("value_size", m.ValueSize, 128),
			uintMember("max_entries", m.MaxEntries, 192),
			uintMember("map_flags", m.Flags, 256),
		}}
		v := &btf.Var{Name: m.Name, Type: st, Linkage: btf.GlobalVar}
		ds.Vars = append(ds.Vars, btf.VarSecinfo{Type: v, Offset: uint32(i * mapDefSize), Size: mapDefSize})
	}
	b, err := btf.NewBuilder([]btf.Type{ds}, nil)
	if err != nil {
		return nil, fmt.Errorf("bpfobj: map BTF: %w", err)
	}
	data, err := b.Marshal(nil, &btf.MarshalOptions{Order: binary.LittleEndian})
	if err != nil {
		return nil, fmt.Errorf("bpfobj: map BTF: %w", err)
	}
	return data, nil
}
